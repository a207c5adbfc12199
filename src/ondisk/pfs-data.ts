/**
 * PFS payload — struct hammer_pseudofs_data (hammer_disk.h), 292 bytes, packed. Stored as a PFS
 * record (rec_type 0x15) on the PFS-0 root inode, key = pfs_id << 16. Older unpacked 64-bit
 * builds wrote 296 bytes with the same field offsets: accept >= 292, write 292.
 */
import { BadFieldError, type Where } from '../errors.js';
import { LE, HAMMER_PFS_DATA_SIZE, HAMMER_PFSD_SLAVE, HAMMER_PFSD_DELETED } from './constants.js';
import { u64, setU64 } from './int64.js';
import { writeLabel } from './volume-header.js';

export const PFSD = {
  syncLowTid: 0, syncBegTid: 8, syncEndTid: 16, syncBegTs: 24, syncEndTs: 32, sharedUuid: 40, uniqueUuid: 56,
  reserved01: 72, mirrorFlags: 76, label: 80, snapshots: 144, reserved02: 208, reserved03: 212, reserved04: 216,
  pruneMin: 220, pruneMax: 224, reserved: 228,
} as const;

export interface PfsData {
  syncLowTid: bigint;
  syncBegTid: bigint;
  syncEndTid: bigint;
  syncBegTs: bigint;
  syncEndTs: bigint;
  sharedUuid: Uint8Array;
  uniqueUuid: Uint8Array;
  reserved01: number;
  mirrorFlags: number;
  label: string;
  snapshots: string;
  pruneMin: number;
  pruneMax: number;
  /** All 292 bytes as read, so reserved fields survive a re-encode. */
  raw: Uint8Array;
}

function cstr(b: Uint8Array, at: number, len: number): string {
  let e = at;
  while (e < at + len && b[e] !== 0) e++;
  return Buffer.from(b.subarray(at, e)).toString('latin1');
}

export function decodePfsData(b: Uint8Array, where: Where): PfsData {
  if (b.length < HAMMER_PFS_DATA_SIZE) throw new BadFieldError(`PFS data is ${b.length} bytes, expected 292`, where);
  const dv = new DataView(b.buffer, b.byteOffset, HAMMER_PFS_DATA_SIZE);
  return {
    syncLowTid: u64(dv, PFSD.syncLowTid), syncBegTid: u64(dv, PFSD.syncBegTid), syncEndTid: u64(dv, PFSD.syncEndTid),
    syncBegTs: u64(dv, PFSD.syncBegTs), syncEndTs: u64(dv, PFSD.syncEndTs),
    sharedUuid: b.slice(PFSD.sharedUuid, PFSD.sharedUuid + 16), uniqueUuid: b.slice(PFSD.uniqueUuid, PFSD.uniqueUuid + 16),
    reserved01: dv.getInt32(PFSD.reserved01, LE), mirrorFlags: dv.getUint32(PFSD.mirrorFlags, LE),
    label: cstr(b, PFSD.label, 64), snapshots: cstr(b, PFSD.snapshots, 64),
    pruneMin: dv.getInt32(PFSD.pruneMin, LE), pruneMax: dv.getInt32(PFSD.pruneMax, LE),
    raw: b.slice(0, HAMMER_PFS_DATA_SIZE),
  };
}
export function encodePfsData(p: PfsData): Uint8Array {
  const b = new Uint8Array(HAMMER_PFS_DATA_SIZE);
  if (p.raw) b.set(p.raw.subarray(0, HAMMER_PFS_DATA_SIZE));
  const dv = new DataView(b.buffer);
  setU64(dv, PFSD.syncLowTid, p.syncLowTid); setU64(dv, PFSD.syncBegTid, p.syncBegTid); setU64(dv, PFSD.syncEndTid, p.syncEndTid);
  setU64(dv, PFSD.syncBegTs, p.syncBegTs); setU64(dv, PFSD.syncEndTs, p.syncEndTs);
  b.set(p.sharedUuid, PFSD.sharedUuid); b.set(p.uniqueUuid, PFSD.uniqueUuid);
  dv.setInt32(PFSD.reserved01, p.reserved01, LE); dv.setUint32(PFSD.mirrorFlags, p.mirrorFlags >>> 0, LE);
  writeLabel(b, PFSD.label, 64, p.label); writeLabel(b, PFSD.snapshots, 64, p.snapshots);
  dv.setInt32(PFSD.pruneMin, p.pruneMin, LE); dv.setInt32(PFSD.pruneMax, p.pruneMax, LE);
  return b;
}
export const isSlave = (p: PfsData) => (p.mirrorFlags & HAMMER_PFSD_SLAVE) !== 0;
export const isDeleted = (p: PfsData) => (p.mirrorFlags & HAMMER_PFSD_DELETED) !== 0;
