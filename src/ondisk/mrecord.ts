/**
 * Mirror stream records — union hammer_ioc_mrecord_any (sys/vfs/hammer/hammer_ioctl.h), the unit of
 * `hammer mirror-read` / `mirror-write` streams (spec/MIRROR.md §b).
 *
 * Every record starts with a 16-byte head (struct hammer_ioc_mrecord_head):
 *   00 u32 signature  HAMMER_IOC_MIRROR_SIGNATURE 0x4DD97272 (bytes 72 72 D9 4D)
 *   04 u32 rec_crc    CRC-32 (IEEE, never CRC-32C, whatever the volume version) over [8, rec_size)
 *   08 u32 rec_size   unpadded length including the head
 *   0C u32 type       base type in the low 8 bits, HAMMER_MRECF_* flags in the top 4
 * and the next record starts at round_up(rec_size, 8) (HAMMER_HEAD_DOALIGN). Pad bytes are
 * undefined on the wire (the kernel does not clear them): written as zeros, ignored on read.
 *
 * Bodies after the head:
 *   REC   (1) leaf element @10 (64) + payload @50         rec_size 80 + payload
 *   PFSD  (2) u32 version @10, u32 reserved @14, pfsd @18   rec_size 316 exactly
 *   UPDATE(3) u64 tid @10                                 rec_size 24
 *   SYNC  (4), TERM (7), IDLE (8): none                   rec_size 16
 *   SKIP  (5) skip_beg base elm @10, skip_end @38         rec_size 96
 *   PASS  (6) leaf element @10, never a payload           rec_size 80
 *
 * Decoding keeps every bit that a re-encode needs (reserved PFSD word, unknown-but-legal flag
 * bits, payload bytes past data_len), so encode(decode(x)) == x for any record whose pad is zero.
 */
import * as zlib from 'node:zlib';
import { MirrorStreamError, UnsupportedByteOrderError, type Where } from '../errors.js';
import {
  LE, HAMMER_IOC_MIRROR_SIGNATURE, HAMMER_IOC_MIRROR_SIGNATURE_REV, HAMMER_MREC_HEADSIZE, HAMMER_MREC_MAX_SIZE,
  HAMMER_MREC_TYPE_REC, HAMMER_MREC_TYPE_PFSD, HAMMER_MREC_TYPE_UPDATE, HAMMER_MREC_TYPE_SYNC,
  HAMMER_MREC_TYPE_SKIP, HAMMER_MREC_TYPE_PASS, HAMMER_MREC_TYPE_TERM, HAMMER_MREC_TYPE_IDLE,
  HAMMER_MRECF_CRC_ERROR, HAMMER_MRECF_DATA_CRC_BAD, HAMMER_MRECF_RECD_CRC_BAD, HAMMER_MRECF_NODATA,
  HAMMER_MRECF_TYPE_LOMASK, HAMMER_PFS_DATA_SIZE, HAMMER_XBUFSIZE, HAMMER_BTREE_ELM_SIZE,
} from './constants.js';
import { crc32 } from './crc.js';
import { u64, setU64 } from './int64.js';
import {
  decodeBaseElm, encodeBaseElm, decodeLeafElm, encodeLeafElm, type BaseElm, type LeafElm,
} from './btree-elm.js';

export const MREC = { signature: 0x00, recCrc: 0x04, recSize: 0x08, type: 0x0c, body: 0x10 } as const;
/** Body offsets (absolute, from the start of the record). */
export const MREC_REC = { leaf: 0x10, payload: 0x50 } as const;
export const MREC_PFSD = { version: 0x10, reserved: 0x14, pfsd: 0x18 } as const;
export const MREC_UPDATE = { tid: 0x10 } as const;
export const MREC_SKIP = { skipBeg: 0x10, skipEnd: 0x38 } as const;

