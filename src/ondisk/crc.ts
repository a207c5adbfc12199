/**
 * CRC rules of hammer_crc.h, written once: classic CRC-32 (IEEE) for volume versions <= 6,
 * CRC-32C from version 7, and version-7 readers also accept the classic CRC (volumes
 * upgraded from <= 6 keep old CRCs until rewritten). The mirror stream always uses CRC-32.
 */
import * as zlib from 'node:zlib';
import { createRequire } from 'node:module';
import CRC32 from 'crc-32';
import CRC32C from 'crc-32/crc32c.js';

// Hot paths (node and data CRCs on every read) use native code where it exists:
//  - CRC-32: Node >= 20.15's zlib.crc32 (~6x the JS tables);
//  - CRC-32C: @node-rs/crc32 (SSE4.2/SIMD, prebuilt in its registry package): measured 2-5x the
//    JS tables at 16-64 KiB. A napi call costs ~100 ns, so short inputs (freemap entries,
//    headers) stay in JS. crc-32 is the fallback for both when the native pieces are missing.
const nativeCrc32 = (zlib as unknown as { crc32?: (d: Uint8Array, v?: number) => number }).crc32;
let nativeCrc32c: ((d: Uint8Array, v?: number) => number) | undefined;
try {
  nativeCrc32c = (createRequire(import.meta.url)('@node-rs/crc32') as { crc32c: (d: Uint8Array, v?: number) => number }).crc32c;
} catch {
  nativeCrc32c = undefined;
}
const NATIVE_MIN = 256;

export type CrcAlg = 'crc32' | 'crc32c';

/** Classic (IEEE) CRC-32 of bytes, optionally continuing from `prev` (crc_ext semantics). */
export function crc32(b: Uint8Array, prev?: number): number {
  if (nativeCrc32) return nativeCrc32(b, prev ?? 0) >>> 0;
  return (prev === undefined ? CRC32.buf(b) : CRC32.buf(b, prev)) >>> 0;
}
export function crc32c(b: Uint8Array, prev?: number): number {
  if (nativeCrc32c && b.length >= NATIVE_MIN) return nativeCrc32c(b, prev ?? 0) >>> 0;
  return (prev === undefined ? CRC32C.buf(b) : CRC32C.buf(b, prev)) >>> 0;
}
export function crcFn(alg: CrcAlg): (b: Uint8Array, prev?: number) => number {
  return alg === 'crc32c' ? crc32c : crc32;
}
/** hammer_datacrc(): the algorithm a writer uses for this volume version. */
export function crcAlgFor(version: number): CrcAlg {
  return version >= 7 ? 'crc32c' : 'crc32';
}
/** Compute the version's CRC over a sub-range. */
export function hammerCrc(version: number, b: Uint8Array, start = 0, end = b.length): number {
  const s = start === 0 && end === b.length ? b : b.subarray(start, end);
  return version >= 7 ? crc32c(s) : crc32(s);
}

/** Which algorithm a stored CRC matched, or null. */
export type CrcVerdict = CrcAlg | null;

/**
 * hammer_crc_test_*(): stored CRC against the version's algorithm, then (v >= 7) the legacy one.
 * `compute(alg)` returns the CRC of the covered bytes for an algorithm.
 */
export function testCrc(version: number, stored: number, compute: (alg: CrcAlg) => number): CrcVerdict {
  if (version >= 7) {
    if (compute('crc32c') === stored) return 'crc32c';
    if (compute('crc32') === stored) return 'crc32';
    return null;
  }
  return compute('crc32') === stored ? 'crc32' : null;
}

/** CRC of two ranges XORed, as the volume header and FIFO records use. */
export function crcTwoPart(alg: CrcAlg, b: Uint8Array, a0: number, a1: number, b0: number, b1: number): number {
  const f = crcFn(alg);
  return (f(b.subarray(a0, a1)) ^ f(b.subarray(b0, b1))) >>> 0;
}
