/**
 * Snapshots of a PFS (spec/RECORDS.md §7): SNAPSHOT records on the PFS root inode (obj_id 1,
 * INODE localization), key = snapshot TID as i64. They are removed physically, so every stored
 * record with delete_tid 0 is a snapshot.
 */
import { decodeSnapshotData } from '../ondisk/snapshot-data.js';
import { HAMMER_RECTYPE_SNAPSHOT } from '../ondisk/constants.js';
import { collectRecords, locInode, readPayload, CURRENT, type FsContext } from './records.js';

export interface SnapshotInfo {
  pfs: number;
  /** The snapshot's TID (the leaf key wins over the payload's copy). */
  tid: bigint;
  /** µs since the epoch. */
  ts: bigint;
  label: string;
  /** create_tid of the record (when the snapshot was taken). */
  createTid: bigint;
}

/** Snapshots of PFS `pfs`, sorted by the key (signed TID) as hammer(8) lists them. */
export function listSnapshots(ctx: FsContext, pfs: number): SnapshotInfo[] {
  return collectRecords(ctx.tree, locInode(pfs), 1n, HAMMER_RECTYPE_SNAPSHOT, -0x8000000000000000n, 0x7fffffffffffffffn, CURRENT).map((r) => {
    const d = decodeSnapshotData(readPayload(ctx, r.leaf, r.where), r.where);
    return { pfs, tid: BigInt.asUintN(64, r.leaf.key), ts: d.ts, label: d.label, createTid: r.leaf.createTid };
  });
}
