/**
 * timeline: every version of every inode (one INODE record per create_tid) over all PFSs, as
 * Sleuth Kit bodyfile lines for mactime(1):
 *   MD5|name|inode|mode_as_string|UID|GID|size|atime|mtime|ctime|crtime
 * Times are whole seconds. HAMMER has no birth time; crtime is the create_ts of the object's
 * oldest INODE record (when the object was made), 0 when unknown.
 *
 * Names come from DIRENTRY records, resolved as of the last moment the version was live (the
 * current name for a live version, the name just before its delete_tid otherwise, so renames show
 * up as different names on different lines); where no entry names an object the name is
 * `<obj 0x...>`. Objects outside PFS 0 are prefixed `/@@PFSnnnnn`. Each name carries the
 * version as `@@0x<create_tid>`, the form DragonFly uses for history paths, and ` (deleted)`
 * when the object no longer exists (no version without a delete_tid).
 *
 * Walks the B-Tree once with the cursor (not a raw scan): this is a view of the filesystem as it
 * stands.
 */
import { HammerError } from '../errors.js';
import { Cursor } from '../btree/cursor.js';
import type { BTree } from '../btree/btree.js';
import {
  HAMMER_RECTYPE_INODE, HAMMER_RECTYPE_DIRENTRY, HAMMER_MIN_KEY, HAMMER_MAX_KEY, HAMMER_MAX_TID,
  HAMMER_INODE_DATA_SIZE, HAMMER_OBJTYPE_DIRECTORY, HAMMER_OBJTYPE_REGFILE, HAMMER_OBJTYPE_DBFILE,
  HAMMER_OBJTYPE_FIFO, HAMMER_OBJTYPE_CDEV, HAMMER_OBJTYPE_BDEV, HAMMER_OBJTYPE_SOFTLINK, HAMMER_OBJTYPE_SOCKET,
  HAMMER_OBJTYPE_PSEUDOFS,
} from '../ondisk/constants.js';
import { decodeInodeData, recordDataCrcVerdict, type InodeData } from '../ondisk/inode-data.js';
import { decodeEntryData } from '../ondisk/entry-data.js';
import { uuidToId } from '../ondisk/uuid.js';
import { hex64 } from '../ondisk/int64.js';
import type { BaseElm } from '../ondisk/btree-elm.js';

export interface TimelineEntry {
  pfs: number;
  objId: bigint;
  createTid: bigint;
  deleteTid: bigint;
  /** Resolved path (bytes rendered safely), without the version suffix. */
  path: string;
  /** Whether `path` came from directory entries all the way to the PFS root. */
  resolved: boolean;
  /** The object has no live version left. */
  deleted: boolean;
  mode: string;
  uid: number;
  gid: number;
  size: bigint;
  /** Seconds since the epoch (u64 microseconds / 10^6 always fits a double exactly). */
  atime: number;
  mtime: number;
  ctime: number;
  crtime: number;
  /** The inode payload could not be read or failed its CRC (times/mode may be wrong or zero). */
  damaged: boolean;
}

interface InodeVer {
  pfs: number;
  objId: bigint;
  createTid: bigint;
  deleteTid: bigint;
  createTs: number;
  ino?: InodeData;
  damaged: boolean;
}
interface Dirent {
  dir: bigint;
  name: Uint8Array;
  createTid: bigint;
  deleteTid: bigint;
  objType: number;
}

const ALL_MIN: BaseElm = { localization: 0, objId: HAMMER_MIN_KEY, recType: 0, key: HAMMER_MIN_KEY, createTid: 1n, deleteTid: 0n, objType: 0, btype: 0 };
const ALL_MAX: BaseElm = { localization: 0xffffffff, objId: HAMMER_MAX_KEY, recType: 0xffff, key: HAMMER_MAX_KEY, createTid: HAMMER_MAX_TID, deleteTid: 0n, objType: 0, btype: 0 };

