// Property tests for every decoder that takes outside bytes: the result is a value or a
// HammerError, never a TypeError/RangeError; accepted values satisfy the invariants callers rely
// on; the in-place key comparison agrees with the bigint reference.
import * as path from 'node:path';
import { describe, expect } from 'vitest';
import { test, fc } from '@fast-check/vitest';
import { HammerError, BadFieldError, VolumeSetError } from '../../src/errors.js';
import { decodeVolumeHeader, VOL } from '../../src/ondisk/volume-header.js';
import { NodeView } from '../../src/ondisk/btree-node.js';
import { cmpBaseElm, cmpBaseElmRaw, encodeBaseElm, type BaseElm } from '../../src/ondisk/btree-elm.js';
import { decodeInodeData } from '../../src/ondisk/inode-data.js';
import { decodeEntryData } from '../../src/ondisk/entry-data.js';
import { decodePfsData } from '../../src/ondisk/pfs-data.js';
import { decodeSnapshotData } from '../../src/ondisk/snapshot-data.js';
import { fifoRecordProblem, decodeFifoRecord, encodeUndo, encodeRedo, encodeDummy, encodePad } from '../../src/ondisk/fifo.js';
import { readVolumeHeader, assembleVolumeSet, VolumeSet } from '../../src/volume/volume-set.js';
import {
  HAMMER_VOLUME_HEADER_SIZE, HAMMER_BTREE_TYPE_LEAF, HAMMER_BTREE_TYPE_INTERNAL, HAMMER_MIN_KEY, HAMMER_MAX_KEY,
} from '../../src/ondisk/constants.js';
import { tolerate } from '../../fuzz/targets.js';
import { allTargets } from '../../fuzz/registry.js';
import { loadSamples } from '../../fuzz/samples.js';
import { SparseDevice } from '../../fuzz/sparse-device.js';
import { MemoryDevice } from '../../src/io/memory-device.js';
import { imagePaths } from '../helpers/images.js';

const samples = loadSamples(path.dirname(imagePaths('demo-v7')[0]));
const W = { structure: 'test input' };
const RUNS = { numRuns: 400 };
// The decoder targets plus the mirror stream parsers' (fuzz/mirror-targets.ts).
const TARGETS = await allTargets();

