/**
 * PFS management on the media (spec/RECORDS.md §6; what `hammer pfs-master`, `pfs-slave`,
 * `pfs-update`, `pfs-upgrade`, `pfs-downgrade` and `pfs-destroy` make the kernel do).
 *
 * A PFS is described by one PFS record on the PFS 0 root inode (obj_id 1, localization 2,
 * rec_type 0x15, key = id << 16). Changing it keeps history the way every HAMMER record change
 * does: the current version gets delete_tid = T and a new version with create_tid = T is
 * inserted (T a fresh TID), so `pfs-status` as of an older TID still sees the old values.
 *
 *  - create: PFS record with sync_beg 1, sync_end 1, fresh shared/unique UUIDs (a slave may be
 *    given the master's shared UUID); a master also gets its root directory inode (obj_id 1 in
 *    localization id << 16 | INODE, mode 0755, nlinks 1, cap flags by volume version), a slave
 *    gets it only through mirroring.
 *  - upgrade (slave -> master): everything the slave holds beyond its sync_end_tid is rolled back
 *    (records created later are removed, deletions made later are undone), then SLAVE is cleared.
 *  - downgrade (master -> slave): SLAVE set, sync_end_tid = max(sync_end_tid, last committed TID).
 *  - destroy: the record is first marked DELETED (committed on its own, so a crash part-way
 *    leaves a PFS nobody can open rather than a half-emptied live one), then every record of the
 *    PFS is physically removed in transactions of bounded size.
 *
 * Every function takes a WritableVolumeSet with no open transaction, unless it is given a `tx`.
 */
import { ExistsError, NotFoundError, UsageError, type Where } from '../errors.js';
import {
  HAMMER_RECTYPE_PFS, HAMMER_RECTYPE_INODE, HAMMER_OBJTYPE_DIRECTORY, HAMMER_PFSD_SLAVE, HAMMER_PFSD_DELETED,
  HAMMER_PFS_DATA_SIZE, HAMMER_MIN_KEY, HAMMER_MAX_KEY, HAMMER_MAX_TID, HAMMER_LOCALIZE_MASK, HAMMER_BTREE_NODE_SIZE, LE,
} from '../ondisk/constants.js';
import { decodePfsData, encodePfsData, type PfsData } from '../ondisk/pfs-data.js';
import { encodeInodeData } from '../ondisk/inode-data.js';
import { randomUuidBytes, uuidToString } from '../ondisk/uuid.js';
import { ELM, cmpBaseElmRaw, decodeBaseElm, decodeLeafElm, EncodedKey, type BaseElm, type LeafElm } from '../ondisk/btree-elm.js';
import { NODE } from '../ondisk/btree-node.js';
import { u64, setU64 } from '../ondisk/int64.js';
import { BTree } from '../btree/btree.js';
import { Cursor } from '../btree/cursor.js';
import { insertLeaf, markDeleted, deleteLeaf, writeRecordData } from '../btree/modify.js';
import { findRecord, readPayload, locInode, locMisc, CURRENT, type FsContext } from '../fs/records.js';
import { highestTid } from './mirror-read.js';
import type { Transaction } from '../volume/transaction.js';
import type { WritableVolumeSet } from '../volume/writable-volume-set.js';

export const PFS_ROOT_OBJ = 1n;

const pfsWhere = (id: number): Where => ({ structure: `PFS ${id}` });

export function checkPfsId(id: number, o: { allowRoot?: boolean } = {}): void {
  if (!Number.isInteger(id) || id < 0 || id > 0xffff) throw new UsageError(`PFS id must be 0..65535, got ${id}`, { structure: 'argument', field: 'pfs' });
  if (id === 0 && !o.allowRoot) throw new UsageError('PFS 0 is the root PFS: it cannot be changed this way', { structure: 'argument', field: 'pfs' });
}

/** The current PFS record of `id` (deleted-flagged ones included), with its decoded data. */
export function readPfsRecord(tree: BTree, id: number): { leaf: LeafElm; data: PfsData } | undefined {
  const ctx: FsContext = { vs: tree.vs, tree, verifyData: true };
  const r = findRecord(tree, locMisc(0), PFS_ROOT_OBJ, HAMMER_RECTYPE_PFS, BigInt(id) << 16n, CURRENT);
  if (!r) return undefined;
  return { leaf: r.leaf, data: decodePfsData(readPayload(ctx, r.leaf, r.where), r.where) };
}

