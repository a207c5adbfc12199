/**
 * Serving one mount: checks on the mountpoint (done before mounting, since afterwards this
 * process must never touch it), the mount itself, the watch that notices an external unmount
 * (`hammerfs umount`, `fusermount -u`) and the unmount on shutdown.
 *
 * NOTE (deadlock trap): once mounted, every FUSE request is answered by this process's event
 * loop. Nothing after mount() may stat/open the mountpoint or wait synchronously on a child
 * process; the mount watch reads /proc/self/mountinfo, and unmount helpers run asynchronously.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { HammerFuseOps, type OpsOptions } from './ops.js';
import type { FsSource } from './source.js';
import type { FuseClass, FuseInstance } from './binding.js';

export type MountpointProblem = 'missing' | 'not-a-directory' | 'stale' | 'busy' | 'other';

export class MountpointError extends Error {
  constructor(
    readonly problem: MountpointProblem,
    readonly mountpoint: string,
    message: string,
  ) {
    super(message);
  }
}

/** Un-escape a mountinfo/mounts path field (\040 for space, \011 tab, \012 newline, \134 backslash). */
export function unescapeMountField(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

export interface MountEntry {
  source: string;
  mountpoint: string;
  fstype: string;
  options: string;
}

/** Parse /proc/mounts text. */
export function parseMounts(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    if (f.length < 4) continue;
    out.push({ source: unescapeMountField(f[0]), mountpoint: unescapeMountField(f[1]), fstype: f[2], options: f[3] });
  }
  return out;
}

/** The FUSE mounts (fuse, fuse.*) at `mountpoint` per /proc/mounts, innermost last. */
export async function fuseMountsAt(mountpoint: string): Promise<MountEntry[]> {
  const text = await fs.promises.readFile('/proc/mounts', 'utf8');
  return parseMounts(text).filter((m) => m.mountpoint === mountpoint && (m.fstype === 'fuse' || m.fstype.startsWith('fuse.')));
}

/**
 * Check a mountpoint before mounting and return its canonical path. Throws MountpointError:
 * 'stale' for a dead FUSE mount (ENOTCONN), 'busy' when something is mounted there already.
 */
export async function checkMountpoint(mnt: string): Promise<string> {
  const abs = path.resolve(mnt);
  let st: fs.Stats;
  try {
    st = await fs.promises.stat(abs);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOTCONN' || code === 'ECONNABORTED') {
      throw new MountpointError('stale', abs, `${abs} is a stale FUSE mount (transport endpoint is not connected); clean it with "hammerfs umount ${abs}"`);
    }
    if (code === 'ENOENT') throw new MountpointError('missing', abs, `mountpoint ${abs} does not exist`);
    throw new MountpointError('other', abs, `mountpoint ${abs}: ${(e as Error).message}`);
  }
  if (!st.isDirectory()) throw new MountpointError('not-a-directory', abs, `mountpoint ${abs} is not a directory`);
  const real = await fs.promises.realpath(abs);
  if ((await fuseMountsAt(real)).length > 0) {
    throw new MountpointError('busy', real, `${real} already has a FUSE filesystem mounted; "hammerfs umount ${real}" first`);
  }
  return real;
}

/** Where a running mount records its pid, so `hammerfs umount` can wait for it to end. */
export function pidFileFor(mountpoint: string): string {
  const dir = path.join(process.env.XDG_RUNTIME_DIR || os.tmpdir(), 'hammerfs');
  const h = createHash('sha256').update(mountpoint).digest('hex').slice(0, 16);
  return path.join(dir, `mount-${h}.json`);
}

export interface ServeOptions extends OpsOptions {
  mountpoint: string;
  /** fsname shown in /proc/mounts (the first volume's path). */
  fsname: string;
  allowOther?: boolean;
  /** Extra -o options passed to libfuse as given. */
  extraOptions?: string[];
}

export interface RunningMount {
  readonly mountpoint: string;
  readonly ops: HammerFuseOps;
  /** Resolves when the mount is gone (unmounted by us or from outside). */
  readonly gone: Promise<void>;
  /** Unmount (lazy, as fusermount -uz) and stop serving. Idempotent. */
  unmount(): Promise<void>;
}

/** Escape a value for libfuse's comma-separated -o list. */
function optValue(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/,/g, '\\,');
}

function run(cmd: string, args: string[]): Promise<Error | null> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 10_000 }, (err) => resolve(err));
  });
}

/**
 * Mount `source` at `o.mountpoint` (already checked with checkMountpoint) and serve it until it
 * is unmounted. Resolves once the kernel has sent FUSE_INIT (the mount is live).
 */
export async function serve(Fuse: FuseClass, source: FsSource, o: ServeOptions): Promise<RunningMount> {
  const ops = new HammerFuseOps(source, o);
  // Data never changes under a read-only mount: let the kernel cache pages, attributes and
  // lookups for long (kernel_cache, timeouts), and report our own inode numbers (use_ino).
  const extra = [
    'ro', 'use_ino', 'kernel_cache', 'negative_timeout=60', `fsname=${optValue(o.fsname)}`, 'subtype=hammerfs',
    ...(o.allowOther ? ['default_permissions'] : []),
    ...(o.extraOptions ?? []),
  ];
  const fuse: FuseInstance = new Fuse(o.mountpoint, ops.fuseOps(), {
    hammerExtra: extra,
    allowOther: !!o.allowOther,
    entryTimeout: 60,
    attrTimeout: 60,
    // No per-operation timeout: fuse-native would arm and clear a timer for every request, yet
    // every handler here answers synchronously, before any timer could fire (and a read of a
    // damaged, slow device may legitimately take long).
    timeout: false,
  });
  await new Promise<void>((resolve, reject) => {
    fuse.mount((err) => (err ? reject(err) : resolve()));
  });

  let unmounting: Promise<void> | undefined;
  let resolveGone!: () => void;
  const gone = new Promise<void>((r) => (resolveGone = r));
  const pidFile = pidFileFor(o.mountpoint);
  try {
    await fs.promises.mkdir(path.dirname(pidFile), { recursive: true });
    await fs.promises.writeFile(pidFile, JSON.stringify({ pid: process.pid, mountpoint: o.mountpoint, fsname: o.fsname }) + '\n');
  } catch {
    // Without a pid file `hammerfs umount` still unmounts; it just cannot wait for us to exit.
  }
  const cleanupPidFile = () => {
    try {
      const cur = JSON.parse(fs.readFileSync(pidFile, 'utf8')) as { pid?: number };
      if (cur.pid === process.pid) fs.unlinkSync(pidFile);
    } catch {
      // already gone
    }
  };

  // Notice an unmount done from outside: the mount disappears from our mount table.
  const watch = setInterval(() => {
    fuseMountsAt(o.mountpoint).then(
      (m) => {
        if (m.length === 0) finish();
      },
      () => undefined,
    );
  }, 500);
  watch.unref();

  let finished = false;
  function finish(): void {
    if (finished) return;
    finished = true;
    clearInterval(watch);
    cleanupPidFile();
    ops.close();
    resolveGone();
  }

  const unmount = (): Promise<void> => {
    if (!unmounting) {
      unmounting = (async () => {
        const err = await new Promise<Error | null>((r) => fuse.unmount((e) => r(e)));
        if (err && (await fuseMountsAt(o.mountpoint)).length > 0) {
          // fusermount missing or refusing: a lazy umount(8) detaches it for root.
          await run('umount', ['-l', o.mountpoint]);
        }
        finish();
      })();
    }
    return unmounting;
  };

  return { mountpoint: o.mountpoint, ops, gone, unmount };
}
