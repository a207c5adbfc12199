/**
 * Directory name hashes (hammer_directory_namekey() in sys/vfs/hammer/hammer_subs.c), picked per
 * directory by inode cap_flags & 3. Always the classic CRC-32, whatever the volume version.
 *  ALG0: key = (crc32(name) & 0x7fffffff) << 32; low 32 bits free for collisions.
 *  ALG1: bits 62..32 from the sum of crc32 of the name's pieces split at . - _ ~, bits 31..16 from
 *        the folded crc32 of the whole name; low 16 bits free for collisions.
 */
import { crc32 } from './crc.js';
import { HAMMER_DIR_ALG0_MAXITER, HAMMER_DIR_ALG1_MAXITER, HAMMER_INODE_CAP_DIRHASH_MASK } from './constants.js';

const SPLIT = new Set([0x2e, 0x2d, 0x5f, 0x7e]);

export interface NameKey {
  key: bigint;
  maxIterations: bigint;
}

export function namekeyAlg0(name: Uint8Array): bigint {
  let k = BigInt(crc32(name) & 0x7fffffff) << 32n;
  if (k === 0n) k = 0x100000000n;
  return k;
}
export function namekeyAlg1(name: Uint8Array): bigint {
  let sum = 0;
  let start = 0;
  for (let i = 0; i <= name.length; i++) {
    if (i === name.length || SPLIT.has(name[i])) {
      if (i > start) sum = (sum + crc32(name.subarray(start, i))) >>> 0;
      start = i + 1;
    }
  }
  let k = BigInt(sum & 0x7fffffff) << 32n;
  let c = crc32(name);
  c = (c ^ (c << 16)) >>> 0;
  k |= BigInt((c & 0xffff0000) >>> 0); // >>> 0: JS bitwise results are signed; bit 31 set would make the key negative
  if (k >> 32n === 0n) k |= 0x100000000n;
  return k;
}
export function directoryNamekey(capFlags: number, name: Uint8Array): NameKey {
  const alg = capFlags & HAMMER_INODE_CAP_DIRHASH_MASK;
  if (alg === 1) return { key: namekeyAlg1(name), maxIterations: HAMMER_DIR_ALG1_MAXITER };
  return { key: namekeyAlg0(name), maxIterations: HAMMER_DIR_ALG0_MAXITER };
}