/**
 * Write a new version of the PFS record of `id` inside `tx` with create_tid `tid` (a TID that is
 * higher than every TID this transaction wrote): the current version, if any, is closed at `tid`.
 */
export function writePfsRecord(tx: Transaction, tree: BTree, id: number, data: PfsData, tid: bigint): void {
  const old = readPfsRecord(tree, id);
  if (old) markDeleted(tx, tree, old.leaf, tid, tx.ts);
  const payload = encodePfsData(data);
  const d = writeRecordData(tx, HAMMER_RECTYPE_PFS, payload);
  insertLeaf(tx, tree, {
    localization: locMisc(0), objId: PFS_ROOT_OBJ, recType: HAMMER_RECTYPE_PFS, key: BigInt(id) << 16n,
    createTid: tid, deleteTid: 0n, objType: 0, btype: 0, createTs: tx.ts, deleteTs: 0, ...d,
  });
}

/** PFS data as `hammer pfs-master` / `pfs-slave` initialise it. */
export function initPfsData(o: { slave: boolean; sharedUuid?: Uint8Array; label?: string }): PfsData {
  return {
    syncLowTid: 0n, syncBegTid: 1n, syncEndTid: 1n, syncBegTs: 0n, syncEndTs: 0n,
    sharedUuid: o.sharedUuid ? o.sharedUuid.slice() : randomUuidBytes(), uniqueUuid: randomUuidBytes(),
    reserved01: 0, mirrorFlags: o.slave ? HAMMER_PFSD_SLAVE : 0, label: o.label ?? '', snapshots: '',
    pruneMin: 0, pruneMax: 0, raw: new Uint8Array(HAMMER_PFS_DATA_SIZE),
  };
}

export interface CreatePfsOptions {
  slave: boolean;
  sharedUuid?: Uint8Array;
  label?: string;
  /** Field changes (pfs-update syntax) applied on top of the defaults. */
  fields?: Partial<PfsData>;
}

export interface CreatePfsResult {
  id: number;
  data: PfsData;
  tid: bigint;
  rootInodeCreated: boolean;
}

/** Create PFS `id` inside an open transaction (mirror-write uses this for `-y`). */
export function createPfsIn(tx: Transaction, tree: BTree, id: number, o: CreatePfsOptions): CreatePfsResult {
  checkPfsId(id);
  const cur = readPfsRecord(tree, id);
  if (cur && !(cur.data.mirrorFlags & HAMMER_PFSD_DELETED)) {
    throw new ExistsError(`PFS ${id} already exists (${cur.data.mirrorFlags & HAMMER_PFSD_SLAVE ? 'slave' : 'master'}${cur.data.label ? `, label "${cur.data.label}"` : ''})`, pfsWhere(id));
  }
  const data: PfsData = { ...initPfsData(o), ...(o.fields ?? {}) };
  const tid = tx.allocTid();
  writePfsRecord(tx, tree, id, data, tid);
  let rootInodeCreated = false;
  if (!o.slave && !findRecord(tree, locInode(id), PFS_ROOT_OBJ, HAMMER_RECTYPE_INODE, 0n, CURRENT)) {
    createPfsRootInode(tx, tree, id, tid);
    rootInodeCreated = true;
  }
  return { id, data, tid, rootInodeCreated };
}

/** The root directory of a master PFS, as hammer_mkroot_pseudofs() makes it. */
function createPfsRootInode(tx: Transaction, tree: BTree, id: number, tid: bigint): void {
  const v = tx.version;
  let cap = 0;
  if (v >= 2) cap |= 0x04; // DIR_LOCAL_INO
  if (v >= 6) cap |= 0x01; // DIRHASH ALG1
  const now = BigInt(Date.now()) * 1000n;
  const payload = encodeInodeData({
    version: 1, mode: 0o755, uflags: 0, rmajor: 0, rminor: 0, ctime: now, parentObjId: 0n,
    uid: new Uint8Array(16), gid: new Uint8Array(16), objType: HAMMER_OBJTYPE_DIRECTORY, capFlags: cap,
    reserved01: 0, reserved02: 0,
    // created with 0 links and bumped to 1 so that the lone root is never reclaimed
    nlinks: 1n, size: 0n, ext: new Uint8Array(24), mtime: now, atime: now,
  });
  const d = writeRecordData(tx, HAMMER_RECTYPE_INODE, payload);
  insertLeaf(tx, tree, {
    localization: locInode(id), objId: PFS_ROOT_OBJ, recType: HAMMER_RECTYPE_INODE, key: 0n,
    createTid: tid, deleteTid: 0n, objType: HAMMER_OBJTYPE_DIRECTORY, btype: 0, createTs: tx.ts, deleteTs: 0, ...d,
  });
  tx.header.statInodes += 1n;
}

