/**
 * 64-bit helpers. HAMMER's keys, TIDs and offsets are 64-bit; they live in `bigint`
 * (never a float). Hot paths compare raw words in place instead (see btree-elm.ts).
 */
import { BadFieldError, type Where } from '../errors.js';
import { LE } from './constants.js';

export const u64 = (dv: DataView, at: number): bigint => dv.getBigUint64(at, LE);
export const i64 = (dv: DataView, at: number): bigint => dv.getBigInt64(at, LE);
export const setU64 = (dv: DataView, at: number, v: bigint): void => dv.setBigUint64(at, BigInt.asUintN(64, v), LE);
export const setI64 = (dv: DataView, at: number, v: bigint): void => dv.setBigInt64(at, BigInt.asIntN(64, v), LE);

/** `%016x` of the two's-complement 64-bit pattern, as hammer(8) prints. */
export function hex64(v: bigint): string {
  return BigInt.asUintN(64, v).toString(16).padStart(16, '0');
}
export function hex32(v: number): string {
  return (v >>> 0).toString(16).padStart(8, '0');
}
/** "0x" + 16 lowercase digits: the JSON form of every 64-bit value. */
export function json64(v: bigint): string {
  return '0x' + hex64(v);
}

/** Convert a u64 to number where the value is known to be small; throws a typed error otherwise. */
export function toSafeNumber(v: bigint, where: Where): number {
  if (v < 0n || v > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new BadFieldError(`value ${v} does not fit a safe integer`, where);
  }
  return Number(v);
}

/** Parse a TID/offset argument: "0x" + hex (any length) or decimal. Returns undefined if malformed. */
export function parseU64(s: string): bigint | undefined {
  const t = s.trim();
  let v: bigint;
  if (/^0x[0-9a-f]+$/i.test(t)) v = BigInt(t);
  else if (/^[0-9]+$/.test(t)) v = BigInt(t);
  else return undefined;
  return v > 0xffffffffffffffffn ? undefined : v;
}

/** JSON.stringify replacer writing bigint as "0x%016x". */
export function jsonReplacer(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? json64(v) : v;
}
