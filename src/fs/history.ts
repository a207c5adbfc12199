/**
 * History of one inode: every version of its INODE record and of its DATA (and symlink FIX)
 * records, and the distinct TIDs at which any of them was created or deleted — what hammer(8)
 * `history` lists (HAMMERIOC_GETHISTORY adds each record's create_tid and, when set, its
 * delete_tid) and what undo(1) walks. Reading the file as of one of these TIDs gives the version
 * that TID made.
 */
import { HAMMER_RECTYPE_FIX } from '../ondisk/constants.js';
import { inodeVersions, type Inode } from './inode.js';
import { dataRecords, type DataRecord } from './file.js';
import { collectRecords, locMisc, type FsContext } from './records.js';

export interface HistoryTid {
  tid: bigint;
  /** Seconds since the epoch (the leaf's create_ts / delete_ts; 0 if unknown). */
  ts: number;
  /** What changed at this TID. */
  inodeCreated: boolean;
  inodeDeleted: boolean;
  dataCreated: number;
  dataDeleted: number;
}

export interface InodeHistory {
  pfs: number;
  objId: bigint;
  inodes: Inode[];
  data: DataRecord[];
  /** Symlink FIX records (long targets): create/delete TIDs only. */
  fix: { createTid: bigint; deleteTid: bigint; createTs: number; deleteTs: number }[];
  /** Distinct create/delete TIDs, ascending. */
  tids: HistoryTid[];
}

/** Collect the history of inode `objId` in PFS `pfs` (all versions, whatever the view's TID). */
export function inodeHistory(ctx: FsContext, pfs: number, objId: bigint): InodeHistory {
  const inodes = inodeVersions(ctx, pfs, objId);
  const data = dataRecords(ctx, { pfs, objId });
  const fix = collectRecords(ctx.tree, locMisc(pfs), objId, HAMMER_RECTYPE_FIX, -0x8000000000000000n, 0x7fffffffffffffffn)
    .map(({ leaf }) => ({ createTid: leaf.createTid, deleteTid: leaf.deleteTid, createTs: leaf.createTs, deleteTs: leaf.deleteTs }));
  const byTid = new Map<bigint, HistoryTid>();
  const at = (tid: bigint, ts: number): HistoryTid => {
    let h = byTid.get(tid);
    if (!h) byTid.set(tid, (h = { tid, ts, inodeCreated: false, inodeDeleted: false, dataCreated: 0, dataDeleted: 0 }));
    if (!h.ts) h.ts = ts;
    return h;
  };
  for (const v of inodes) {
    at(v.createTid, v.createTs).inodeCreated = true;
    if (v.deleteTid) at(v.deleteTid, v.deleteTs).inodeDeleted = true;
  }
  for (const r of [...data, ...fix]) {
    at(r.createTid, r.createTs).dataCreated++;
    if (r.deleteTid) at(r.deleteTid, r.deleteTs).dataDeleted++;
  }
  const tids = [...byTid.values()].sort((a, b) => (a.tid < b.tid ? -1 : a.tid > b.tid ? 1 : 0));
  return { pfs, objId, inodes, data, fix, tids };
}
