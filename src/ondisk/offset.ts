/**
 * hammer_off_t: zone (bits 63..60), volume (59..52), offset in volume (51..0).
 * See spec/ONDISK.md §2. Values are bigint; the derived parts are numbers (< 2^53).
 */
import {
  HAMMER_OFF_LONG_MASK, HAMMER_OFF_SHORT_MASK, HAMMER_ZONE_RAW_BUFFER_INDEX,
  HAMMER_BIGBLOCK_SIZE, HAMMER_BLOCKMAP_RADIX2,
} from './constants.js';

export const zoneOf = (off: bigint): number => Number(BigInt.asUintN(64, off) >> 60n);
export const volOf = (off: bigint): number => Number((off >> 52n) & 0xffn);
export const shortOffset = (off: bigint): number => Number(off & HAMMER_OFF_SHORT_MASK);
export const longOffset = (off: bigint): bigint => off & HAMMER_OFF_LONG_MASK;

export function encodeOffset(zone: number, vol: number, short: number | bigint): bigint {
  return (BigInt(zone) << 60n) | (BigInt(vol & 0xff) << 52n) | (BigInt(short) & HAMMER_OFF_SHORT_MASK);
}
/** Replace the zone nibble (zones 2, 4, 8..15 translate this way). */
export function withZone(off: bigint, zone: number): bigint {
  return (BigInt(zone) << 60n) | (off & HAMMER_OFF_LONG_MASK);
}
export const toZone2 = (off: bigint): bigint => withZone(off, HAMMER_ZONE_RAW_BUFFER_INDEX);

/** Zone base value Z<<60. */
export const zoneBase = (zone: number): bigint => BigInt(zone) << 60n;

/** Freemap indices of an offset (zone nibble ignored). */
export function layer1Index(off: bigint): number {
  return Number((off & HAMMER_OFF_LONG_MASK) >> 42n);
}
export function layer2Index(off: bigint): number {
  return Number(((off & HAMMER_OFF_LONG_MASK) >> 23n) & BigInt(HAMMER_BLOCKMAP_RADIX2 - 1));
}
/** Start of the big-block holding `off`, same zone. */
export function bigBlockBase(off: bigint): bigint {
  return off & ~BigInt(HAMMER_BIGBLOCK_SIZE - 1);
}
export const bigBlockOffset = (off: bigint): number => Number(off & BigInt(HAMMER_BIGBLOCK_SIZE - 1));
