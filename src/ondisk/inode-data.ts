/**
 * Inode payload — struct hammer_inode_data (hammer_disk.h), 128 bytes. data_crc covers only
 * [0,112): mtime @70 and atime @78 are updated in place without changing the CRC.
 */
import { BadFieldError, type Where } from '../errors.js';
import { LE, HAMMER_INODE_DATA_SIZE, HAMMER_INODE_CRCSIZE, HAMMER_INODE_BASESYMLEN } from './constants.js';
import { crcFn, crcAlgFor, testCrc, type CrcVerdict } from './crc.js';
import { u64, i64, setU64, setI64 } from './int64.js';
import { uuidToId, idToUuid } from './uuid.js';

export const INO = {
  version: 0x00, mode: 0x02, uflags: 0x04, rmajor: 0x08, rminor: 0x0c, ctime: 0x10, parentObjId: 0x18,
  uid: 0x20, gid: 0x30, objType: 0x40, capFlags: 0x41, reserved01: 0x42, reserved02: 0x44, nlinks: 0x48,
  size: 0x50, ext: 0x58, mtime: 0x70, atime: 0x78,
} as const;

export interface InodeData {
  version: number;
  mode: number;
  uflags: number;
  rmajor: number;
  rminor: number;
  ctime: bigint; // µs
  parentObjId: bigint;
  uid: Uint8Array; // uuid bytes
  gid: Uint8Array;
  objType: number;
  capFlags: number;
  reserved01: number;
  reserved02: number;
  nlinks: bigint;
  size: bigint;
  ext: Uint8Array; // 24 bytes: inline symlink target
  mtime: bigint;
  atime: bigint;
}

export function decodeInodeData(b: Uint8Array, where: Where): InodeData {
  if (b.length < HAMMER_INODE_DATA_SIZE) throw new BadFieldError(`inode data is ${b.length} bytes, expected 128`, where);
  const dv = new DataView(b.buffer, b.byteOffset, HAMMER_INODE_DATA_SIZE);
  return {
    version: dv.getUint16(INO.version, LE), mode: dv.getUint16(INO.mode, LE), uflags: dv.getUint32(INO.uflags, LE),
    rmajor: dv.getUint32(INO.rmajor, LE), rminor: dv.getUint32(INO.rminor, LE), ctime: u64(dv, INO.ctime),
    parentObjId: i64(dv, INO.parentObjId), uid: b.slice(INO.uid, INO.uid + 16), gid: b.slice(INO.gid, INO.gid + 16),
    objType: dv.getUint8(INO.objType), capFlags: dv.getUint8(INO.capFlags), reserved01: dv.getUint16(INO.reserved01, LE),
    reserved02: dv.getUint32(INO.reserved02, LE), nlinks: u64(dv, INO.nlinks), size: u64(dv, INO.size),
    ext: b.slice(INO.ext, INO.ext + HAMMER_INODE_BASESYMLEN), mtime: u64(dv, INO.mtime), atime: u64(dv, INO.atime),
  };
}
export function encodeInodeData(d: InodeData): Uint8Array {
  const b = new Uint8Array(HAMMER_INODE_DATA_SIZE);
  const dv = new DataView(b.buffer);
  dv.setUint16(INO.version, d.version, LE); dv.setUint16(INO.mode, d.mode, LE); dv.setUint32(INO.uflags, d.uflags >>> 0, LE);
  dv.setUint32(INO.rmajor, d.rmajor >>> 0, LE); dv.setUint32(INO.rminor, d.rminor >>> 0, LE); setU64(dv, INO.ctime, d.ctime);
  setI64(dv, INO.parentObjId, d.parentObjId); b.set(d.uid, INO.uid); b.set(d.gid, INO.gid);
  dv.setUint8(INO.objType, d.objType); dv.setUint8(INO.capFlags, d.capFlags); dv.setUint16(INO.reserved01, d.reserved01, LE);
  dv.setUint32(INO.reserved02, d.reserved02 >>> 0, LE); setU64(dv, INO.nlinks, d.nlinks); setU64(dv, INO.size, d.size);
  b.set(d.ext.subarray(0, HAMMER_INODE_BASESYMLEN), INO.ext); setU64(dv, INO.mtime, d.mtime); setU64(dv, INO.atime, d.atime);
  return b;
}
export const inodeUid = (d: InodeData) => uuidToId(d.uid);
export const inodeGid = (d: InodeData) => uuidToId(d.gid);
export { idToUuid };

/** Leaf data CRC of an INODE payload (first 112 bytes only). */
export function inodeDataCrc(b: Uint8Array, version: number): number {
  return crcFn(crcAlgFor(version))(b.subarray(0, HAMMER_INODE_CRCSIZE));
}

/**
 * Leaf data CRC rule for any record: INODE covers [0,112), everything else [0,data_len);
 * data_len 0 gives CRC 0. `recType` picks the rule.
 */
export function recordDataCrcVerdict(recType: number, data: Uint8Array, stored: number, version: number): CrcVerdict {
  if (data.length === 0) return stored === 0 ? (version >= 7 ? 'crc32c' : 'crc32') : null;
  const covered = recType === 0x0001 ? data.subarray(0, Math.min(HAMMER_INODE_CRCSIZE, data.length)) : data;
  return testCrc(version, stored, (alg) => crcFn(alg)(covered));
}
export function recordDataCrc(recType: number, data: Uint8Array, version: number): number {
  if (data.length === 0) return 0;
  const covered = recType === 0x0001 ? data.subarray(0, HAMMER_INODE_CRCSIZE) : data;
  return crcFn(crcAlgFor(version))(covered);
}
