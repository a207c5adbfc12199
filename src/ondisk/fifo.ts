/**
 * UNDO/REDO FIFO records (hammer_disk.h): struct hammer_fifo_head (16 bytes: signature 0xC84E,
 * type, size, seq, crc), struct hammer_fifo_tail (8 bytes: 0xC74F, type, size) at the record's
 * end, and the UNDO (32-byte head) and REDO (56-byte head) layouts. CRC = CRC(head[0,12)) XOR
 * CRC(record[16,size)); PAD records carry none. From version 4 a record never crosses a
 * 512-byte boundary and every 512-byte sector starts with a record that has a sequence number.
 */
import { BadFieldError, type Where } from '../errors.js';
import {
  LE, HAMMER_HEAD_SIGNATURE, HAMMER_TAIL_SIGNATURE, HAMMER_HEAD_TYPE_PAD, HAMMER_HEAD_TYPE_DUMMY,
  HAMMER_HEAD_TYPE_UNDO, HAMMER_HEAD_TYPE_REDO, HAMMER_FIFO_HEAD_SIZE, HAMMER_FIFO_TAIL_SIZE,
  HAMMER_FIFO_UNDO_HEAD_SIZE, HAMMER_FIFO_REDO_HEAD_SIZE, HAMMER_UNDO_ALIGN,
} from './constants.js';
import { crcFn, crcAlgFor, testCrc, type CrcAlg, type CrcVerdict } from './crc.js';
import { u64, i64, setU64, setI64 } from './int64.js';

export const FIFO_TYPE_NAMES: Record<number, string> = {
  [HAMMER_HEAD_TYPE_PAD]: 'PAD', [HAMMER_HEAD_TYPE_DUMMY]: 'DUMMY', [HAMMER_HEAD_TYPE_UNDO]: 'UNDO', [HAMMER_HEAD_TYPE_REDO]: 'REDO',
};

export interface FifoHead {
  signature: number;
  type: number;
  size: number;
  seq: number;
  crc: number;
}
export interface FifoTail {
  signature: number;
  type: number;
  size: number;
}
export function decodeFifoHead(dv: DataView, at: number): FifoHead {
  return {
    signature: dv.getUint16(at, LE), type: dv.getUint16(at + 2, LE), size: dv.getUint32(at + 4, LE),
    seq: dv.getUint32(at + 8, LE), crc: dv.getUint32(at + 12, LE),
  };
}
export function decodeFifoTail(dv: DataView, at: number): FifoTail {
  return { signature: dv.getUint16(at, LE), type: dv.getUint16(at + 2, LE), size: dv.getUint32(at + 4, LE) };
}

/** CRC of a whole record laid out in `rec` (rec.length === hdr_size). */
export function fifoRecordCrc(rec: Uint8Array, alg: CrcAlg): number {
  const f = crcFn(alg);
  return (f(rec.subarray(0, 12)) ^ f(rec.subarray(16, rec.length))) >>> 0;
}
export function fifoRecordCrcVerdict(rec: Uint8Array, version: number): CrcVerdict {
  const stored = new DataView(rec.buffer, rec.byteOffset, 16).getUint32(12, LE);
  return testCrc(version, stored, (alg) => fifoRecordCrc(rec, alg));
}

export interface UndoRecord {
  head: FifoHead;
  undoOffset: bigint; // zone-2 (or zone-1 for volume-header bytes)
  dataBytes: number;
  reserved01: number;
  payload: Uint8Array;
}
export interface RedoRecord {
  head: FifoHead;
  objId: bigint;
  offset: bigint;
  dataBytes: number;
  flags: number;
  localization: number;
  reserved01: number;
  reserved02: bigint;
  payload: Uint8Array;
}
export type FifoRecord =
  | { kind: 'pad'; head: FifoHead }
  | { kind: 'dummy'; head: FifoHead }
  | { kind: 'undo'; head: FifoHead; undo: UndoRecord }
  | { kind: 'redo'; head: FifoHead; redo: RedoRecord };