export const HAMMER_HEAD_ALIGN = 8;
/** rec_size of each fixed-size record type (REC: the minimum, without payload). */
export const MREC_REC_HEAD_SIZE = HAMMER_MREC_HEADSIZE + HAMMER_BTREE_ELM_SIZE; // 80
export const MREC_PASS_SIZE = MREC_REC_HEAD_SIZE; // 80
export const MREC_PFSD_SIZE = HAMMER_MREC_HEADSIZE + 8 + HAMMER_PFS_DATA_SIZE; // 316
export const MREC_UPDATE_SIZE = HAMMER_MREC_HEADSIZE + 8; // 24
export const MREC_SKIP_SIZE = HAMMER_MREC_HEADSIZE + 2 * 40; // 96
export const MREC_BARE_SIZE = HAMMER_MREC_HEADSIZE; // SYNC, TERM, IDLE
/** Largest padded record: what a stream reader must be able to hold at once. */
export const MREC_MAX_PADDED = headDoAlign(HAMMER_MREC_MAX_SIZE);
/** PFSD version this code writes and the target side requires (mirror-write checks it). */
export const MREC_PFSD_VERSION = 1;

/** Flag bits a record may carry; anything else in bits 8..27 makes the type unknown. */
const KNOWN_FLAGS = (HAMMER_MRECF_CRC_ERROR | HAMMER_MRECF_DATA_CRC_BAD | HAMMER_MRECF_RECD_CRC_BAD | HAMMER_MRECF_NODATA) >>> 0;

/** HAMMER_HEAD_DOALIGN(): records are laid end to end on 8-byte boundaries. */
export function headDoAlign(n: number): number {
  return (n + (HAMMER_HEAD_ALIGN - 1)) & ~(HAMMER_HEAD_ALIGN - 1);
}

export type MRecordType =
  | typeof HAMMER_MREC_TYPE_REC | typeof HAMMER_MREC_TYPE_PFSD | typeof HAMMER_MREC_TYPE_UPDATE
  | typeof HAMMER_MREC_TYPE_SYNC | typeof HAMMER_MREC_TYPE_SKIP | typeof HAMMER_MREC_TYPE_PASS
  | typeof HAMMER_MREC_TYPE_TERM | typeof HAMMER_MREC_TYPE_IDLE;

export const MREC_TYPE_NAMES: Record<MRecordType, string> = {
  1: 'REC', 2: 'PFSD', 3: 'UPDATE', 4: 'SYNC', 5: 'SKIP', 6: 'PASS', 7: 'TERM', 8: 'IDLE',
};

export interface MirrorRecordHead {
  signature: number;
  recCrc: number;
  recSize: number;
  /** Raw type word: base type | flags. */
  type: number;
}

/** REC: a B-Tree leaf and its payload. `payload` is every byte in [80, rec_size), normally data_len bytes. */
export interface MRecRec {
  type: typeof HAMMER_MREC_TYPE_REC;
  flags: number;
  leaf: LeafElm;
  payload: Uint8Array;
}
export interface MRecPfsd {
  type: typeof HAMMER_MREC_TYPE_PFSD;
  flags: number;
  version: number;
  reserved: number;
  /** The 292 raw bytes of hammer_pseudofs_data (decode with decodePfsData). */
  pfsd: Uint8Array;
}
export interface MRecUpdate {
  type: typeof HAMMER_MREC_TYPE_UPDATE;
  flags: number;
  tid: bigint;
}
export interface MRecSkip {
  type: typeof HAMMER_MREC_TYPE_SKIP;
  flags: number;
  skipBeg: BaseElm;
  skipEnd: BaseElm;
}
export interface MRecPass {
  type: typeof HAMMER_MREC_TYPE_PASS;
  flags: number;
  leaf: LeafElm;
}
export interface MRecBare {
  type: typeof HAMMER_MREC_TYPE_SYNC | typeof HAMMER_MREC_TYPE_TERM | typeof HAMMER_MREC_TYPE_IDLE;
  flags: number;
}
export type MRecord = MRecRec | MRecPfsd | MRecUpdate | MRecSkip | MRecPass | MRecBare;
/** The records MIRROR_READ produces and MIRROR_WRITE consumes. */
export type MRecBulk = MRecRec | MRecPass | MRecSkip;