/** Run `fn` in one transaction on `vs` (committed unless it throws). */
export function inTransaction<T>(vs: WritableVolumeSet, fn: (tx: Transaction, tree: BTree) => T): T {
  const tx = vs.begin();
  try {
    const r = fn(tx, new BTree(vs));
    tx.commit();
    return r;
  } catch (e) {
    tx.abort();
    throw e;
  }
}

export function createPfs(vs: WritableVolumeSet, id: number, o: CreatePfsOptions): CreatePfsResult {
  return inTransaction(vs, (tx, tree) => createPfsIn(tx, tree, id, o));
}

function requirePfs(tree: BTree, id: number): { leaf: LeafElm; data: PfsData } {
  const cur = readPfsRecord(tree, id);
  if (!cur) throw new NotFoundError(`no PFS ${id} on this filesystem`, pfsWhere(id));
  if (cur.data.mirrorFlags & HAMMER_PFSD_DELETED) throw new NotFoundError(`PFS ${id} is deleted`, pfsWhere(id));
  return cur;
}

/** Change fields of PFS `id` (label, snapshots, prune_min, sync TIDs, UUIDs...). */
export function updatePfs(vs: WritableVolumeSet, id: number, fields: Partial<PfsData>): PfsData {
  checkPfsId(id, { allowRoot: true });
  return inTransaction(vs, (tx, tree) => {
    let cur = readPfsRecord(tree, id);
    if (!cur && id !== 0) throw new NotFoundError(`no PFS ${id} on this filesystem`, pfsWhere(id));
    if (cur && cur.data.mirrorFlags & HAMMER_PFSD_DELETED) throw new NotFoundError(`PFS ${id} is deleted`, pfsWhere(id));
    if (!cur) {
      // PFS 0 without a record: start from the defaults the kernel reports (shared = unique = fsid)
      const fsid = vs.root.fsid;
      cur = { leaf: undefined as unknown as LeafElm, data: { ...initPfsData({ slave: false, sharedUuid: fsid, label: vs.root.label }), uniqueUuid: fsid.slice(), syncBegTid: 0n, syncEndTid: 0n } };
    }
    const data: PfsData = { ...cur.data, ...fields };
    writePfsRecord(tx, tree, id, data, tx.allocTid());
    return data;
  });
}

/** Set sync_end_tid of a slave inside an open transaction (mirror-write's commit point). */
export function setSyncEndTid(tx: Transaction, tree: BTree, id: number, tid: bigint): boolean {
  const cur = requirePfs(tree, id);
  if (cur.data.syncEndTid === tid) return false;
  writePfsRecord(tx, tree, id, { ...cur.data, syncEndTid: tid }, tx.allocTid());
  return true;
}

/** Highest TID the filesystem has committed (what the kernel reports for a master). */
export function lastCommittedTid(vs: WritableVolumeSet, tree: BTree): bigint {
  const h = highestTid(tree);
  return vs.root.nextTid > h ? vs.root.nextTid : h;
}

export function downgradePfs(vs: WritableVolumeSet, id: number): PfsData {
  checkPfsId(id);
  return inTransaction(vs, (tx, tree) => {
    const cur = requirePfs(tree, id);
    if (cur.data.mirrorFlags & HAMMER_PFSD_SLAVE) throw new UsageError(`PFS ${id} is already a slave`, pfsWhere(id));
    const last = lastCommittedTid(vs, tree);
    const data: PfsData = { ...cur.data, mirrorFlags: cur.data.mirrorFlags | HAMMER_PFSD_SLAVE, syncEndTid: cur.data.syncEndTid > last ? cur.data.syncEndTid : last };
    writePfsRecord(tx, tree, id, data, tx.allocTid());
    return data;
  });
}

/* ------------------------------------------------------------------------------------------ */
/* Walking and editing every record of one PFS                                                 */
/* ------------------------------------------------------------------------------------------ */

