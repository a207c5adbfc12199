/**
 * Loading the optional FUSE binding (fuse-native, an optionalDependency) at run time, so that the
 * rest of hammerfs works where FUSE is not installed. fuse-native's prebuilt addon links against
 * the system's libfuse.so.2 (Debian: libfuse2) and unmounts with fusermount (Debian: fuse).
 *
 * HAMMERFS_FUSE_MODULE names another module to load instead (tests use it to check the
 * "not installed" report; it can also point at a locally built binding).
 */

export interface FuseInstance {
  mount(cb: (err: Error | null) => void): void;
  unmount(cb: (err: Error | null) => void): void;
}

/** The subset of fuse-native's class we use. */
export interface FuseClass {
  new (mnt: string, ops: Record<string, unknown>, opts: Record<string, unknown>): FuseInstance;
  unmount(mnt: string, cb: (err: Error | null) => void): void;
}

export type LoadResult =
  | { ok: true; Fuse: FuseClass }
  | { ok: false; missing: 'module' | 'libfuse' | 'other'; detail: string; install: string };

export const INSTALL_LIBFUSE = 'apt-get install libfuse2 fuse';
export const INSTALL_MODULE = 'npm install fuse-native';

/** Import the binding; never throws. */
export async function loadFuse(): Promise<LoadResult> {
  const name = process.env.HAMMERFS_FUSE_MODULE || 'fuse-native';
  let mod: { default?: unknown };
  try {
    mod = (await import(name)) as { default?: unknown };
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const msg = err?.message ?? String(e);
    if (/libfuse\.so/.test(msg)) return { ok: false, missing: 'libfuse', detail: msg, install: INSTALL_LIBFUSE };
    if (err?.code === 'ERR_MODULE_NOT_FOUND' || err?.code === 'MODULE_NOT_FOUND') {
      return { ok: false, missing: 'module', detail: msg, install: INSTALL_MODULE };
    }
    return { ok: false, missing: 'other', detail: msg, install: `${INSTALL_LIBFUSE}; ${INSTALL_MODULE}` };
  }
  const Base = (mod.default ?? mod) as FuseClass;
  if (typeof Base !== 'function') return { ok: false, missing: 'other', detail: `${name} does not export a Fuse class`, install: INSTALL_MODULE };
  return { ok: true, Fuse: withExtraOptions(Base) };
}

export interface ExtraMountOptions {
  /** Options fuse-native has no switch for, passed to libfuse as they are (e.g. ro, use_ino). */
  extra: string[];
}

/**
 * fuse-native builds the -o string from a fixed list of switches that lacks `ro`, `use_ino` and
 * `negative_timeout`; a subclass appends ours to what it builds.
 */
function withExtraOptions(Base: FuseClass): FuseClass {
  const B = Base as unknown as new (...a: unknown[]) => { _fuseOptions(): string; opts: Record<string, unknown> };
  class HammerFuse extends B {
    override _fuseOptions(): string {
      const base = super._fuseOptions();
      const extra = ((this.opts.hammerExtra as string[] | undefined) ?? []).join(',');
      if (!extra) return base;
      return base ? `${base},${extra}` : `-o${extra}`;
    }
  }
  // Static members (unmount, errno constants) are inherited by the subclass.
  return HammerFuse as unknown as FuseClass;
}