/** rec_crc: CRC-32 (IEEE) of [at+8, at+recSize). Uses zlib's native CRC-32 where Node has it (>= 20.15): ~6x the JS table version. */
const nativeCrc32 = (zlib as unknown as { crc32?: (b: Uint8Array, v?: number) => number }).crc32;
export function mrecordCrc(bytes: Uint8Array, at: number, recSize: number): number {
  const s = bytes.subarray(at + MREC.recSize, at + recSize);
  return nativeCrc32 ? nativeCrc32(s) >>> 0 : crc32(s);
}

export function decodeMRecordHead(dv: DataView, at: number): MirrorRecordHead {
  return {
    signature: dv.getUint32(at + MREC.signature, LE), recCrc: dv.getUint32(at + MREC.recCrc, LE),
    recSize: dv.getUint32(at + MREC.recSize, LE), type: dv.getUint32(at + MREC.type, LE),
  };
}

const hex8 = (n: number) => (n >>> 0).toString(16).padStart(8, '0');

function streamWhere(pos: number, field?: string, index?: number): Where {
  const w: Where = { structure: 'mirror record', streamPos: pos };
  if (index !== undefined) w.index = index;
  if (field) w.field = field;
  return w;
}

/**
 * Check a head on its own (signature and rec_size bounds): what a reader needs before it can know
 * how many bytes the record occupies. `pos` is the record's byte offset in the stream.
 * Throws UnsupportedByteOrderError for a byte-swapped signature (a stream from a big-endian
 * host), MirrorStreamError (field signature / rec_size) otherwise.
 */
export function checkMRecordHead(dv: DataView, at: number, pos: number): number {
  const sig = dv.getUint32(at + MREC.signature, LE);
  if (sig !== HAMMER_IOC_MIRROR_SIGNATURE) {
    if (sig === HAMMER_IOC_MIRROR_SIGNATURE_REV) {
      throw new UnsupportedByteOrderError('mirror stream is byte-swapped (written on a big-endian host); not supported', streamWhere(pos, 'signature'));
    }
    throw new MirrorStreamError(`bad record signature 0x${hex8(sig)}, expected 0x${hex8(HAMMER_IOC_MIRROR_SIGNATURE)} (not a HAMMER mirror stream, or out of step)`, streamWhere(pos, 'signature'));
  }
  const recSize = dv.getUint32(at + MREC.recSize, LE);
  if (recSize < HAMMER_MREC_HEADSIZE || recSize > HAMMER_MREC_MAX_SIZE) {
    throw new MirrorStreamError(`rec_size ${recSize} out of range ${HAMMER_MREC_HEADSIZE}..${HAMMER_MREC_MAX_SIZE}`, streamWhere(pos, 'rec_size'));
  }
  return recSize;
}

/** Fixed rec_size of a type, or -1 for REC (variable). */
function fixedSize(t: number): number {
  switch (t) {
    case HAMMER_MREC_TYPE_PFSD: return MREC_PFSD_SIZE;
    case HAMMER_MREC_TYPE_UPDATE: return MREC_UPDATE_SIZE;
    case HAMMER_MREC_TYPE_SKIP: return MREC_SKIP_SIZE;
    case HAMMER_MREC_TYPE_PASS: return MREC_PASS_SIZE;
    case HAMMER_MREC_TYPE_SYNC: case HAMMER_MREC_TYPE_TERM: case HAMMER_MREC_TYPE_IDLE: return MREC_BARE_SIZE;
    default: return -1;
  }
}

export interface DecodeMRecordOptions {
  /** Verify rec_crc (default true). With false the caller checks it (mrecordCrc) and decides. */
  checkCrc?: boolean;
}

/**
 * Decode and validate the record at `at` (the head already passed checkMRecordHead and the
 * buffer holds at least rec_size bytes). Checks, in this order: rec_crc, type (known base type,
 * only defined flag bits, flags only on REC), size for the type, and for REC the leaf's data_len
 * against rec_size (as lh1 read_mrecords(): 80 + data_len <= rec_size; skipped for CRC_ERROR
 * records, which pass through untouched, and for NODATA records, which carry no payload by
 * definition). Errors are MirrorStreamError with `pos` and the offending field.
 *
 * The result's byte fields (payload, pfsd) are views into `dv`'s buffer: copy them to keep them.
 */
