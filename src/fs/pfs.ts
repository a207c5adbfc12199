/**
 * Pseudo-filesystems (spec/RECORDS.md §6): one PFS record per PFS on the PFS 0 root inode
 * (obj_id 1, localization 0x00000002, rec_type 0x15, key = id << 16), read as of now. PFS 0 may
 * lack its record: then it has the defaults (shared = unique = vol_fsid). Every PFS's root
 * directory is obj_id 1 in localization id << 16.
 */
import { decodePfsData, isSlave, isDeleted, type PfsData } from '../ondisk/pfs-data.js';
import { HAMMER_RECTYPE_PFS } from '../ondisk/constants.js';
import { uuidToString } from '../ondisk/uuid.js';
import { collectRecords, findRecord, locMisc, readPayload, CURRENT, type FsContext } from './records.js';

export interface PfsInfo {
  id: number;
  slave: boolean;
  deleted: boolean;
  syncBegTid: bigint;
  syncEndTid: bigint;
  sharedUuid: string;
  uniqueUuid: string;
  label: string;
  mirrorFlags: number;
  /** create_tid of the PFS record; undefined for PFS 0 without a record. */
  recordTid?: bigint;
  /** Decoded payload, undefined for the PFS 0 defaults. */
  data?: PfsData;
}

const PFS_ROOT_OBJ = 1n;

function toInfo(id: number, d: PfsData, recordTid: bigint): PfsInfo {
  return {
    id, slave: isSlave(d), deleted: isDeleted(d), syncBegTid: d.syncBegTid, syncEndTid: d.syncEndTid,
    sharedUuid: uuidToString(d.sharedUuid), uniqueUuid: uuidToString(d.uniqueUuid), label: d.label,
    mirrorFlags: d.mirrorFlags, recordTid, data: d,
  };
}

function defaultPfs0(ctx: FsContext): PfsInfo {
  const fsid = uuidToString(ctx.vs.root.fsid);
  return { id: 0, slave: false, deleted: false, syncBegTid: 0n, syncEndTid: 0n, sharedUuid: fsid, uniqueUuid: fsid, label: ctx.vs.root.label, mirrorFlags: 0 };
}

/** Every PFS with a current PFS record (deleted ones included, flagged), PFS 0 always first. */
export function listPfs(ctx: FsContext): PfsInfo[] {
  const out: PfsInfo[] = [];
  for (const r of collectRecords(ctx.tree, locMisc(0), PFS_ROOT_OBJ, HAMMER_RECTYPE_PFS, 0n, 0x7fffffffffffffffn, CURRENT)) {
    const id = Number((r.leaf.key >> 16n) & 0xffffn);
    out.push(toInfo(id, decodePfsData(readPayload(ctx, r.leaf, r.where), r.where), r.leaf.createTid));
  }
  if (!out.some((p) => p.id === 0)) out.unshift(defaultPfs0(ctx));
  return out.sort((a, b) => a.id - b.id);
}

/** The PFS record of `id` as of now; PFS 0 defaults when it has none; undefined for other ids. */
export function getPfs(ctx: FsContext, id: number): PfsInfo | undefined {
  const r = findRecord(ctx.tree, locMisc(0), PFS_ROOT_OBJ, HAMMER_RECTYPE_PFS, BigInt(id) << 16n, CURRENT);
  if (r) return toInfo(id, decodePfsData(readPayload(ctx, r.leaf, r.where), r.where), r.leaf.createTid);
  return id === 0 ? defaultPfs0(ctx) : undefined;
}
