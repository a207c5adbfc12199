/**
 * B-Tree elements (sys/vfs/hammer/hammer_btree.h), 64 bytes each:
 *  - hammer_base_elm (40): obj_id i64 @00, key i64 @08, create_tid @10, delete_tid @18,
 *    rec_type u16 @20, obj_type u8 @22, btype u8 @23, localization u32 @24.
 *  - internal: base + mirror_tid @28 + subtree_offset @30 + reserved @38,@3C.
 *  - leaf: base + create_ts u32 @28 + delete_ts u32 @2C + data_offset @30 + data_len i32 @38 + data_crc @3C.
 * Keys compare as hammer_btree_cmp(): localization (u32), obj_id (s64), rec_type (u16),
 * key (s64), create_tid (u64 with 0 = +infinity). Results +-5..+-1 tell which field differed.
 */
import { LE, HAMMER_BTREE_BASE_SIZE, HAMMER_BTREE_ELM_SIZE } from './constants.js';
import { u64, i64, setU64, setI64 } from './int64.js';

export const ELM = {
  objId: 0x00, key: 0x08, createTid: 0x10, deleteTid: 0x18, recType: 0x20, objType: 0x22, btype: 0x23,
  localization: 0x24,
  // internal
  mirrorTid: 0x28, subtreeOffset: 0x30, intReserved01: 0x38, intReserved02: 0x3c,
  // leaf
  createTs: 0x28, deleteTs: 0x2c, dataOffset: 0x30, dataLen: 0x38, dataCrc: 0x3c,
} as const;

export interface BaseElm {
  objId: bigint; // signed
  key: bigint; // signed
  createTid: bigint;
  deleteTid: bigint;
  recType: number;
  objType: number;
  btype: number;
  localization: number;
}
export interface InternalElm extends BaseElm {
  mirrorTid: bigint;
  subtreeOffset: bigint;
  reserved01: number;
  reserved02: number;
}
export interface LeafElm extends BaseElm {
  createTs: number;
  deleteTs: number;
  dataOffset: bigint;
  dataLen: number;
  dataCrc: number;
}

export function decodeBaseElm(dv: DataView, at: number): BaseElm {
  return {
    objId: i64(dv, at + ELM.objId), key: i64(dv, at + ELM.key),
    createTid: u64(dv, at + ELM.createTid), deleteTid: u64(dv, at + ELM.deleteTid),
    recType: dv.getUint16(at + ELM.recType, LE), objType: dv.getUint8(at + ELM.objType),
    btype: dv.getUint8(at + ELM.btype), localization: dv.getUint32(at + ELM.localization, LE),
  };
}
export function encodeBaseElm(e: BaseElm, dv: DataView, at: number): void {
  setI64(dv, at + ELM.objId, e.objId); setI64(dv, at + ELM.key, e.key);
  setU64(dv, at + ELM.createTid, e.createTid); setU64(dv, at + ELM.deleteTid, e.deleteTid);
  dv.setUint16(at + ELM.recType, e.recType, LE); dv.setUint8(at + ELM.objType, e.objType);
  dv.setUint8(at + ELM.btype, e.btype); dv.setUint32(at + ELM.localization, e.localization >>> 0, LE);
}
export function decodeLeafElm(dv: DataView, at: number): LeafElm {
  const b = decodeBaseElm(dv, at) as LeafElm;
  b.createTs = dv.getUint32(at + ELM.createTs, LE);
  b.deleteTs = dv.getUint32(at + ELM.deleteTs, LE);
  b.dataOffset = u64(dv, at + ELM.dataOffset);
  b.dataLen = dv.getInt32(at + ELM.dataLen, LE);
  b.dataCrc = dv.getUint32(at + ELM.dataCrc, LE);
  return b;
}
export function encodeLeafElm(e: LeafElm, dv: DataView, at: number): void {
  encodeBaseElm(e, dv, at);
  dv.setUint32(at + ELM.createTs, e.createTs >>> 0, LE); dv.setUint32(at + ELM.deleteTs, e.deleteTs >>> 0, LE);
  setU64(dv, at + ELM.dataOffset, e.dataOffset); dv.setInt32(at + ELM.dataLen, e.dataLen, LE);
  dv.setUint32(at + ELM.dataCrc, e.dataCrc >>> 0, LE);
}
export function decodeInternalElm(dv: DataView, at: number): InternalElm {
  const b = decodeBaseElm(dv, at) as InternalElm;
  b.mirrorTid = u64(dv, at + ELM.mirrorTid);
  b.subtreeOffset = u64(dv, at + ELM.subtreeOffset);
  b.reserved01 = dv.getInt32(at + ELM.intReserved01, LE);
  b.reserved02 = dv.getInt32(at + ELM.intReserved02, LE);
  return b;
}
export function encodeInternalElm(e: InternalElm, dv: DataView, at: number): void {
  encodeBaseElm(e, dv, at);
  setU64(dv, at + ELM.mirrorTid, e.mirrorTid); setU64(dv, at + ELM.subtreeOffset, e.subtreeOffset);
  dv.setInt32(at + ELM.intReserved01, e.reserved01, LE); dv.setInt32(at + ELM.intReserved02, e.reserved02, LE);
}