export function decodeMRecord(dv: DataView, at: number, pos: number, o: DecodeMRecordOptions = {}): MRecord {
  const recSize = checkMRecordHead(dv, at, pos);
  const bytes = new Uint8Array(dv.buffer, dv.byteOffset, dv.byteLength);
  if (o.checkCrc !== false) {
    const stored = dv.getUint32(at + MREC.recCrc, LE);
    const actual = mrecordCrc(bytes, at, recSize);
    if (stored !== actual) {
      throw new MirrorStreamError(`record CRC mismatch: stored 0x${hex8(stored)}, computed 0x${hex8(actual)}`, streamWhere(pos, 'rec_crc'));
    }
  }
  const typeWord = dv.getUint32(at + MREC.type, LE);
  const t = typeWord & HAMMER_MRECF_TYPE_LOMASK;
  const flags = (typeWord & ~HAMMER_MRECF_TYPE_LOMASK) >>> 0;
  if ((flags & ~KNOWN_FLAGS) !== 0 || t < HAMMER_MREC_TYPE_REC || t > HAMMER_MREC_TYPE_IDLE) {
    throw new MirrorStreamError(`unknown record type 0x${hex8(typeWord)}`, streamWhere(pos, 'type'));
  }
  if (t !== HAMMER_MREC_TYPE_REC && flags !== 0) {
    throw new MirrorStreamError(`${MREC_TYPE_NAMES[t as MRecordType]} record with flags 0x${hex8(flags)} (only REC records carry flags)`, streamWhere(pos, 'type'));
  }
  const want = fixedSize(t);
  if (want >= 0 && recSize !== want) {
    throw new MirrorStreamError(`${MREC_TYPE_NAMES[t as MRecordType]} record has rec_size ${recSize}, must be ${want}`, streamWhere(pos, 'rec_size'));
  }
  switch (t) {
    case HAMMER_MREC_TYPE_REC: {
      if (recSize < MREC_REC_HEAD_SIZE) throw new MirrorStreamError(`REC record has rec_size ${recSize}, below ${MREC_REC_HEAD_SIZE}`, streamWhere(pos, 'rec_size'));
      const leaf = decodeLeafElm(dv, at + MREC_REC.leaf);
      if ((flags & (HAMMER_MRECF_CRC_ERROR | HAMMER_MRECF_NODATA)) === 0) {
        if (leaf.dataLen < 0 || leaf.dataLen > HAMMER_XBUFSIZE) {
          throw new MirrorStreamError(`REC leaf data_len ${leaf.dataLen} out of range 0..${HAMMER_XBUFSIZE}`, streamWhere(pos, 'data_len'));
        }
        if (MREC_REC_HEAD_SIZE + leaf.dataLen > recSize) {
          throw new MirrorStreamError(`REC record of ${recSize} bytes cannot hold its leaf's data_len ${leaf.dataLen}`, streamWhere(pos, 'data_len'));
        }
      }
      return { type: t, flags, leaf, payload: bytes.subarray(at + MREC_REC.payload, at + recSize) };
    }
    case HAMMER_MREC_TYPE_PASS:
      return { type: t, flags, leaf: decodeLeafElm(dv, at + MREC_REC.leaf) };
    case HAMMER_MREC_TYPE_PFSD:
      return {
        type: t, flags, version: dv.getUint32(at + MREC_PFSD.version, LE), reserved: dv.getUint32(at + MREC_PFSD.reserved, LE),
        pfsd: bytes.subarray(at + MREC_PFSD.pfsd, at + MREC_PFSD.pfsd + HAMMER_PFS_DATA_SIZE),
      };
    case HAMMER_MREC_TYPE_UPDATE:
      return { type: t, flags, tid: u64(dv, at + MREC_UPDATE.tid) };
    case HAMMER_MREC_TYPE_SKIP:
      return { type: t, flags, skipBeg: decodeBaseElm(dv, at + MREC_SKIP.skipBeg), skipEnd: decodeBaseElm(dv, at + MREC_SKIP.skipEnd) };
    default:
      return { type: t as MRecBare['type'], flags };
  }
}