/**
 * Structural check of a record at `at` (within one buffer view `b`), as the recovery scan does:
 * signature, size (>= 8, multiple of 8, inside the 16 KiB buffer), tail agreement, CRC, and the
 * per-type minimum sizes. Returns a problem description or null.
 */
export function fifoRecordProblem(b: Uint8Array, at: number, bufLimit: number, version: number): string | null {
  const dv = new DataView(b.buffer, b.byteOffset, b.length);
  if (at + HAMMER_FIFO_TAIL_SIZE > bufLimit) return 'record head past the buffer end';
  const sig = dv.getUint16(at, LE), type = dv.getUint16(at + 2, LE), size = dv.getUint32(at + 4, LE);
  if (sig !== HAMMER_HEAD_SIGNATURE) return `bad head signature 0x${sig.toString(16)}`;
  if (size < 8 || size % 8 !== 0) return `illegal size ${size}`;
  if (at + size > bufLimit) return `size ${size} crosses the buffer`;
  if (type === HAMMER_HEAD_TYPE_PAD && size === 8) return null;
  const t = decodeFifoTail(dv, at + size - HAMMER_FIFO_TAIL_SIZE);
  if (t.signature !== HAMMER_TAIL_SIGNATURE) return `bad tail signature 0x${t.signature.toString(16)}`;
  if (t.type !== type || t.size !== size) return 'tail does not match head';
  if (type === HAMMER_HEAD_TYPE_PAD) return null;
  if (size < 24) return `size ${size} too small for a ${FIFO_TYPE_NAMES[type] ?? 'record'}`;
  if (fifoRecordCrcVerdict(b.subarray(at, at + size), version) === null) return 'record CRC mismatch';
  if (type === HAMMER_HEAD_TYPE_UNDO) {
    if (size < HAMMER_FIFO_UNDO_HEAD_SIZE + HAMMER_FIFO_TAIL_SIZE) return 'UNDO record too small';
    const n = dv.getInt32(at + 24, LE);
    if (n < 0 || n > size - HAMMER_FIFO_UNDO_HEAD_SIZE - HAMMER_FIFO_TAIL_SIZE) return `UNDO data_bytes ${n} exceeds the record`;
  } else if (type === HAMMER_HEAD_TYPE_REDO) {
    if (size < HAMMER_FIFO_REDO_HEAD_SIZE + HAMMER_FIFO_TAIL_SIZE) return 'REDO record too small';
  } else if (type !== HAMMER_HEAD_TYPE_DUMMY) return `unknown record type 0x${type.toString(16)}`;
  return null;
}

/** Decode a record already validated with fifoRecordProblem(). */
export function decodeFifoRecord(b: Uint8Array, at: number, where: Where): FifoRecord {
  const dv = new DataView(b.buffer, b.byteOffset, b.length);
  // An 8-byte PAD is head-only: there is no seq/crc to read (it may end its buffer).
  if (dv.getUint16(at + 2, LE) === HAMMER_HEAD_TYPE_PAD && dv.getUint32(at + 4, LE) === 8) {
    return { kind: 'pad', head: { signature: dv.getUint16(at, LE), type: HAMMER_HEAD_TYPE_PAD, size: 8, seq: 0, crc: 0 } };
  }
  const head = decodeFifoHead(dv, at);
  switch (head.type) {
    case HAMMER_HEAD_TYPE_PAD: return { kind: 'pad', head };
    case HAMMER_HEAD_TYPE_DUMMY: return { kind: 'dummy', head };
    case HAMMER_HEAD_TYPE_UNDO: {
      const n = dv.getInt32(at + 24, LE);
      return {
        kind: 'undo', head,
        undo: { head, undoOffset: u64(dv, at + 16), dataBytes: n, reserved01: dv.getInt32(at + 28, LE), payload: b.slice(at + 32, at + 32 + n) },
      };
    }
    case HAMMER_HEAD_TYPE_REDO: {
      const n = dv.getInt32(at + 32, LE);
      const avail = Math.max(0, head.size - HAMMER_FIFO_REDO_HEAD_SIZE - HAMMER_FIFO_TAIL_SIZE);
      return {
        kind: 'redo', head,
        redo: {
          head, objId: i64(dv, at + 16), offset: u64(dv, at + 24), dataBytes: n, flags: dv.getUint32(at + 36, LE),
          localization: dv.getUint32(at + 40, LE), reserved01: dv.getUint32(at + 44, LE), reserved02: u64(dv, at + 48),
          payload: b.slice(at + 56, at + 56 + Math.min(Math.max(n, 0), avail)),
        },
      };
    }
    default:
      throw new BadFieldError(`unknown FIFO record type 0x${head.type.toString(16)}`, where);
  }
}