/* ---- comparison ---- */

function cmpS64(a: DataView, ao: number, b: DataView, bo: number): number {
  const ha = a.getInt32(ao + 4, LE), hb = b.getInt32(bo + 4, LE);
  if (ha !== hb) return ha < hb ? -1 : 1;
  const la = a.getUint32(ao, LE), lb = b.getUint32(bo, LE);
  return la === lb ? 0 : la < lb ? -1 : 1;
}
function cmpU64(a: DataView, ao: number, b: DataView, bo: number): number {
  const ha = a.getUint32(ao + 4, LE), hb = b.getUint32(bo + 4, LE);
  if (ha !== hb) return ha < hb ? -1 : 1;
  const la = a.getUint32(ao, LE), lb = b.getUint32(bo, LE);
  return la === lb ? 0 : la < lb ? -1 : 1;
}
const isZero64 = (d: DataView, o: number) => d.getUint32(o, LE) === 0 && d.getUint32(o + 4, LE) === 0;

/** hammer_btree_cmp() on two raw base elements, in place (no allocation). */
export function cmpBaseElmRaw(a: DataView, ao: number, b: DataView, bo: number): number {
  const la = a.getUint32(ao + ELM.localization, LE), lb = b.getUint32(bo + ELM.localization, LE);
  if (la !== lb) return la < lb ? -5 : 5;
  let r = cmpS64(a, ao + ELM.objId, b, bo + ELM.objId);
  if (r) return 4 * r;
  const ra = a.getUint16(ao + ELM.recType, LE), rb = b.getUint16(bo + ELM.recType, LE);
  if (ra !== rb) return ra < rb ? -3 : 3;
  r = cmpS64(a, ao + ELM.key, b, bo + ELM.key);
  if (r) return 2 * r;
  const za = isZero64(a, ao + ELM.createTid), zb = isZero64(b, bo + ELM.createTid);
  if (za || zb) return za && zb ? 0 : za ? 1 : -1;
  return cmpU64(a, ao + ELM.createTid, b, bo + ELM.createTid);
}

/** hammer_btree_cmp() on decoded keys (the reference the raw version is tested against). */
export function cmpBaseElm(a: BaseElm, b: BaseElm): number {
  const la = a.localization >>> 0, lb = b.localization >>> 0;
  if (la !== lb) return la < lb ? -5 : 5;
  if (a.objId !== b.objId) return a.objId < b.objId ? -4 : 4;
  if (a.recType !== b.recType) return a.recType < b.recType ? -3 : 3;
  if (a.key !== b.key) return a.key < b.key ? -2 : 2;
  if (a.createTid === 0n || b.createTid === 0n) return a.createTid === b.createTid ? 0 : a.createTid === 0n ? 1 : -1;
  if (a.createTid !== b.createTid) return a.createTid < b.createTid ? -1 : 1;
  return 0;
}

/** A search key pre-encoded as 40 bytes so that descent compares in place. */
export class EncodedKey {
  readonly bytes = new Uint8Array(HAMMER_BTREE_ELM_SIZE);
  readonly dv = new DataView(this.bytes.buffer);
  constructor(readonly elm: BaseElm) {
    encodeBaseElm(elm, this.dv, 0);
  }
}

export function makeKey(p: Partial<BaseElm> & Pick<BaseElm, 'localization' | 'objId' | 'recType' | 'key'>): BaseElm {
  return { createTid: 0n, deleteTid: 0n, objType: 0, btype: 0, ...p };
}

export const BASE_ELM_SIZE = HAMMER_BTREE_BASE_SIZE;
