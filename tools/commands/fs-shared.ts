/**
 * What the filesystem commands (ls, cat, stat, extract, history, snapshots, pfs-status) share:
 * opening the -f volumes as a HammerFs view with --pfs/--asof, and formatting inodes for text and
 * JSON output (64-bit values as "0x%016x" via tools/output.ts; times as µs numbers and ISO text).
 */
import type { Argv } from 'yargs';
import { withVolumes, withPfs, withAsof, openReadOnly, tidArg, pfsArg, type CommonArgs } from '../common.js';
import { HammerFs, CURRENT, type Inode, type DirEntry } from '../../src/fs/index.js';
import type { VolumeSet } from '../../src/volume/volume-set.js';
import { hex64 } from '../../src/ondisk/int64.js';

export interface FsArgs extends CommonArgs {
  pfs?: number;
  asof?: string;
}

/** -f, --json, --pfs, --asof. */
export function withFs<T>(y: Argv<T>) {
  return withAsof(withPfs(withVolumes(y)));
}

/** Open the volumes read-only and a view of --pfs as of --asof. Close `vs` when done. */
export function openFs(a: FsArgs): { vs: VolumeSet; fs: HammerFs } {
  const pfs = pfsArg(a.pfs);
  const asof = tidArg(a.asof, 'asof');
  const vs = openReadOnly(a, { warnings: !a.json });
  try {
    return { vs, fs: HammerFs.open(vs, { pfs, asof }) };
  } catch (e) {
    vs.close();
    throw e;
  }
}

const TYPE_CHAR: Record<string, string> = { dir: 'd', pfs: 'd', file: '-', dbfile: '-', fifo: 'p', chr: 'c', blk: 'b', symlink: 'l', socket: 's' };

/** `ls -l` style mode string: type letter + rwx triplets with s/t bits. */
export function modeString(type: string, mode: number): string {
  const t = TYPE_CHAR[type] ?? '?';
  const rwx = (bits: number, special: boolean, ch: string) =>
    (bits & 4 ? 'r' : '-') + (bits & 2 ? 'w' : '-') + (special ? (bits & 1 ? ch : ch.toUpperCase()) : bits & 1 ? 'x' : '-');
  return t + rwx((mode >> 6) & 7, (mode & 0o4000) !== 0, 's') + rwx((mode >> 3) & 7, (mode & 0o2000) !== 0, 's') + rwx(mode & 7, (mode & 0o1000) !== 0, 't');
}

/** µs since the epoch as ISO-8601 UTC (or the raw number when out of Date's range). */
export function isoUs(us: bigint): string {
  const ms = Number(us / 1000n);
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return `${us}us`;
  const frac = (us % 1000000n).toString().padStart(6, '0');
  return d.toISOString().replace(/\.\d{3}Z$/, `.${frac}Z`);
}
/** Seconds since the epoch (leaf create_ts) as ISO text. */
export function isoS(s: number): string {
  return s ? new Date(s * 1000).toISOString().replace('.000Z', 'Z') : '-';
}

export const tidText = (t: bigint) => (t === CURRENT ? 'now' : '0x' + hex64(t));

/** JSON form of an inode (bigints become "0x%016x" in printJson). */
export function inodeJson(ino: Inode, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: ino.type, obj_id: ino.objId, pfs: ino.pfs, mode: ino.mode, mode_str: modeString(ino.type, ino.mode),
    uid: ino.uid, gid: ino.gid, size: Number(ino.size), nlinks: Number(ino.nlinks),
    mtime_us: Number(ino.mtime), atime_us: Number(ino.atime), ctime_us: Number(ino.ctime),
    mtime: isoUs(ino.mtime), atime: isoUs(ino.atime), ctime: isoUs(ino.ctime),
    uflags: ino.uflags, cap_flags: ino.capFlags, parent_obj_id: ino.parentObjId,
    rdev: ino.type === 'chr' || ino.type === 'blk' ? [ino.rmajor, ino.rminor] : undefined,
    create_tid: ino.createTid, delete_tid: ino.deleteTid, view_tid: ino.viewTid, ...extra,
  };
}

/** A directory entry's display name: bytes as UTF-8 with control characters escaped. */
export function showName(e: DirEntry | string): string {
  const s = typeof e === 'string' ? e : e.nameStr;
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\x00-\x1f\x7f]/g, (c) => '\\x' + c.charCodeAt(0).toString(16).padStart(2, '0'));
}