const TYPE_CHAR: Record<number, string> = {
  [HAMMER_OBJTYPE_DIRECTORY]: 'd', [HAMMER_OBJTYPE_REGFILE]: 'r', [HAMMER_OBJTYPE_DBFILE]: 'r',
  [HAMMER_OBJTYPE_FIFO]: 'p', [HAMMER_OBJTYPE_CDEV]: 'c', [HAMMER_OBJTYPE_BDEV]: 'b',
  [HAMMER_OBJTYPE_SOFTLINK]: 'l', [HAMMER_OBJTYPE_SOCKET]: 's', [HAMMER_OBJTYPE_PSEUDOFS]: 'd',
};
const typeChar = (t: number | undefined) => (t === undefined ? '-' : TYPE_CHAR[t] ?? '-');

/** TSK mode string: name type / meta type + rwx bits with setuid/setgid/sticky. */
export function modeString(nameType: number | undefined, metaType: number | undefined, mode: number): string {
  const bit = (m: number, c: string) => (mode & m ? c : '-');
  const x = (m: number, special: number, on: string, off: string) => (mode & special ? (mode & m ? on : off) : bit(m, 'x'));
  return `${typeChar(nameType)}/${typeChar(metaType)}` +
    bit(0o400, 'r') + bit(0o200, 'w') + x(0o100, 0o4000, 's', 'S') +
    bit(0o040, 'r') + bit(0o020, 'w') + x(0o010, 0o2000, 's', 'S') +
    bit(0o004, 'r') + bit(0o002, 'w') + x(0o001, 0o1000, 't', 'T');
}

