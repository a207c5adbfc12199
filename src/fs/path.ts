/**
 * Path resolution inside one PFS, as of a TID, with DragonFly's history syntax:
 *  - `name@@0x<hex>` looks `name` up as of that TID, and everything below it too;
 *  - a component that is only `@@0x<hex>` re-reads the current directory as of that TID;
 *  - `.` stays, `..` goes to parent_obj_id (the PFS root is its own parent);
 *  - symlinks met in the middle of a path are followed (absolute targets start at the PFS root,
 *    at most 32 hops); a `@@PFSnnnnn` link (or its presented forms `@@-1:nnnnn` /
 *    `@@0x<tid>:nnnnn`) enters PFS nnnnn's root, a slave as of its sync_end_tid;
 *  - the last component is followed only with `follow` or a trailing slash.
 * Names are byte strings; a JS string path is taken as UTF-8.
 */
import { BadFieldError, NotDirectoryError, NotFoundError } from '../errors.js';
import { hex64, parseU64 } from '../ondisk/int64.js';
import { lookupEntry, type DirEntry } from './directory.js';
import { loadInode, type Inode } from './inode.js';
import { getPfs, type PfsInfo } from './pfs.js';
import { readSymlink, pfsLinkId } from './symlink.js';
import { CURRENT, type FsContext } from './records.js';

export interface PathComponent {
  name: Uint8Array;
  /** TID given with `@@` on this component. */
  asof?: bigint;
}

const HISTORY = /^(.*)@@(0x[0-9a-fA-F]{1,16})$/s;
const PFS_PRESENTED = /^@@(-1|0x[0-9a-fA-F]{1,16}):(\d{1,5})$/;
const MAX_SYMLINK_HOPS = 32;

/** Split a path into components, peeling `@@0x<tid>` suffixes. Empty components are dropped. */
export function parsePath(path: string | Uint8Array): { absolute: boolean; trailingSlash: boolean; components: PathComponent[] } {
  const b = typeof path === 'string' ? Buffer.from(path, 'utf8') : Buffer.from(path);
  const absolute = b.length > 0 && b[0] === 0x2f;
  const trailingSlash = b.length > 1 && b[b.length - 1] === 0x2f;
  const components: PathComponent[] = [];
  let s = 0;
  for (let i = 0; i <= b.length; i++) {
    if (i < b.length && b[i] !== 0x2f) continue;
    if (i > s) {
      const part = b.subarray(s, i);
      const m = HISTORY.exec(part.toString('latin1'));
      if (m) components.push({ name: Buffer.from(m[1], 'latin1'), asof: BigInt(m[2]) });
      else components.push({ name: Uint8Array.from(part) });
    }
    s = i + 1;
  }
  return { absolute, trailingSlash, components };
}

/** The TID a PFS is read as of by default: a slave's sync_end_tid, now for a master. */
export function pfsDefaultAsof(p: PfsInfo): bigint {
  return p.slave ? p.syncEndTid : CURRENT;
}

export interface Resolved {
  inode: Inode;
  pfs: number;
  /** The TID the inode (and so what is below it) is viewed as of. */
  asof: bigint;
  /** The directory entry that named it (undefined for a PFS root). */
  entry?: DirEntry;
}

interface State {
  pfs: number;
  asof: bigint;
  dir: Inode;
}

function rootOf(ctx: FsContext, pfs: number, asof: bigint, shown: string): Inode {
  const r = loadInode(ctx, pfs, 1n, asof);
  if (!r) throw new NotFoundError(`PFS ${pfs} has no root directory as of ${asof === CURRENT ? 'now' : '0x' + hex64(asof)}`, { structure: `path ${shown}` });
  return r;
}

/** Enter PFS `id` (from a PFS link): its root, as of `asof` or the PFS default. */
function enterPfs(ctx: FsContext, id: number, asof: bigint | undefined, shown: string): State {
  const p = getPfs(ctx, id);
  if (!p || p.deleted) throw new NotFoundError(`PFS ${id} does not exist`, { structure: `path ${shown}` });
  const t = asof ?? pfsDefaultAsof(p);
  return { pfs: id, asof: t, dir: rootOf(ctx, id, t, shown) };
}

