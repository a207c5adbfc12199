// Shared by the FUSE tests: availability (fail loudly in CI as root), mount/umount through the
// built CLI in a separate process, a recursive walk of a mount, and the manifest's expectations.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { goldenJson } from '../helpers/images.js';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// HAMMERFS_TEST_CLI: a private build (e.g. while others rebuild dist/ concurrently).
export const CLI = process.env.HAMMERFS_TEST_CLI || path.join(REPO, 'dist/tools/cli.js');

/** In CI as root, FUSE must work: the tests fail instead of skipping. */
export const MUST_RUN = !!process.env.CI && process.getuid?.() === 0;

export async function fuseAvailable(): Promise<{ ok: boolean; why: string }> {
  if (process.getuid?.() !== 0) return { ok: false, why: 'not root (the tests mount directly)' };
  if (!fs.existsSync('/dev/fuse')) return { ok: false, why: '/dev/fuse is missing' };
  try {
    await import('fuse-native');
  } catch (e) {
    return { ok: false, why: `fuse-native cannot be loaded: ${(e as Error).message}` };
  }
  if (!fs.existsSync(CLI)) return { ok: false, why: `${CLI} is not built (npx tsc -p .)` };
  return { ok: true, why: '' };
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run the CLI to completion (for background mount, umount, and error cases). */
export function cli(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 90_000): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 1 << 24 }, (e, stdout, stderr) => {
      const code = e ? (typeof (e as { code?: unknown }).code === 'number' ? ((e as { code: number }).code) : -1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

export function fuseMountsAt(mp: string): string[] {
  return fs
    .readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .filter((l) => l.split(' ')[1] === mp);
}

/** Pids of `cli.js mount` processes whose arguments name `mp`. */
export function serverPids(mp: string): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const args = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
      if (args.some((a) => a.endsWith('cli.js')) && args.includes('mount') && args.includes(mp)) out.push(Number(d));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

export function makeMountpoint(): string {
  return fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'hammerfs-fuse-')));
}

/** Mount in background mode (the default); throws with the CLI's stderr on failure. */
export async function mountBg(vols: string, mp: string, extra: string[] = []): Promise<void> {
  const r = await cli(['mount', '-f', vols, mp, ...extra]);
  if (r.code !== 0) throw new Error(`mount failed (${r.code}): ${r.stderr}`);
}

/** Unmount with the CLI and wait until neither the mount nor its server is left. */
export async function umount(mp: string): Promise<CliResult> {
  const r = await cli(['umount', mp]);
  for (let i = 0; i < 50 && (fuseMountsAt(mp).length || serverPids(mp).length); i++) await new Promise((res) => setTimeout(res, 100));
  return r;
}