/** Name bytes for a bodyfile: printable ASCII and valid UTF-8 kept; '|', '\', controls as \xNN. */
function safeName(b: Uint8Array): string {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(b);
  } catch {
    text = '';
    for (const c of b) text += c >= 0x20 && c < 0x7f && c !== 0x7c && c !== 0x5c ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`;
    return text;
  }
  return text.replace(/[\x00-\x1f\x7f|\\]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

const secs = (us: bigint) => Number(us / 1000000n);
const visibleAt = (c: bigint, d: bigint, t: bigint) => c <= t && (d === 0n || t < d);

/**
 * Walk the tree once and produce one entry per INODE record, sorted by PFS, obj_id, create_tid.
 * `pfs` limits the output to one PFS. Payload problems never throw: the entry is marked damaged.
 */
export function buildTimeline(tree: BTree, o: { pfs?: number } = {}): TimelineEntry[] {
  const vs = tree.vs;
  const inodes: InodeVer[] = [];
  const dirents = new Map<string, Dirent[]>(); // `${pfs}:${target}` -> entries naming it
  const c = new Cursor(tree, { end: ALL_MAX });
  c.seek(ALL_MIN);
  while (c.next() === 'elm') {
    const node = c.node;
    const at = node.elmAt(c.index);
    const recType = node.dv.getUint16(at + 0x20, true);
    if (recType !== HAMMER_RECTYPE_INODE && recType !== HAMMER_RECTYPE_DIRENTRY) continue;
    const e = c.leaf();
    const pfs = e.localization >>> 16;
    if (o.pfs !== undefined && pfs !== o.pfs) continue;
    let data: Uint8Array | undefined;
    let crcOk = false;
    try {
      if (e.dataLen > 0 && e.dataOffset !== 0n) {
        data = vs.read(e.dataOffset, e.dataLen, { structure: 'record data', hammerOff: e.dataOffset });
        crcOk = recordDataCrcVerdict(e.recType, data, e.dataCrc, vs.version) !== null;
      }
    } catch (err) {
      if (!(err instanceof HammerError)) throw err;
      data = undefined; // unreadable payload: reported as damaged, the walk goes on
    }
    if (recType === HAMMER_RECTYPE_INODE) {
      const ok = !!data && data.length >= HAMMER_INODE_DATA_SIZE;
      inodes.push({
        pfs, objId: e.objId, createTid: e.createTid, deleteTid: e.deleteTid, createTs: e.createTs,
        ino: ok ? decodeInodeData(data!, { structure: 'inode data' }) : undefined, damaged: !ok || !crcOk,
      });
    } else if (data && data.length >= 16) {
      const d = decodeEntryData(data, { structure: 'directory entry' });
      const k = `${pfs}:${d.objId}`;
      let l = dirents.get(k);
      if (!l) dirents.set(k, (l = []));
      l.push({ dir: e.objId, name: d.name, createTid: e.createTid, deleteTid: e.deleteTid, objType: e.objType });
    }
  }

  /** The entry naming obj as of t: visible at t, else the newest made before t, else the oldest. */
  const entryFor = (pfs: number, obj: bigint, t: bigint): Dirent | undefined => {
    const l = dirents.get(`${pfs}:${obj}`);
    if (!l || l.length === 0) return undefined;
    let best: Dirent | undefined;
    for (const d of l) if (visibleAt(d.createTid, d.deleteTid, t) && (!best || d.createTid > best.createTid)) best = d;
    if (best) return best;
    for (const d of l) if (d.createTid <= t && (!best || d.createTid > best.createTid)) best = d;
    if (best) return best;
    for (const d of l) if (!best || d.createTid < best.createTid) best = d;
    return best;
  };
  const resolve = (pfs: number, obj: bigint, t: bigint): { path: string; resolved: boolean; nameType?: number } => {
    const parts: string[] = [];
    let cur = obj;
    let nameType: number | undefined;
    const seen = new Set<bigint>();
    for (;;) {
      if (cur === 1n) return { path: '/' + parts.reverse().join('/'), resolved: true, nameType };
      if (seen.has(cur) || parts.length > 512) break;
      seen.add(cur);
      const d = entryFor(pfs, cur, t);
      if (!d) break;
      if (cur === obj) nameType = d.objType;
      parts.push(safeName(d.name));
      cur = d.dir;
    }
    const anchor = `<obj 0x${hex64(cur)}>`;
    return { path: [anchor, ...parts.reverse()].join('/'), resolved: false, nameType };
  };

  inodes.sort((a, b) => a.pfs - b.pfs || (a.objId < b.objId ? -1 : a.objId > b.objId ? 1 : 0) || (a.createTid < b.createTid ? -1 : a.createTid > b.createTid ? 1 : 0));
  const out: TimelineEntry[] = [];
  for (let i = 0; i < inodes.length; ) {
    let j = i;
    while (j < inodes.length && inodes[j].pfs === inodes[i].pfs && inodes[j].objId === inodes[i].objId) j++;
    const group = inodes.slice(i, j);
    const deleted = group.every((v) => v.deleteTid !== 0n);
    const crtime = group[0].createTs;
    for (const v of group) {
      // The name the version had when it was last live: now for a live version, just before its
      // delete_tid otherwise (for a deleted object, the name it was deleted under).
      const r = resolve(v.pfs, v.objId, v.deleteTid === 0n ? HAMMER_MAX_TID : v.deleteTid - 1n);
      const ino = v.ino;
      const prefix = v.pfs === 0 ? '' : `/@@PFS${String(v.pfs).padStart(5, '0')}`;
      out.push({
        pfs: v.pfs, objId: v.objId, createTid: v.createTid, deleteTid: v.deleteTid,
        path: r.resolved ? (prefix + r.path).replace(/^(.+)\/$/, '$1') : prefix ? `${prefix}/${r.path}` : r.path,
        resolved: r.resolved, deleted,
        mode: modeString(r.nameType ?? ino?.objType, ino?.objType, ino?.mode ?? 0),
        uid: ino ? uuidToId(ino.uid) : 0, gid: ino ? uuidToId(ino.gid) : 0, size: ino?.size ?? 0n,
        atime: ino ? secs(ino.atime) : 0, mtime: ino ? secs(ino.mtime) : 0, ctime: ino ? secs(ino.ctime) : 0,
        crtime, damaged: v.damaged,
      });
    }
    i = j;
  }
  return out;
}

/** One bodyfile line (TSK 3.x format). The inode column is the decimal obj_id. */
export function bodyfileLine(e: TimelineEntry): string {
  const name = `${e.path}@@0x${hex64(e.createTid)}${e.deleted ? ' (deleted)' : ''}`;
  return `0|${name}|${BigInt.asUintN(64, e.objId)}|${e.mode}|${e.uid}|${e.gid}|${e.size}|${e.atime}|${e.mtime}|${e.ctime}|${e.crtime}`;
}
