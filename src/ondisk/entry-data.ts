/**
 * Directory entry payload — struct hammer_direntry_data (hammer_disk.h): obj_id i64 @00,
 * localization u32 @08 (target PFS << 16), reserved01 @0C, then the name (not NUL-terminated,
 * length = data_len - 16). "." and ".." are never stored.
 */
import { BadFieldError, type Where } from '../errors.js';
import { LE, HAMMER_ENTRY_NAME_OFF } from './constants.js';
import { i64, setI64 } from './int64.js';

export interface EntryData {
  objId: bigint;
  localization: number;
  reserved01: number;
  name: Uint8Array;
}
export function decodeEntryData(b: Uint8Array, where: Where): EntryData {
  if (b.length < HAMMER_ENTRY_NAME_OFF) throw new BadFieldError(`directory entry is ${b.length} bytes, shorter than 16`, where);
  const dv = new DataView(b.buffer, b.byteOffset, b.length);
  return { objId: i64(dv, 0), localization: dv.getUint32(8, LE), reserved01: dv.getUint32(12, LE), name: b.slice(HAMMER_ENTRY_NAME_OFF) };
}
export function encodeEntryData(e: EntryData): Uint8Array {
  const b = new Uint8Array(HAMMER_ENTRY_NAME_OFF + e.name.length);
  const dv = new DataView(b.buffer);
  setI64(dv, 0, e.objId); dv.setUint32(8, e.localization >>> 0, LE); dv.setUint32(12, e.reserved01 >>> 0, LE);
  b.set(e.name, HAMMER_ENTRY_NAME_OFF);
  return b;
}