function finish(rec: Uint8Array, type: number, seq: number, version: number | null): Uint8Array {
  const dv = new DataView(rec.buffer, rec.byteOffset, rec.length);
  const size = rec.length;
  dv.setUint16(0, HAMMER_HEAD_SIGNATURE, LE); dv.setUint16(2, type, LE); dv.setUint32(4, size, LE);
  dv.setUint32(8, seq >>> 0, LE);
  if (size > 8) {
    dv.setUint16(size - 8, HAMMER_TAIL_SIGNATURE, LE); dv.setUint16(size - 6, type, LE); dv.setUint32(size - 4, size, LE);
  }
  dv.setUint32(12, 0, LE);
  if (version !== null) dv.setUint32(12, fifoRecordCrc(rec, crcAlgFor(version)), LE);
  return rec;
}

/** A DUMMY record of `size` bytes (newfs fills the FIFO with 512-byte ones, seq = slot). */
export function encodeDummy(size: number, seq: number, version: number): Uint8Array {
  return finish(new Uint8Array(size), HAMMER_HEAD_TYPE_DUMMY, seq, version);
}
/** A PAD record (no seq, no CRC). An 8-byte PAD is head-only. */
export function encodePad(size: number): Uint8Array {
  const rec = new Uint8Array(size);
  const dv = new DataView(rec.buffer);
  dv.setUint16(0, HAMMER_HEAD_SIGNATURE, LE); dv.setUint16(2, HAMMER_HEAD_TYPE_PAD, LE); dv.setUint32(4, size, LE);
  if (size > 8) {
    dv.setUint16(size - 8, HAMMER_TAIL_SIGNATURE, LE); dv.setUint16(size - 6, HAMMER_HEAD_TYPE_PAD, LE); dv.setUint32(size - 4, size, LE);
  }
  return rec;
}
/** Size of an UNDO record carrying n payload bytes. */
export const undoRecordSize = (n: number) => HAMMER_FIFO_UNDO_HEAD_SIZE + ((n + 7) & ~7) + HAMMER_FIFO_TAIL_SIZE;
/** Maximum payload of one UNDO record placed at a sector start. */
export const UNDO_MAX_PAYLOAD = HAMMER_UNDO_ALIGN - HAMMER_FIFO_UNDO_HEAD_SIZE - HAMMER_FIFO_TAIL_SIZE;

export function encodeUndo(undoOffset: bigint, payload: Uint8Array, seq: number, version: number): Uint8Array {
  const rec = new Uint8Array(undoRecordSize(payload.length));
  const dv = new DataView(rec.buffer);
  setU64(dv, 16, undoOffset);
  dv.setInt32(24, payload.length, LE);
  rec.set(payload, 32);
  return finish(rec, HAMMER_HEAD_TYPE_UNDO, seq, version);
}
export function encodeRedo(r: Omit<RedoRecord, 'head' | 'dataBytes'>, seq: number, version: number): Uint8Array {
  const rec = new Uint8Array(HAMMER_FIFO_REDO_HEAD_SIZE + ((r.payload.length + 7) & ~7) + HAMMER_FIFO_TAIL_SIZE);
  const dv = new DataView(rec.buffer);
  setI64(dv, 16, r.objId); setU64(dv, 24, r.offset); dv.setInt32(32, r.payload.length, LE);
  dv.setUint32(36, r.flags >>> 0, LE); dv.setUint32(40, r.localization >>> 0, LE); dv.setUint32(44, r.reserved01 >>> 0, LE);
  setU64(dv, 48, r.reserved02);
  rec.set(r.payload, 56);
  return finish(rec, HAMMER_HEAD_TYPE_REDO, seq, version);
}


