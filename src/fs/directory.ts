/**
 * Directories: DIRENTRY records of a directory inode, keyed by the name hash of the directory's
 * algorithm (cap_flags & 3) plus a collision iterator (spec/RECORDS.md §3 and its addendum).
 *  - localization: PFS<<16|INODE when the directory has cap DIR_LOCAL_INO, else PFS<<16|MISC;
 *  - lookup scans [namekey, namekey + max_iterations] for ALG1 and [namekey, namekey | 0xffffffff]
 *    for ALG0 (old kernels put an arbitrary counter in the low 32 bits of ALG0 keys), applies the
 *    as-of rule and compares the stored name bytes;
 *  - readdir is every visible DIRENTRY in key order; the key is the directory cookie.
 * "." and ".." are never stored; callers synthesize them (".." from parent_obj_id).
 */
import { BadFieldError } from '../errors.js';
import { decodeEntryData } from '../ondisk/entry-data.js';
import { directoryNamekey } from '../ondisk/dirhash.js';
import {
  HAMMER_RECTYPE_DIRENTRY, HAMMER_INODE_CAP_DIR_LOCAL_INO, HAMMER_INODE_CAP_DIRHASH_MASK, HAMMER_ENTRY_NAME_OFF,
} from '../ondisk/constants.js';
import type { NodeView } from '../ondisk/btree-node.js';
import { fileTypeOf, type FileType, type Inode } from './inode.js';
import { CURRENT, leafWhere, locInode, locMisc, readPayload, scanRecords, type FsContext } from './records.js';
import { ELM } from '../ondisk/btree-elm.js';

const KEY_MAX = 0x7fffffffffffffffn;
const KEY_MIN = -0x8000000000000000n;

export interface DirEntry {
  /** Name bytes as stored (not NUL-terminated, any bytes but '/' and NUL). */
  name: Uint8Array;
  /** The name decoded as UTF-8 (invalid sequences replaced) for display. */
  nameStr: string;
  objId: bigint;
  /** Target's localization (its PFS id << 16). */
  localization: number;
  /** Leaf obj_type: the target inode's type. */
  objType: number;
  type: FileType;
  /** B-Tree key (hash + iterator), the readdir cookie. */
  key: bigint;
  createTid: bigint;
  deleteTid: bigint;
  /** Seconds since the epoch of the record's creation / deletion (leaf create_ts / delete_ts). */
  createTs?: number;
  deleteTs?: number;
}

/** Localization of a directory's entries, from its inode's cap_flags. */
export function dirLocalization(pfs: number, capFlags: number): number {
  return capFlags & HAMMER_INODE_CAP_DIR_LOCAL_INO ? locInode(pfs) : locMisc(pfs);
}

function toEntry(ctx: FsContext, node: NodeView, i: number): DirEntry {
  const leaf = node.leaf(i);
  const where = leafWhere(node, i);
  if (leaf.dataLen < HAMMER_ENTRY_NAME_OFF) throw new BadFieldError(`directory entry data_len ${leaf.dataLen} is below 16`, { ...where, field: 'data_len' });
  const e = decodeEntryData(readPayload(ctx, leaf, where), where);
  return {
    name: e.name, nameStr: Buffer.from(e.name).toString('utf8'), objId: e.objId, localization: e.localization,
    objType: leaf.objType, type: fileTypeOf(leaf.objType), key: leaf.key, createTid: leaf.createTid, deleteTid: leaf.deleteTid,
    createTs: leaf.createTs, deleteTs: leaf.deleteTs,
  };
}

function requireDir(dir: Inode): void {
  if (dir.type !== 'dir' && dir.type !== 'pfs') {
    throw new BadFieldError(`inode is a ${dir.type}, not a directory`, { structure: `inode ${dir.objId.toString(16)} in PFS ${dir.pfs}` });
  }
}

function sameBytes(node: NodeView, ctx: FsContext, i: number, name: Uint8Array): boolean {
  // Cheap pre-check on data_len before reading the payload.
  const len = node.dv.getInt32(node.elmAt(i) + 0x38, true);
  return len === HAMMER_ENTRY_NAME_OFF + name.length && Buffer.compare(toEntry(ctx, node, i).name, name) === 0;
}