/** Best-effort cleanup for finally blocks: never throws, leaves nothing mounted. */
export async function forceCleanup(mp: string): Promise<void> {
  if (fuseMountsAt(mp).length) await umount(mp);
  if (fuseMountsAt(mp).length) await new Promise((r) => execFile('umount', ['-l', mp], () => r(null)));
  for (const pid of serverPids(mp)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  try {
    fs.rmdirSync(mp);
  } catch {
    // still busy or not empty: leave it
  }
}

/** A foreground server as a child of the test (for signal and log tests). */
export function spawnForeground(vols: string, mp: string, extra: string[] = []): { child: ChildProcess; stderr: () => string } {
  const child = spawn(process.execPath, [CLI, 'mount', '-f', vols, mp, '--foreground', ...extra], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => (err += d));
  return { child, stderr: () => err };
}

export async function waitFor(cond: () => boolean, ms = 20_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// ------------------------------------------------------------------ manifest

export interface ManifestEntry {
  type: 'file' | 'dir' | 'symlink' | 'fifo' | 'socket' | 'chr' | 'blk';
  obj_id: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  nlinks: number;
  mtime_us: number;
  ctime_us: number;
  atime_us: number;
  sha256?: string;
  target?: string;
  rdev?: [number, number];
}
export interface Manifest {
  generations: { gen: number; tid: string }[];
  pfs: { id: number; mode: string; sync_end_tid: string }[];
  snapshots: { pfs: number; tid: string; label: string }[];
  trees: Record<string, Record<string, Record<string, ManifestEntry>>>;
}
export const manifest = (): Manifest => goldenJson<Manifest>('content-v7.manifest.json');

export const IFMT: Record<ManifestEntry['type'], number> = {
  file: 0o100000, dir: 0o040000, symlink: 0o120000, fifo: 0o010000, socket: 0o140000, chr: 0o020000, blk: 0o060000,
};

/** How the kernel (and the mount) presents a `@@PFSnnnnn` link; other targets unchanged. */
export function presentedTarget(m: Manifest, target: string): string {
  const r = /^@@PFS(\d{5})$/.exec(target);
  if (!r) return target;
  const p = m.pfs.find((x) => x.id === Number(r[1]));
  if (!p) return target;
  return p.mode === 'slave' ? `@@${p.sync_end_tid}:${r[1]}` : `@@-1:${r[1]}`;
}

export function linuxDev(major: number, minor: number): bigint {
  const M = BigInt(major);
  const m = BigInt(minor);
  return (m & 0xffn) | ((M & 0xfffn) << 8n) | ((m & ~0xffn) << 12n) | ((M & ~0xfffn) << 32n);
}

export interface Seen {
  st: fs.BigIntStats;
  sha256?: string;
  target?: string;
}

/** Walk a mounted tree with async calls (lstat, readdir, readFile, readlink); keys like the manifest's. */
export async function walk(root: string, o: { hash?: boolean } = {}): Promise<Map<string, Seen>> {
  const out = new Map<string, Seen>();
  const visit = async (rel: string): Promise<void> => {
    const abs = rel === '/' ? root : path.join(root, rel);
    const st = await fs.promises.lstat(abs, { bigint: true });
    const seen: Seen = { st };
    out.set(rel, seen);
    if (st.isDirectory()) {
      const names = await fs.promises.readdir(abs);
      for (const n of names) await visit(rel === '/' ? '/' + n : rel + '/' + n);
    } else if (st.isFile() && o.hash !== false) {
      seen.sha256 = createHash('sha256').update(await fs.promises.readFile(abs)).digest('hex');
    } else if (st.isSymbolicLink()) {
      seen.target = await fs.promises.readlink(abs);
    }
  };
  await visit('/');
  return out;
}

/** Everything the manifest says about each path, checked against a walk; returns the mismatches. */
export function compareWalk(m: Manifest, expected: Record<string, ManifestEntry>, seen: Map<string, Seen>, o: { ino: 'low32' | 'any' }): string[] {
  const bad: string[] = [];
  const want = Object.keys(expected).sort();
  const got = [...seen.keys()].sort();
  if (JSON.stringify(want) !== JSON.stringify(got)) {
    const missing = want.filter((p) => !seen.has(p));
    const extra = got.filter((p) => !(p in expected));
    bad.push(`paths differ: missing ${JSON.stringify(missing.slice(0, 10))}, extra ${JSON.stringify(extra.slice(0, 10))}`);
  }
  const inoByObj = new Map<string, bigint>();
  const objByIno = new Map<bigint, string>();
  for (const [p, e] of Object.entries(expected)) {
    const s = seen.get(p);
    if (!s) continue;
    const st = s.st;
    const fail = (what: string, w: unknown, g: unknown) => bad.push(`${p}: ${what} is ${String(g)}, manifest says ${String(w)}`);
    if ((st.mode & 0o170000n) !== BigInt(IFMT[e.type])) fail('type', e.type, (st.mode & 0o170000n).toString(8));
    if ((st.mode & 0o7777n) !== BigInt(e.mode)) fail('mode', e.mode.toString(8), (st.mode & 0o7777n).toString(8));
    if (st.uid !== BigInt(e.uid)) fail('uid', e.uid, st.uid);
    if (st.gid !== BigInt(e.gid)) fail('gid', e.gid, st.gid);
    if (st.size !== BigInt(e.size)) fail('size', e.size, st.size);
    if (st.nlink !== BigInt(e.nlinks)) fail('nlink', e.nlinks, st.nlink);
    // The binding carries times in milliseconds: the µs stored in HAMMER, truncated to ms.
    const ns = (us: number) => (BigInt(us) / 1000n) * 1_000_000n;
    if (st.mtimeNs !== ns(e.mtime_us)) fail('mtime', ns(e.mtime_us), st.mtimeNs);
    if (st.atimeNs !== ns(e.atime_us)) fail('atime', ns(e.atime_us), st.atimeNs);
    if (st.ctimeNs !== ns(e.ctime_us)) fail('ctime', ns(e.ctime_us), st.ctimeNs);
    if (e.sha256 && s.sha256 !== e.sha256) fail('sha256', e.sha256, s.sha256);
    if (e.type === 'symlink' && s.target !== presentedTarget(m, e.target!)) fail('target', presentedTarget(m, e.target!), s.target);
    if ((e.type === 'chr' || e.type === 'blk') && e.rdev && st.rdev !== linuxDev(e.rdev[0], e.rdev[1])) fail('rdev', linuxDev(e.rdev[0], e.rdev[1]), st.rdev);
    // Hardlinks (one obj_id) share one ino; distinct objects never do.
    const prev = inoByObj.get(e.obj_id);
    if (prev !== undefined && prev !== st.ino) fail('ino (hardlink)', prev, st.ino);
    inoByObj.set(e.obj_id, st.ino);
    const other = objByIno.get(st.ino);
    if (other !== undefined && other !== e.obj_id) fail(`ino shared with obj ${other}`, 'distinct', st.ino);
    objByIno.set(st.ino, e.obj_id);
    if (o.ino === 'low32' && st.ino !== (BigInt(e.obj_id) & 0xffffffffn)) fail('ino', BigInt(e.obj_id) & 0xffffffffn, st.ino);
  }
  return bad;
}