/** Patch a copy of `b` at (pos mod length) with the given bytes. */
function patch(b: Uint8Array, patches: { pos: number; val: number }[]): Uint8Array {
  const o = b.slice();
  for (const p of patches) if (o.length) o[p.pos % o.length] = p.val;
  return o;
}
const patches = fc.array(fc.record({ pos: fc.nat(), val: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 8 });

describe('every fuzz target: value or HammerError', () => {
  for (const t of TARGETS) {
    const seeds = t.seeds(samples);
    test('seeds are accepted: ' + t.name, () => {
      expect(seeds.length).toBeGreaterThan(0);
      for (const s of seeds) {
        if (t.seedsMayFail) tolerate(() => t.run(s));
        else t.run(s);
      }
    });
    // Whole-tree targets run ~100 inputs a second: fewer runs there.
    const runs = t.maxLen > 16384 ? { numRuns: 60 } : RUNS;
    test.prop([fc.uint8Array({ maxLength: t.maxLen })], runs)(`random bytes: ${t.name}`, (b) => {
      tolerate(() => t.run(b));
    });
    test.prop([fc.nat(), patches, fc.nat()], runs)(`mutated real structures: ${t.name}`, (i, ps, cut) => {
      const s = patch(seeds[i % seeds.length], ps);
      tolerate(() => t.run(s));
      tolerate(() => t.run(s.subarray(0, cut % (s.length + 1))));
    });
  }
});

describe('volume header', () => {
  const hdr = samples.headers[0];
  test.prop([patches, fc.integer({ min: 0, max: 12 })], { numRuns: 1000 })('accepted headers satisfy the set invariants', (ps, version) => {
    const b = patch(hdr, ps);
    new DataView(b.buffer).setUint32(VOL.version, version, true);
    const r = tolerate(() => decodeVolumeHeader(b, W));
    if (r instanceof HammerError) return;
    expect(r.version).toBeGreaterThanOrEqual(1);
    expect(r.version).toBeLessThanOrEqual(7);
    expect(r.volNo).toBeGreaterThanOrEqual(0);
    expect(r.volNo).toBeLessThan(r.volCount);
    expect(r.bufBeg % 16384).toBe(0);
    expect(r.bufEnd).toBeGreaterThanOrEqual(r.bufBeg);
    expect(Number.isSafeInteger(r.bufEnd)).toBe(true);
  });
  test.prop([fc.integer({ min: 0, max: HAMMER_VOLUME_HEADER_SIZE - 1 })])('truncated headers are BadFieldError', (n) => {
    expect(() => decodeVolumeHeader(hdr.subarray(0, n), W)).toThrow(BadFieldError);
  });
});

describe('B-Tree node header', () => {
  test.prop([fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.constantFrom(0, 0x49, 0x4c, 0x44, 0x52, 0xff)], { numRuns: 2000 })(
    'headerProblem() is null only for counts that fit the element array',
    (count, type) => {
      const b = new Uint8Array(4096);
      const dv = new DataView(b.buffer);
      dv.setInt32(0x10, count, true);
      b[0x14] = type;
      const n = new NodeView(dv, 0, 0x8000000020000000n);
      if (n.headerProblem() !== null) return;
      expect([HAMMER_BTREE_TYPE_LEAF, HAMMER_BTREE_TYPE_INTERNAL]).toContain(type);
      const last = count + (type === HAMMER_BTREE_TYPE_INTERNAL ? 1 : 0);
      expect(count).toBeGreaterThanOrEqual(type === HAMMER_BTREE_TYPE_INTERNAL ? 1 : 0);
      expect(n.elmAt(last - 1) + 64).toBeLessThanOrEqual(4096);
    },
  );
});

describe('payload decoders', () => {
  test.prop([fc.uint8Array({ maxLength: 400 })], { numRuns: 1000 })('short payloads are BadFieldError, others decode', (b) => {
    const cases: [number, (x: Uint8Array) => unknown][] = [
      [128, (x) => decodeInodeData(x, W)], [16, (x) => decodeEntryData(x, W)], [292, (x) => decodePfsData(x, W)], [128, (x) => decodeSnapshotData(x, W)],
    ];
    for (const [min, dec] of cases) {
      if (b.length < min) expect(() => dec(b)).toThrow(BadFieldError);
      else dec(b);
    }
  });
  test.prop([fc.uint8Array({ minLength: 16, maxLength: 300 })])('a directory entry name is everything after 16 bytes', (b) => {
    expect(decodeEntryData(b, W).name).toEqual(b.slice(16));
  });
});

describe('FIFO records', () => {
  const rec = fc.oneof(
    fc.uint8Array({ maxLength: 400 }).map((p) => encodeUndo(0x2000000000001000n, p, 7, 7)),
    fc.uint8Array({ maxLength: 400 }).map((p) => encodeRedo({ objId: 5n, offset: 0n, flags: 1, localization: 0, reserved01: 0, reserved02: 0n, payload: p }, 9, 7)),
    fc.constantFrom(encodeDummy(512, 3, 7), encodePad(8), encodePad(64)),
  );
  test.prop([rec, patches, fc.nat(), fc.nat(), fc.nat()], { numRuns: 1000 })('problem check then decode never throws outside HammerError', (r, ps, pre, limCut, atCut) => {
    const b = new Uint8Array((pre % 64) * 8 + r.length + 32);
    b.set(r, (pre % 64) * 8);
    const m = patch(b, ps);
    const limit = m.length - (limCut % 40);
    const at = Math.min(atCut % m.length, limit);
    const p = tolerate(() => fifoRecordProblem(m, at, limit, 7));
    if (p === null) {
      const d = decodeFifoRecord(m, at, W);
      expect(at + d.head.size).toBeLessThanOrEqual(limit);
    }
  });
  test.prop([rec])('valid encoded records pass', (r) => {
    expect(fifoRecordProblem(r, 0, r.length, 7)).toBeNull();
  });
});

describe('key comparison', () => {
  const s64 = fc.oneof(fc.constantFrom(HAMMER_MIN_KEY, HAMMER_MIN_KEY + 1n, -1n, 0n, 1n, HAMMER_MAX_KEY - 1n, HAMMER_MAX_KEY), fc.bigInt({ min: HAMMER_MIN_KEY, max: HAMMER_MAX_KEY }));
  const u64 = fc.oneof(fc.constantFrom(0n, 1n, 0x7fffffffffffffffn, 0x8000000000000000n, 0xffffffffffffffffn), fc.bigInt({ min: 0n, max: 0xffffffffffffffffn }));
  const small = <T>(a: fc.Arbitrary<T>, c: T[]) => fc.oneof(fc.constantFrom(...c), a);
  const key: fc.Arbitrary<BaseElm> = fc.record({
    localization: small(fc.integer({ min: 0, max: 0xffffffff }), [0, 1, 2, 0x10001, 0x7fffffff, 0x80000000, 0xffffffff]),
    objId: small(s64, [1n]),
    recType: small(fc.integer({ min: 0, max: 0xffff }), [0, 1, 0x10, 0x11, 0x8000, 0xffff]),
    key: s64,
    createTid: u64,
    deleteTid: u64,
    objType: fc.integer({ min: 0, max: 255 }),
    btype: fc.integer({ min: 0, max: 255 }),
  });
  const enc = (e: BaseElm) => {
    const b = new Uint8Array(64);
    const dv = new DataView(b.buffer);
    encodeBaseElm(e, dv, 0);
    return dv;
  };
  // Equal prefixes are rare at random: derive b from a by changing one field so every level is compared.
  const pair = fc.tuple(key, key, fc.integer({ min: 0, max: 5 })).map(([a, b, k]) => {
    const fields = ['localization', 'objId', 'recType', 'key', 'createTid'] as const;
    const c = { ...a };
    if (k < 5) (c as Record<string, unknown>)[fields[k]] = b[fields[k]];
    return [a, c] as const;
  });
  test.prop([pair], { numRuns: 5000 })('cmpBaseElmRaw == cmpBaseElm (create_tid 0 = +inf, signed extremes)', ([a, b]) => {
    expect(cmpBaseElmRaw(enc(a), 0, enc(b), 0)).toBe(cmpBaseElm(a, b));
    expect(cmpBaseElmRaw(enc(b), 0, enc(a), 0)).toBe(cmpBaseElm(b, a));
  });
  test.prop([fc.array(key, { maxLength: 40 })])('sorting with either comparison gives the same order', (ks) => {
    const byBig = ks.map((k, i) => ({ k, i })).sort((x, y) => cmpBaseElm(x.k, y.k) || x.i - y.i).map((x) => x.i);
    const dvs = ks.map(enc);
    const byRaw = ks.map((k, i) => ({ i })).sort((x, y) => cmpBaseElmRaw(dvs[x.i], 0, dvs[y.i], 0) || x.i - y.i).map((x) => x.i);
    expect(byRaw).toEqual(byBig);
  });
});

describe('volume set assembly', () => {
  test.prop([patches], { numRuns: 300 })('a 1 MiB MemoryDevice volume with a mutated header opens or fails typed', (ps) => {
    const h = samples.headers[0].slice();
    new DataView(h.buffer).setBigInt64(VOL.bufEnd, 1n << 20n, true); // fits the device
    const data = new Uint8Array(1 << 20);
    data.set(patch(h, ps.map((p) => ({ pos: p.pos % 264, val: p.val }))));
    const d = new MemoryDevice('mem.img', data);
    const r = tolerate(() => new VolumeSet(assembleVolumeSet([{ device: d, header: readVolumeHeader(d) }]), 1 << 20));
    if (r instanceof HammerError) return;
    expect(r.root.bufEnd).toBeLessThanOrEqual(d.size);
    tolerate(() => r.read(r.root.btreeRoot, 4096));
  });

  const multi = samples.headerSets.find((s) => s.length === 3 * HAMMER_VOLUME_HEADER_SIZE)!;
  const vol = (i: number) => multi.subarray(i * HAMMER_VOLUME_HEADER_SIZE, (i + 1) * HAMMER_VOLUME_HEADER_SIZE);
  const device = (h: Uint8Array, i: number, size = 1 << 30) => new SparseDevice(`v${i}.img`, size).put(0, h);
  test.prop([fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 1, maxLength: 5 })])('any order works; missing or repeated volumes are VolumeSetError', (order) => {
    const devs = order.map((v, i) => device(vol(v), i));
    const r = tolerate(() => assembleVolumeSet(devs.map((d) => ({ device: d, header: readVolumeHeader(d) }))));
    const complete = new Set(order).size === 3 && order.length === 3;
    if (complete) {
      expect(r).not.toBeInstanceOf(HammerError);
      expect((r as { no: number }[]).map((v) => v.no)).toEqual([0, 1, 2]);
    } else expect(r).toBeInstanceOf(VolumeSetError);
  });
  test.prop([fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), patches), { minLength: 1, maxLength: 4 }), fc.integer({ min: 0, max: 1 << 30 })], { numRuns: 300 })(
    'mutated sets open to a usable VolumeSet or a HammerError',
    (vols, size) => {
      const devs = vols.map(([v, ps], i) => device(patch(vol(v), ps.map((p) => ({ pos: p.pos % 264, val: p.val }))), i, size));
      const r = tolerate(() => new VolumeSet(assembleVolumeSet(devs.map((d) => ({ device: d, header: readVolumeHeader(d) }))), 1 << 20));
      if (r instanceof HammerError) return;
      for (const v of r.volumes) expect(v.header.bufEnd).toBeLessThanOrEqual(v.device.size);
      tolerate(() => r.read(r.root.btreeRoot, 4096));
      tolerate(() => r.freemapLookup(r.root.btreeRoot));
    },
  );
});