/** First and last possible keys of PFS `id`. */
export function pfsKeyRange(id: number): { beg: BaseElm; end: BaseElm } {
  const lo = (id << 16) >>> 0;
  return {
    beg: { localization: lo, objId: HAMMER_MIN_KEY, recType: 0, key: HAMMER_MIN_KEY, createTid: 1n, deleteTid: 0n, objType: 0, btype: 0 },
    end: { localization: (lo | HAMMER_LOCALIZE_MASK) >>> 0, objId: HAMMER_MAX_KEY, recType: 0xffff, key: HAMMER_MAX_KEY, createTid: HAMMER_MAX_TID, deleteTid: 0n, objType: 0, btype: 0 },
  };
}

/**
 * Collect up to `limit` leaves of [beg, end] that `want` accepts (decoded, so the tree may be
 * changed afterwards). Returns them and the key to continue after (undefined at the end).
 */
export function collectLeaves(tree: BTree, beg: BaseElm, end: BaseElm, limit: number, want: (dv: DataView, at: number) => boolean): { leaves: LeafElm[]; next?: BaseElm } {
  const out: LeafElm[] = [];
  const c = new Cursor(tree, { end });
  c.seek(beg);
  let scanned = 0;
  while (c.next() === 'elm') {
    const n = c.node;
    const at = n.elmAt(c.index);
    if (want(n.dv, at)) out.push(decodeLeafElm(n.dv, at));
    // bound the work per call also when few leaves match
    if (out.length >= limit || ++scanned >= limit * 16) {
      const k = decodeBaseElm(n.dv, at);
      return { leaves: out, next: { ...k, createTid: k.createTid + 1n } };
    }
  }
  return { leaves: out };
}

/**
 * Path from the root to the leaf holding exactly `key` (internal nodes with child index).
 * Used to edit delete_tid in place where markDeleted() does not apply.
 */
function findLeafPath(tree: BTree, rootOff: bigint, key: BaseElm): { leaf: bigint; index: number; path: { off: bigint; index: number }[] } | undefined {
  const k = new EncodedKey(key);
  const path: { off: bigint; index: number }[] = [];
  let off = rootOff;
  for (let depth = 0; depth < 40; depth++) {
    const n = tree.node(off);
    if (n.isLeaf) {
      for (let i = 0; i < n.count; i++) if (cmpBaseElmRaw(n.dv, n.elmAt(i), k.dv, 0) === 0) return { leaf: off, index: i, path };
      return undefined;
    }
    let i = 0;
    while (i + 1 < n.count && cmpBaseElmRaw(n.dv, n.elmAt(i + 1), k.dv, 0) <= 0) i++;
    path.push({ off, index: i });
    off = n.subtreeOffset(i);
  }
  return undefined;
}

/**
 * Set delete_tid / delete_ts of an existing record to any value (0 = undelete), raising the
 * mirror_tid of the leaf and its ancestors when the TID grows. markDeleted() covers the common
 * live -> deleted case; this is for mirror_update of an already deleted record and for rollback.
 */
export function setDeleteTid(tx: Transaction, tree: BTree, key: BaseElm, deleteTid: bigint, deleteTs: number): void {
  const p = findLeafPath(tree, tx.header.btreeRoot, key);
  if (!p) throw new NotFoundError('no record with this key and create_tid', { structure: 'B-Tree' });
  const w = tx.modify(p.leaf, HAMMER_BTREE_NODE_SIZE);
  tx.touchNode(p.leaf);
  const at = w.at + NODE.elms + p.index * 64;
  setU64(w.buf.dv, at + ELM.deleteTid, deleteTid);
  w.buf.dv.setUint32(at + ELM.deleteTs, deleteTs >>> 0, LE);
  if (deleteTid !== 0n) {
    if (u64(w.buf.dv, w.at + NODE.mirrorTid) < deleteTid) setU64(w.buf.dv, w.at + NODE.mirrorTid, deleteTid);
    for (let k = p.path.length - 1; k >= 0; k--) {
      const pe = p.path[k];
      const cur = tree.node(pe.off);
      if (cur.elmMirrorTid(pe.index) >= deleteTid) break;
      const pw = tx.modify(pe.off, HAMMER_BTREE_NODE_SIZE);
      tx.touchNode(pe.off);
      setU64(pw.buf.dv, pw.at + NODE.elms + pe.index * 64 + ELM.mirrorTid, deleteTid);
      if (u64(pw.buf.dv, pw.at + NODE.mirrorTid) < deleteTid) setU64(pw.buf.dv, pw.at + NODE.mirrorTid, deleteTid);
    }
  }
  tx.sealNodes();
}

