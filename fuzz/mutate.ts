/**
 * Seeded mutation of byte strings: bit flips, byte sets, "interesting" 16/32/64-bit values
 * (counts, sizes, sign boundaries, offsets lifted from elsewhere in the same input), arithmetic,
 * truncation, extension and splices of other valid structures. Everything is a pure function of
 * the seed so a run can be repeated exactly.
 */

/** Small fast PRNG (xorshift32, state never 0). */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = (seed ^ 0x9e3779b9) >>> 0 || 1;
    for (let i = 0; i < 8; i++) this.u32();
  }
  u32(): number {
    let x = this.s;
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    this.s = x;
    return x;
  }
  /** 0 <= r < n (n <= 2^32). */
  below(n: number): number {
    return n <= 1 ? 0 : Math.floor((this.u32() / 4294967296) * n);
  }
  pick<T>(a: readonly T[]): T {
    return a[this.below(a.length)];
  }
  chance(p: number): boolean {
    return this.u32() / 4294967296 < p;
  }
}

const I8 = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x3e, 0x3f, 0x40, 0x49, 0x4c, 0x44, 0x52];
const I32 = [0, 1, 2, 7, 8, 16, 24, 56, 61, 62, 63, 64, 128, 292, 4096, 16383, 16384, 65536, 65537, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffff8, 0xc84e, 0xc74f0000];
const I64: bigint[] = [
  0n, 1n, 0x7fffffffffffffffn, 0x8000000000000000n, 0xffffffffffffffffn, 0x8000000000000000n + 4096n,
  0x8000000020000000n, 0x8000000021000000n, 0x200000003fffc000n, 0x2010000000000000n, 0x20ff000000000000n,
  0x3000000000000000n, 0x400000001fffffe0n, 0xa000000020000000n, 0x000fffffffffffffn, 0x1n << 52n,
];

export interface MutateOptions {
  maxLen: number;
  /** Other valid inputs of the same kind to splice from. */
  donors: readonly Uint8Array[];
}

function grow(b: Uint8Array, n: number): Uint8Array {
  const o = new Uint8Array(n);
  o.set(b.subarray(0, Math.min(b.length, n)));
  return o;
}

/** One to 2^k stacked mutations of `input` (a fresh array; the input is not touched). */
export function mutate(input: Uint8Array, rng: Rng, o: MutateOptions): Uint8Array {
  let b: Uint8Array = Uint8Array.from(input);
  const rounds = 1 << rng.below(4);
  for (let r = 0; r < rounds; r++) {
    if (b.length === 0) b = new Uint8Array(1 + rng.below(64));
    const len = b.length;
    const dv = new DataView(b.buffer, b.byteOffset, b.length);
    // Aligned positions hit fields far more often than arbitrary ones.
    const pos = (align: number) => {
      const p = rng.chance(0.8) ? rng.below(Math.floor(len / align)) * align : rng.below(len);
      return Math.min(p, Math.max(0, len - align));
    };
    switch (rng.below(12)) {
      case 0:
      case 1: {
        const p = rng.below(len);
        b[p] ^= 1 << rng.below(8);
        break;
      }
      case 2:
        b[rng.below(len)] = rng.chance(0.5) ? rng.pick(I8) : rng.below(256);
        break;
      case 3:
        if (len >= 4) dv.setUint32(pos(4), rng.pick(I32), true);
        break;
      case 4:
        if (len >= 2) dv.setUint16(pos(2), rng.pick(I32) & 0xffff, true);
        break;
      case 5:
        if (len >= 8) dv.setBigUint64(pos(8), rng.pick(I64), true);
        break;
      case 6: {
        // Copy an 8-byte word from elsewhere in the input: a valid pointer in the wrong place.
        if (len >= 16) {
          const from = pos(8), to = pos(8);
          dv.setBigUint64(to, dv.getBigUint64(from, true), true);
        }
        break;
      }
      case 7: {
        if (len >= 4) {
          const p = pos(4);
          dv.setUint32(p, (dv.getUint32(p, true) + (rng.below(33) - 16)) >>> 0, true);
        }
        break;
      }
      case 8:
        b = b.slice(0, rng.below(len + 1));
        break;
      case 9:
        if (len < o.maxLen) {
          const n = Math.min(o.maxLen, len + 1 + rng.below(64));
          b = grow(b, n);
          for (let i = len; i < n; i++) b[i] = rng.chance(0.5) ? 0 : rng.below(256);
        }
        break;
      case 10: {
        // Splice a run from a donor, usually at the same offset (same field layout).
        const d = o.donors.length ? rng.pick(o.donors) : b;
        if (d.length === 0) break;
        const from = rng.below(d.length);
        const n = 1 + rng.below(Math.min(256, d.length - from));
        const to = rng.chance(0.7) ? from : rng.below(len);
        if (to + n > b.length) b = grow(b, Math.min(o.maxLen, to + n));
        b.set(d.subarray(from, from + Math.min(n, b.length - to)), to);
        break;
      }
      default: {
        // Fill a run with one value (zeroed sectors, 0xff erased flash).
        const p = rng.below(len);
        const n = 1 + rng.below(Math.min(512, len - p));
        b.fill(rng.chance(0.5) ? 0 : rng.pick(I8), p, p + n);
      }
    }
  }
  return b.length > o.maxLen ? b.slice(0, o.maxLen) : b;
}