/** rec_size a record encodes to (unpadded). */
export function mrecordSize(r: MRecord): number {
  return r.type === HAMMER_MREC_TYPE_REC ? MREC_REC_HEAD_SIZE + r.payload.length : fixedSize(r.type);
}

/** Write head fields (signature, rec_size, type) — the CRC comes last, from sealMRecord(). */
export function writeMRecordHead(dv: DataView, at: number, recSize: number, typeWord: number): void {
  dv.setUint32(at + MREC.signature, HAMMER_IOC_MIRROR_SIGNATURE, LE);
  dv.setUint32(at + MREC.recCrc, 0, LE);
  dv.setUint32(at + MREC.recSize, recSize, LE);
  dv.setUint32(at + MREC.type, typeWord >>> 0, LE);
}

/** Zero the pad after rec_size and store rec_crc. Returns the padded length. */
export function sealMRecord(bytes: Uint8Array, dv: DataView, at: number, recSize: number): number {
  const padded = headDoAlign(recSize);
  bytes.fill(0, at + recSize, at + padded);
  dv.setUint32(at + MREC.recCrc, mrecordCrc(bytes, at, recSize), LE);
  return padded;
}

/**
 * Encode a record into `bytes` at `at` (room for the padded size required). Returns the padded
 * length. The CRC is computed; pad bytes are zero.
 */
export function encodeMRecordInto(r: MRecord, bytes: Uint8Array, dv: DataView, at: number): number {
  const recSize = mrecordSize(r);
  bytes.fill(0, at, at + recSize);
  writeMRecordHead(dv, at, recSize, (r.type | r.flags) >>> 0);
  switch (r.type) {
    case HAMMER_MREC_TYPE_REC:
      encodeLeafElm(r.leaf, dv, at + MREC_REC.leaf);
      bytes.set(r.payload, at + MREC_REC.payload);
      break;
    case HAMMER_MREC_TYPE_PASS:
      encodeLeafElm(r.leaf, dv, at + MREC_REC.leaf);
      break;
    case HAMMER_MREC_TYPE_PFSD:
      dv.setUint32(at + MREC_PFSD.version, r.version >>> 0, LE);
      dv.setUint32(at + MREC_PFSD.reserved, r.reserved >>> 0, LE);
      bytes.set(r.pfsd.subarray(0, HAMMER_PFS_DATA_SIZE), at + MREC_PFSD.pfsd);
      break;
    case HAMMER_MREC_TYPE_UPDATE:
      setU64(dv, at + MREC_UPDATE.tid, r.tid);
      break;
    case HAMMER_MREC_TYPE_SKIP:
      encodeBaseElm(r.skipBeg, dv, at + MREC_SKIP.skipBeg);
      encodeBaseElm(r.skipEnd, dv, at + MREC_SKIP.skipEnd);
      break;
    default:
      break;
  }
  return sealMRecord(bytes, dv, at, recSize);
}

/** Encode one record into a new padded byte array. */
export function encodeMRecord(r: MRecord): Uint8Array {
  const b = new Uint8Array(headDoAlign(mrecordSize(r)));
  encodeMRecordInto(r, b, new DataView(b.buffer), 0);
  return b;
}

/** Base type of a raw type word. */
export const mrecBaseType = (typeWord: number): number => typeWord & HAMMER_MRECF_TYPE_LOMASK;
export const isBulkType = (t: number): boolean =>
  t === HAMMER_MREC_TYPE_REC || t === HAMMER_MREC_TYPE_PASS || t === HAMMER_MREC_TYPE_SKIP;

/** Key (first 40 bytes) of the element a REC/PASS carries or a SKIP starts at, for ordering checks. */
export function mrecordKey(r: MRecBulk): BaseElm {
  return r.type === HAMMER_MREC_TYPE_SKIP ? r.skipBeg : r.leaf;
}