/**
 * Find `name` in directory `dir` as of `asof`. Returns the visible entry or undefined.
 * Throws BadFieldError if `dir` is not a directory.
 */
export function lookupEntry(ctx: FsContext, dir: Inode, name: Uint8Array, asof: bigint): DirEntry | undefined {
  requireDir(dir);
  const loc = dirLocalization(dir.pfs, dir.capFlags);
  const nk = directoryNamekey(dir.capFlags, name);
  const alg = dir.capFlags & HAMMER_INODE_CAP_DIRHASH_MASK;
  let last = alg === 0 ? nk.key | 0xffffffffn : nk.key + nk.maxIterations;
  if (last > KEY_MAX) last = KEY_MAX;
  let hit: DirEntry | undefined;
  scanRecords(ctx.tree, loc, dir.objId, HAMMER_RECTYPE_DIRENTRY, nk.key, last, asof, (node, i) => {
    if (sameBytes(node, ctx, i, name)) {
      hit = toEntry(ctx, node, i);
      return false;
    }
  });
  return hit;
}

/**
 * Visible entries of `dir` as of `asof` in key (cookie) order, without "." and "..". A generator,
 * so a huge directory is never held in memory; `fromKey` resumes after a cookie (exclusive).
 */
export function* readDirectory(ctx: FsContext, dir: Inode, asof: bigint, fromKey?: bigint, batchSize = 256): Generator<DirEntry> {
  requireDir(dir);
  const loc = dirLocalization(dir.pfs, dir.capFlags);
  // The scan is callback-driven; to hand out a generator without keeping a cursor open across
  // yields (the caller may look things up in between), take up to batchSize entries per scan and
  // resume after the last key seen.
  const beg = fromKey === undefined ? KEY_MIN : fromKey + 1n;
  if (beg > KEY_MAX) return;
  const batch: DirEntry[] = [];
  let resume = beg;
  for (;;) {
    batch.length = 0;
    let more = false;
    scanRecords(ctx.tree, loc, dir.objId, HAMMER_RECTYPE_DIRENTRY, resume, KEY_MAX, asof, (node, i) => {
      if (batch.length >= batchSize) {
        more = true;
        return false;
      }
      batch.push(toEntry(ctx, node, i));
    });
    yield* batch.slice();
    if (!more) return;
    resume = batch[batch.length - 1].key + 1n;
  }
}

/**
 * Stored versions of the entries of `dir`, live and deleted (a deleted entry keeps its record,
 * with delete_tid set, until pruned): the forensic listing. Key order, and within one key
 * create_tid order. Only versions created at or before `asof` (CURRENT: all); with `deletedOnly`,
 * only those deleted at or before `asof` (CURRENT: any delete_tid). Streamed in batches like
 * readDirectory(); a batch never ends inside one key, so no version is skipped on resume.
 */
export function* entryVersions(ctx: FsContext, dir: Inode, o: { asof?: bigint; deletedOnly?: boolean } = {}, batchSize = 256): Generator<DirEntry> {
  requireDir(dir);
  const loc = dirLocalization(dir.pfs, dir.capFlags);
  const asof = o.asof ?? CURRENT;
  const now = asof === CURRENT || asof === 0n;
  const batch: DirEntry[] = [];
  let resume = KEY_MIN;
  for (;;) {
    batch.length = 0;
    let more = false;
    scanRecords(ctx.tree, loc, dir.objId, HAMMER_RECTYPE_DIRENTRY, resume, KEY_MAX, undefined, (node, i) => {
      const at = node.elmAt(i);
      if (batch.length >= batchSize && node.dv.getBigInt64(at + ELM.key, true) !== batch[batch.length - 1].key) {
        more = true;
        return false;
      }
      const createTid = node.dv.getBigUint64(at + ELM.createTid, true);
      const deleteTid = node.dv.getBigUint64(at + ELM.deleteTid, true);
      if (!now && createTid > asof) return;
      if (o.deletedOnly && (deleteTid === 0n || (!now && deleteTid > asof))) return;
      batch.push(toEntry(ctx, node, i));
    });
    yield* batch.slice();
    if (!more) return;
    const last = batch[batch.length - 1].key;
    if (last >= KEY_MAX) return;
    resume = last + 1n;
  }
}