/** Records edited per transaction by rollback/destroy (keeps UNDO and dirty memory bounded). */
const EDITS_PER_TX = 4000;

export interface RollbackReport {
  removed: number;
  undeleted: number;
  commits: number;
}

/**
 * Roll PFS `id` back to TID `trunc - 1`: remove every record created at or after `trunc`, clear
 * delete_tid where the deletion happened at or after `trunc` (hammer_pfs_rollback()).
 */
function rollbackPfs(vs: WritableVolumeSet, id: number, trunc: bigint): RollbackReport {
  const rep: RollbackReport = { removed: 0, undeleted: 0, commits: 0 };
  const { beg, end } = pfsKeyRange(id);
  let from: BaseElm | undefined = beg;
  while (from) {
    const done = inTransaction(vs, (tx, tree) => {
      const got = collectLeaves(tree, from!, end, EDITS_PER_TX, (dv, at) => {
        const c = dv.getBigUint64(at + ELM.createTid, LE);
        const d = dv.getBigUint64(at + ELM.deleteTid, LE);
        return c >= trunc || d >= trunc;
      });
      for (const l of got.leaves) {
        if (l.createTid >= trunc) {
          deleteLeaf(tx, tree, l, { freeData: true });
          if (l.recType === HAMMER_RECTYPE_INODE && l.deleteTid === 0n) tx.header.statInodes -= 1n;
          rep.removed++;
        } else {
          setDeleteTid(tx, tree, l, 0n, 0);
          if (l.recType === HAMMER_RECTYPE_INODE) tx.header.statInodes += 1n;
          rep.undeleted++;
        }
      }
      return got.next;
    });
    rep.commits++;
    from = done;
  }
  return rep;
}

export function upgradePfs(vs: WritableVolumeSet, id: number): { data: PfsData; rollback: RollbackReport } {
  checkPfsId(id);
  const tree = new BTree(vs);
  const cur = requirePfs(tree, id);
  if (!(cur.data.mirrorFlags & HAMMER_PFSD_SLAVE)) throw new UsageError(`PFS ${id} is already a master`, pfsWhere(id));
  // Roll back first, flag last: a crash in between leaves a slave, and a rerun finishes the job.
  const rollback = rollbackPfs(vs, id, cur.data.syncEndTid + 1n);
  const data = inTransaction(vs, (tx, t) => {
    const now = requirePfs(t, id);
    const d: PfsData = { ...now.data, mirrorFlags: now.data.mirrorFlags & ~HAMMER_PFSD_SLAVE };
    writePfsRecord(tx, t, id, d, tx.allocTid());
    return d;
  });
  return { data, rollback };
}

export interface DestroyReport {
  removed: number;
  commits: number;
}

export function destroyPfs(vs: WritableVolumeSet, id: number): DestroyReport {
  checkPfsId(id);
  inTransaction(vs, (tx, tree) => {
    const cur = requirePfs(tree, id);
    writePfsRecord(tx, tree, id, { ...cur.data, mirrorFlags: (cur.data.mirrorFlags | HAMMER_PFSD_DELETED) >>> 0 }, tx.allocTid());
  });
  const rep: DestroyReport = { removed: 0, commits: 1 };
  const { beg, end } = pfsKeyRange(id);
  for (;;) {
    const n = inTransaction(vs, (tx, tree) => {
      const got = collectLeaves(tree, beg, end, EDITS_PER_TX, () => true);
      for (const l of got.leaves) {
        deleteLeaf(tx, tree, l, { freeData: true });
        if (l.recType === HAMMER_RECTYPE_INODE && l.deleteTid === 0n) tx.header.statInodes -= 1n;
      }
      return got.leaves.length;
    });
    rep.commits++;
    rep.removed += n;
    if (n === 0) break;
  }
  return rep;
}

/** pfs-status style description of PFS data (JSON-friendly apart from bigints). */
export function describePfs(id: number, d: PfsData): Record<string, unknown> {
  return {
    pfs: id, mode: d.mirrorFlags & HAMMER_PFSD_SLAVE ? 'slave' : 'master', deleted: (d.mirrorFlags & HAMMER_PFSD_DELETED) !== 0,
    syncBegTid: d.syncBegTid, syncEndTid: d.syncEndTid, sharedUuid: uuidToString(d.sharedUuid), uniqueUuid: uuidToString(d.uniqueUuid),
    label: d.label, snapshots: d.snapshots, pruneMin: d.pruneMin,
  };
}

