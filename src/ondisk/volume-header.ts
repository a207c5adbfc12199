/**
 * Volume header — struct hammer_volume_ondisk (sys/vfs/hammer/hammer_disk.h), 1928 bytes at
 * byte 0 of every volume, written as a whole 16 KiB buffer. vol0_* fields, the blockmap array
 * and the undo array are meaningful on volume 0 only. CRC: two CRCs XORed, over [0,156) and
 * [160,1928) (the vol_crc field itself excluded). newfs_hammer leaves vol_crc 0, so a bad
 * header CRC is a warning, never a refusal.
 */
import { BadFieldError, BadSignatureError, UnsupportedByteOrderError, UnsupportedVersionError, type Where } from '../errors.js';
import {
  LE, HAMMER_FSBUF_VOLUME, HAMMER_FSBUF_VOLUME_REV, HAMMER_VOLUME_HEADER_SIZE, HAMMER_MAX_ZONES,
  HAMMER_BLOCKMAP_ENTRY_SIZE, HAMMER_UNDO_LAYER2, HAMMER_VOL_VERSION_MIN, HAMMER_VOL_VERSION_WIP,
  HAMMER_MAX_VOLUMES,
} from './constants.js';
import { type CrcAlg, crcTwoPart, testCrc, type CrcVerdict, crcAlgFor } from './crc.js';
import { decodeBlockmapEntry, encodeBlockmapEntry, type BlockmapEntry } from './blockmap.js';
import { u64, i64, setU64, setI64 } from './int64.js';
import { uuidToString, HAMMER_FSTYPE_UUID } from './uuid.js';

export const VOL = {
  signature: 0, botBeg: 8, memBeg: 16, bufBeg: 24, bufEnd: 32, reserved01: 40,
  fsid: 48, fstype: 64, label: 80, volNo: 144, volCount: 148, version: 152, crc: 156,
  flags: 160, rootvol: 164, reserved: 168,
  statBigblocks: 200, statFreebigblocks: 208, reserved01b: 216, statInodes: 224, reserved02: 232,
  btreeRoot: 240, nextTid: 248, reserved03: 256, blockmap: 264, undoArray: 904,
} as const;

export interface VolumeHeader {
  signature: bigint;
  botBeg: number;
  memBeg: number;
  bufBeg: number;
  bufEnd: number;
  fsid: Uint8Array;
  fstype: Uint8Array;
  label: string;
  volNo: number;
  volCount: number;
  version: number;
  crc: number;
  flags: number;
  rootvol: number;
  statBigblocks: bigint;
  statFreebigblocks: bigint;
  statInodes: bigint;
  btreeRoot: bigint;
  nextTid: bigint;
  blockmap: BlockmapEntry[]; // 16
  undoArray: bigint[]; // 128
  /** The 1928 raw bytes as read; reserved fields come from here on encode. */
  raw: Uint8Array;
}

function readLabel(b: Uint8Array, at: number, len: number): string {
  let end = at;
  while (end < at + len && b[end] !== 0) end++;
  return Buffer.from(b.buffer, b.byteOffset + at, end - at).toString('latin1');
}
export function writeLabel(b: Uint8Array, at: number, len: number, s: string): void {
  b.fill(0, at, at + len);
  const bytes = Buffer.from(s, 'latin1');
  b.set(bytes.subarray(0, len - 1), at);
}

function numberField(v: bigint, where: Where, field: string): number {
  if (v < 0n || v > BigInt(Number.MAX_SAFE_INTEGER)) throw new BadFieldError(`${field} out of range (${v})`, { ...where, field });
  return Number(v);
}

/**
 * Decode and sanity-check a volume header. Throws BadSignatureError (not HAMMER),
 * UnsupportedByteOrderError, UnsupportedVersionError or BadFieldError; never checks the CRC
 * (see volumeHeaderCrcVerdict()).
 */