/** A symlink target that names a PFS: `@@PFSnnnnn`, `@@-1:nnnnn` or `@@0x<tid>:nnnnn`. */
function pfsTarget(target: Uint8Array): { id: number; asof?: bigint } | undefined {
  const id = pfsLinkId(target);
  if (id !== undefined) return { id };
  const m = PFS_PRESENTED.exec(Buffer.from(target).toString('latin1'));
  if (!m) return undefined;
  return { id: Number(m[2]), asof: m[1] === '-1' ? CURRENT : parseU64(m[1]) };
}

/**
 * Resolve `path` in PFS `pfs` as of `asof`. Relative paths start at the PFS root too (there is no
 * working directory). Throws NotFoundError (missing name, or nothing visible as of the TID),
 * NotDirectoryError (a non-directory in the middle), BadFieldError (symlink loop).
 */
export function resolvePath(ctx: FsContext, pfs: number, asof: bigint, path: string | Uint8Array, o: { follow?: boolean } = {}): Resolved {
  const shown = typeof path === 'string' ? path : Buffer.from(path).toString('utf8');
  const where = (what: string) => ({ structure: `path ${what} in PFS ${pfs}` });
  let st: State = { pfs, asof, dir: rootOf(ctx, pfs, asof, shown) };
  let entry: DirEntry | undefined;
  let hops = 0;
  // Work list of components still to walk; symlinks splice their target in front.
  const parsed = parsePath(path);
  const todo = parsed.components;
  // POSIX: a trailing slash makes the last component resolve through a symlink to a directory.
  const follow = o.follow || parsed.trailingSlash;
  let walked = '';
  while (todo.length) {
    const c = todo.shift()!;
    if (c.asof !== undefined) st = { ...st, asof: c.asof };
    const nameStr = Buffer.from(c.name).toString('utf8');
    if (c.name.length === 0 || nameStr === '.') {
      // "@@0x..." alone or ".": the same directory, possibly as of another TID.
      if (c.asof !== undefined) {
        const d = loadInode(ctx, st.pfs, st.dir.objId, st.asof);
        if (!d) throw new NotFoundError('no such directory as of that TID', where(walked || '/'));
        st.dir = d;
      }
      continue;
    }
    if (st.dir.type !== 'dir' && st.dir.type !== 'pfs') throw new NotDirectoryError('not a directory', where(walked || '/'));
    walked += '/' + nameStr;
    if (nameStr === '..') {
      const parentId = st.dir.objId === 1n ? 1n : st.dir.parentObjId;
      const d = loadInode(ctx, st.pfs, parentId, st.asof);
      if (!d) throw new NotFoundError('parent directory not visible', where(walked));
      st.dir = d;
      entry = undefined;
      continue;
    }
    const e = lookupEntry(ctx, st.dir, c.name, st.asof);
    if (!e) throw new NotFoundError('no such file or directory', where(walked));
    const ino = loadInode(ctx, st.pfs, e.objId, st.asof);
    if (!ino) throw new NotFoundError(`directory entry points at inode ${hex64(e.objId)}, which is not visible`, where(walked));
    const last = todo.length === 0;
    if (ino.type === 'symlink' && (!last || follow)) {
      if (++hops > MAX_SYMLINK_HOPS) throw new BadFieldError('too many levels of symbolic links', where(walked));
      const target = readSymlink(ctx, ino, st.asof);
      const pt = pfsTarget(target);
      if (pt) {
        st = enterPfs(ctx, pt.id, pt.asof ?? (st.asof === CURRENT ? undefined : st.asof), shown);
        entry = undefined;
        continue;
      }
      const t = parsePath(target);
      if (t.absolute) st = { ...st, dir: rootOf(ctx, st.pfs, st.asof, shown) };
      todo.unshift(...t.components);
      continue;
    }
    if (last) return { inode: ino, pfs: st.pfs, asof: st.asof, entry: e };
    st = { ...st, dir: ino };
    entry = e;
  }
  return { inode: st.dir, pfs: st.pfs, asof: st.asof, entry };
}