export function decodeVolumeHeader(b: Uint8Array, where: Where): VolumeHeader {
  if (b.length < HAMMER_VOLUME_HEADER_SIZE) throw new BadFieldError(`volume header truncated (${b.length} bytes)`, where);
  const dv = new DataView(b.buffer, b.byteOffset, HAMMER_VOLUME_HEADER_SIZE);
  const signature = u64(dv, VOL.signature);
  if (signature === HAMMER_FSBUF_VOLUME_REV) throw new UnsupportedByteOrderError('volume header has the byte-swapped HAMMER signature', where);
  if (signature !== HAMMER_FSBUF_VOLUME) throw new BadSignatureError('not a HAMMER volume (bad signature)', { ...where, field: 'vol_signature' });
  const version = dv.getUint32(VOL.version, LE);
  if (version < HAMMER_VOL_VERSION_MIN || version >= HAMMER_VOL_VERSION_WIP) {
    throw new UnsupportedVersionError(`unsupported HAMMER volume version ${version}`, { ...where, field: 'vol_version' });
  }
  const fstype = b.slice(VOL.fstype, VOL.fstype + 16);
  if (uuidToString(fstype) !== HAMMER_FSTYPE_UUID) throw new BadSignatureError('volume fstype is not the HAMMER UUID', { ...where, field: 'vol_fstype' });
  const h: VolumeHeader = {
    signature,
    botBeg: numberField(i64(dv, VOL.botBeg), where, 'vol_bot_beg'),
    memBeg: numberField(i64(dv, VOL.memBeg), where, 'vol_mem_beg'),
    bufBeg: numberField(i64(dv, VOL.bufBeg), where, 'vol_buf_beg'),
    bufEnd: numberField(i64(dv, VOL.bufEnd), where, 'vol_buf_end'),
    fsid: b.slice(VOL.fsid, VOL.fsid + 16),
    fstype,
    label: readLabel(b, VOL.label, 64),
    volNo: dv.getInt32(VOL.volNo, LE),
    volCount: dv.getInt32(VOL.volCount, LE),
    version,
    crc: dv.getUint32(VOL.crc, LE),
    flags: dv.getUint32(VOL.flags, LE),
    rootvol: dv.getUint32(VOL.rootvol, LE),
    statBigblocks: i64(dv, VOL.statBigblocks),
    statFreebigblocks: i64(dv, VOL.statFreebigblocks),
    statInodes: i64(dv, VOL.statInodes),
    btreeRoot: u64(dv, VOL.btreeRoot),
    nextTid: u64(dv, VOL.nextTid),
    blockmap: [],
    undoArray: [],
    raw: b.slice(0, HAMMER_VOLUME_HEADER_SIZE),
  };
  for (let z = 0; z < HAMMER_MAX_ZONES; z++) h.blockmap.push(decodeBlockmapEntry(dv, VOL.blockmap + z * HAMMER_BLOCKMAP_ENTRY_SIZE));
  for (let i = 0; i < HAMMER_UNDO_LAYER2; i++) h.undoArray.push(u64(dv, VOL.undoArray + i * 8));
  if (h.volNo < 0 || h.volNo >= HAMMER_MAX_VOLUMES) throw new BadFieldError(`vol_no ${h.volNo} out of range`, { ...where, field: 'vol_no' });
  if (h.volCount < 1 || h.volCount > HAMMER_MAX_VOLUMES) throw new BadFieldError(`vol_count ${h.volCount} out of range`, { ...where, field: 'vol_count' });
  if (h.volNo >= h.volCount) throw new BadFieldError(`vol_no ${h.volNo} not below vol_count ${h.volCount}`, { ...where, field: 'vol_no' });
  if (h.rootvol !== 0) throw new BadFieldError(`vol_rootvol ${h.rootvol} (must be 0)`, { ...where, field: 'vol_rootvol' });
  if (!(h.botBeg <= h.memBeg && h.memBeg <= h.bufBeg && h.bufBeg <= h.bufEnd)) {
    throw new BadFieldError('volume regions out of order (bot <= mem <= buf_beg <= buf_end)', { ...where, field: 'vol_buf_beg' });
  }
  if (h.bufBeg % 16384 !== 0 || h.bufEnd % 16384 !== 0) throw new BadFieldError('vol_buf_beg/vol_buf_end not 16 KiB aligned', { ...where, field: 'vol_buf_beg' });
  return h;
}

/** Encode into a 1928-byte array (reserved bytes from `h.raw`). CRC is written as given. */
export function encodeVolumeHeader(h: VolumeHeader, out?: Uint8Array): Uint8Array {
  const b = out ?? new Uint8Array(HAMMER_VOLUME_HEADER_SIZE);
  if (h.raw && h.raw !== b) b.set(h.raw.subarray(0, HAMMER_VOLUME_HEADER_SIZE));
  const dv = new DataView(b.buffer, b.byteOffset, HAMMER_VOLUME_HEADER_SIZE);
  setU64(dv, VOL.signature, h.signature);
  setI64(dv, VOL.botBeg, BigInt(h.botBeg));
  setI64(dv, VOL.memBeg, BigInt(h.memBeg));
  setI64(dv, VOL.bufBeg, BigInt(h.bufBeg));
  setI64(dv, VOL.bufEnd, BigInt(h.bufEnd));
  b.set(h.fsid, VOL.fsid);
  b.set(h.fstype, VOL.fstype);
  writeLabel(b, VOL.label, 64, h.label);
  dv.setInt32(VOL.volNo, h.volNo, LE);
  dv.setInt32(VOL.volCount, h.volCount, LE);
  dv.setUint32(VOL.version, h.version, LE);
  dv.setUint32(VOL.crc, h.crc, LE);
  dv.setUint32(VOL.flags, h.flags, LE);
  dv.setUint32(VOL.rootvol, h.rootvol, LE);
  setI64(dv, VOL.statBigblocks, h.statBigblocks);
  setI64(dv, VOL.statFreebigblocks, h.statFreebigblocks);
  setI64(dv, VOL.statInodes, h.statInodes);
  setU64(dv, VOL.btreeRoot, h.btreeRoot);
  setU64(dv, VOL.nextTid, h.nextTid);
  for (let z = 0; z < HAMMER_MAX_ZONES; z++) encodeBlockmapEntry(h.blockmap[z], dv, VOL.blockmap + z * HAMMER_BLOCKMAP_ENTRY_SIZE);
  for (let i = 0; i < HAMMER_UNDO_LAYER2; i++) setU64(dv, VOL.undoArray + i * 8, h.undoArray[i]);
  return b;
}

export function volumeHeaderCrc(b: Uint8Array, alg: CrcAlg): number {
  return crcTwoPart(alg, b, 0, VOL.crc, VOL.crc + 4, HAMMER_VOLUME_HEADER_SIZE);
}
/** Recompute vol_crc with the version's algorithm, in place, on encoded bytes. */
export function sealVolumeHeader(b: Uint8Array, version: number): number {
  const crc = volumeHeaderCrc(b, crcAlgFor(version));
  new DataView(b.buffer, b.byteOffset, HAMMER_VOLUME_HEADER_SIZE).setUint32(VOL.crc, crc, LE);
  return crc;
}
export function volumeHeaderCrcVerdict(h: VolumeHeader): CrcVerdict {
  return testCrc(h.version, h.crc, (alg) => volumeHeaderCrc(h.raw, alg));
}
