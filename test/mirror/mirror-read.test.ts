// mirror-read on the real content-v7 image (PFS 0 root, PFS 1 master, PFS 2 slave of PFS 1):
// full reads carry every record of the PFS exactly once with the bytes on disk; incremental reads
// send only what changed as REC and account for everything else as PASS or inside a SKIP; the
// mirror_tid shortcut reads fewer nodes; batches, resumed calls and the estimate agree with the
// real run; damaged payloads are passed through flagged.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imagePaths, copyImage, goldenJson } from '../helpers/images.js';
import { BTree } from '../../src/btree/btree.js';
import { cmpBaseElm, ELM } from '../../src/ondisk/btree-elm.js';
import { recordDataCrcVerdict } from '../../src/ondisk/inode-data.js';
import { forEachLeaf } from '../../src/btree/cursor.js';
import {
  HAMMER_MREC_TYPE_SYNC, HAMMER_MREC_TYPE_IDLE, HAMMER_MRECF_CRC_ERROR, HAMMER_MRECF_DATA_CRC_BAD, HAMMER_MRECF_NODATA,
} from '../../src/ondisk/constants.js';
import {
  mirrorReadCall, estimateMirrorRead, planMirrorRead, mirrorSource, CountingSink, MIRROR_KEY_BEG, MIRROR_KEY_END,
} from '../../src/mirror/mirror-read.js';
import { BadFieldError, NotFoundError } from '../../src/errors.js';
import { openCtx, mirrorReadToMemory, collect, pfsLeaves, keyOf, inRange, patchLeaf, patchBytes, type Ctx, type Got } from './helpers.js';

const M = goldenJson('content-v7.manifest.json');
const T = (s: string) => BigInt(s);
const GEN = (M.generations as { tid: string }[]).map((g) => T(g.tid));
const NEXT_TID = T(M.image.next_tid);

let ctx: Ctx;
beforeAll(() => {
  ctx = openCtx(imagePaths('content-v7'));
});
afterAll(() => ctx.vs.close());

function payloadOnDisk(c: Ctx, l: { dataOffset: bigint; dataLen: number }): Uint8Array {
  if (l.dataLen === 0) return new Uint8Array(0);
  if (l.dataOffset === 0n) return new Uint8Array(l.dataLen);
  return c.vs.read(l.dataOffset, l.dataLen).slice();
}

describe('full mirror-read of each PFS', () => {
  const expectCount: Record<number, number> = {};
  it('PFS record counts add up to the image total', () => {
    let total = 0;
    for (const p of [0, 1, 2]) total += expectCount[p] = pfsLeaves(ctx, p).length;
    expect(total).toBe(M.counts.records);
    expect(expectCount[2]).toBe(M.counts.slave_records);
  });

  for (const pfsId of [0, 1, 2]) {
    it(`PFS ${pfsId}: every record once as REC, payload bytes and CRCs intact, keys increasing`, () => {
      const { bytes, plan, report } = mirrorReadToMemory(ctx, { pfsId, batchBytes: 0 });
      const mp = M.pfs[pfsId];
      // TID window: master up to the last committed TID, slave up to its sync_end_tid
      expect(plan.tidEnd).toBe(mp.mode === 'slave' ? T(mp.sync_end_tid) : NEXT_TID);
      expect(plan.tidBeg).toBe(T(mp.sync_beg_tid));
      const got = collect(bytes);
      expect(got.problems).toEqual([]);
      expect(got.summary.terminated).toBe(true);
      expect(got.batches.map((b) => b.end)).toEqual([HAMMER_MREC_TYPE_SYNC]);
      // PFSD #2 names the batch's tid_end; both PFSDs are this PFS's data
      const b0 = got.batches[0].info;
      expect(b0.pfsd2.syncEndTid).toBe(plan.tidEnd);
      expect(b0.pfsd1.label).toBe(mp.label);
      expect(b0.pfsd1.mirrorFlags).toBe(mp.mirror_flags);

      const leaves = pfsLeaves(ctx, pfsId);
      expect(got.bulk.every((g) => g.type === 'REC')).toBe(true);
      expect(got.bulk.length).toBe(leaves.length);
      expect(report.rec).toBe(leaves.length);
      for (let i = 0; i < leaves.length; i++) {
        const g = got.bulk[i] as Extract<Got, { type: 'REC' }>;
        const l = leaves[i];
        const want = { ...l, deleteTid: l.deleteTid > plan.tidEnd ? 0n : l.deleteTid };
        expect(g.leaf).toEqual(want);
        expect(g.flags).toBe(0);
        const disk = payloadOnDisk(ctx, l);
        expect(Buffer.from(g.payload).equals(Buffer.from(disk))).toBe(true);
        if (l.dataLen > 0 && l.dataOffset !== 0n) expect(recordDataCrcVerdict(l.recType, g.payload, l.dataCrc, 7)).not.toBeNull();
        if (i > 0) expect(cmpBaseElm(g.leaf, got.bulk[i - 1].type === 'REC' ? (got.bulk[i - 1] as { leaf: typeof l }).leaf : l)).toBeGreaterThan(0);
        expect(l.localization >>> 16).toBe(pfsId);
      }
    });
  }

  it('a slave sends nothing newer than its sync_end_tid', () => {
    const { bytes, plan } = mirrorReadToMemory(ctx, { pfsId: 2, batchBytes: 0 });
    for (const g of collect(bytes).bulk) if (g.type === 'REC') expect(g.leaf.createTid <= plan.tidEnd).toBe(true);
  });
});

describe('incremental mirror-read (--since)', () => {
  // since = the TID right after generation 1 / 2: only what generations 2-3 / 3 did is REC
  const cases = [GEN[0] + 1n, GEN[1] + 1n, GEN[1] + 0x10n];
  for (const since of cases) {
    for (const pfsId of [0, 1]) {
      it(`PFS ${pfsId} since 0x${since.toString(16)}: REC = created in window; PASS/SKIP cover the rest`, () => {
        const { bytes, plan } = mirrorReadToMemory(ctx, { pfsId, since, batchBytes: 0 });
        expect(plan.tidBeg).toBe(since);
        const got = collect(bytes);
        expect(got.problems).toEqual([]);
        const leaves = pfsLeaves(ctx, pfsId);
        const recs = new Map<string, Got>();
        const passes = new Map<string, Got>();
        const skips = got.bulk.filter((g) => g.type === 'SKIP') as Extract<Got, { type: 'SKIP' }>[];
        for (const g of got.bulk) {
          if (g.type === 'SKIP') continue;
          const m = g.type === 'REC' ? recs : passes;
          expect(m.has(keyOf(g.leaf))).toBe(false); // no record twice
          m.set(keyOf(g.leaf), g);
        }
        let changedBefore = 0;
        for (const l of leaves) {
          const k = keyOf(l);
          if (l.createTid >= since && l.createTid <= plan.tidEnd) {
            expect(recs.has(k)).toBe(true);
            expect(passes.has(k)).toBe(false);
          } else if (l.createTid < since) {
            expect(recs.has(k)).toBe(false);
            if (l.deleteTid >= since) {
              // deleted inside the window: the target must hear of it, so never inside a SKIP
              changedBefore++;
              const p = passes.get(k) as Extract<Got, { type: 'PASS' }>;
              expect(p, `PASS for ${k}`).toBeDefined();
              expect(p.leaf.deleteTid).toBe(l.deleteTid); // PASS keeps delete_tid
            } else if (!passes.has(k)) {
              expect(skips.some((s) => inRange(l, s.beg, s.end)), `leaf ${k} neither PASS nor in a SKIP`).toBe(true);
            }
          }
        }
        expect(recs.size).toBe(leaves.filter((l) => l.createTid >= since && l.createTid <= plan.tidEnd).length);
        // no SKIP hides a record that changed in the window
        for (const s of skips) for (const l of leaves) if (inRange(l, s.beg, s.end)) expect(l.createTid < since && (l.deleteTid === 0n || l.deleteTid < since)).toBe(true);
        if (since === GEN[0] + 1n && pfsId === 0) expect(changedBefore).toBeGreaterThan(0);
      });
    }
  }

  it('the mirror_tid shortcut reads fewer nodes than the tree holds', () => {
    const total = M.counts.btree.nodes as number;
    const run = (tidBeg: bigint) => {
      const tree = new BTree(ctx.vs);
      const cs = new CountingSink();
      mirrorReadCall({ vs: ctx.vs, tree }, { pfsId: 0, keyBeg: MIRROR_KEY_BEG, keyEnd: MIRROR_KEY_END, tidBeg, tidEnd: NEXT_TID, nodata: true }, cs);
      return { nodes: tree.nodesRead, cs };
    };
    const full = run(0n);
    const inc = run(GEN[1] + 1n);
    // a full read of PFS 0 visits the nodes holding PFS 0 (nearly all), each once
    expect(full.nodes).toBeLessThanOrEqual(total);
    expect(full.cs.skips).toBe(0);
    expect(inc.cs.skips).toBeGreaterThan(0);
    expect(inc.nodes).toBeLessThan(full.nodes);
    // the skipped subtrees are leaves never read: at least one node saved per SKIP
    expect(full.nodes - inc.nodes).toBeGreaterThanOrEqual(inc.cs.skips);
  });

  it('--since past the end: one IDLE batch, no bulk', () => {
    const { bytes, plan } = mirrorReadToMemory(ctx, { pfsId: 1, since: NEXT_TID + 5n });
    const got = collect(bytes);
    expect(plan.batches).toEqual([{ tidBeg: NEXT_TID + 5n, tidEnd: NEXT_TID, idle: true }]);
    expect(got.bulk).toEqual([]);
    expect(got.batches.map((b) => b.end)).toEqual([HAMMER_MREC_TYPE_IDLE]);
    expect(got.problems).toEqual([]);
  });
});

describe('batches, resumed calls and the estimate', () => {
  it('a size budget splits PFS 0 into several SYNC batches that together send each record once', () => {
    const { bytes, plan } = mirrorReadToMemory(ctx, { pfsId: 0, batchBytes: 256 * 1024 });
    expect(plan.batches.length).toBeGreaterThan(1);
    for (let i = 1; i < plan.batches.length; i++) expect(plan.batches[i].tidBeg).toBe(plan.batches[i - 1].tidEnd + 1n);
    expect(plan.batches[plan.batches.length - 1].tidEnd).toBe(plan.tidEnd);
    const got = collect(bytes);
    expect(got.problems).toEqual([]);
    expect(got.batches.length).toBe(plan.batches.length);
    got.batches.forEach((b, i) => {
      expect(b.end).toBe(HAMMER_MREC_TYPE_SYNC);
      expect(b.info.tidEnd).toBe(plan.batches[i].tidEnd);
    });
    const leaves = pfsLeaves(ctx, 0);
    const recs = got.bulk.filter((g) => g.type === 'REC') as Extract<Got, { type: 'REC' }>[];
    expect(new Set(recs.map((r) => keyOf(r.leaf))).size).toBe(leaves.length);
    expect(recs.length).toBe(leaves.length);
    // a record deleted after its batch's tid_end goes out live, and a later batch PASSes the deletion
    let checked = 0;
    for (const r of recs) {
      const l = leaves.find((x) => keyOf(x) === keyOf(r.leaf))!;
      const bEnd = plan.batches[r.batch].tidEnd;
      if (l.deleteTid !== 0n && l.deleteTid > bEnd) {
        expect(r.leaf.deleteTid).toBe(0n);
        const later = got.bulk.find((g) => g.type === 'PASS' && g.batch > r.batch && keyOf(g.leaf) === keyOf(l));
        expect(later && later.type === 'PASS' && later.leaf.deleteTid).toBe(l.deleteTid);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(0);
  });

  it('resuming calls from key_cur (small call budgets) sends the same records', () => {
    for (const since of [undefined, GEN[1] + 1n]) {
      const one = collect(mirrorReadToMemory(ctx, { pfsId: 0, since, batchBytes: 0 }).bytes);
      const res = mirrorReadToMemory(ctx, { pfsId: 0, since, batchBytes: 0 }, { callBytes: 70_000 });
      expect(res.report.calls).toBeGreaterThan(since === undefined ? 100 : 2);
      const many = collect(res.bytes);
      expect(many.problems).toEqual([]);
      const recs = (c: typeof one) => c.bulk.filter((g) => g.type === 'REC').map((g) => keyOf((g as { leaf: never }).leaf));
      expect(recs(many)).toEqual(recs(one));
      if (since === undefined) expect(many.bulk.length).toBe(one.bulk.length); // no SKIPs: identical sequence
    }
  });

  it('a call budget below one record is refused instead of looping', () => {
    expect(() => mirrorReadToMemory(ctx, { pfsId: 0, batchBytes: 0 }, { callBytes: 64 })).toThrow(BadFieldError);
  });

  it('--estimate predicts the exact stream size and record counts', () => {
    const cases = [
      { pfsId: 0, batchBytes: 0 }, { pfsId: 0, batchBytes: 256 * 1024 }, { pfsId: 0, since: GEN[1] + 1n, batchBytes: 0 },
      { pfsId: 1, batchBytes: 0 }, { pfsId: 2, batchBytes: 0 }, { pfsId: 1, since: NEXT_TID + 1n },
    ];
    for (const o of cases) {
      for (const nodata of [false, true]) {
        const real = mirrorReadToMemory(ctx, o, { nodata });
        const tree = new BTree(ctx.vs);
        const c2 = { vs: ctx.vs, tree };
        const e = estimateMirrorRead(c2, planMirrorRead(c2, o), { nodata });
        expect(e.bytes).toBe(real.bytes.length);
        expect([e.rec, e.pass, e.skip]).toEqual([real.report.rec, real.report.pass, real.report.skip]);
        expect(e.payloadBytes).toBe(real.report.payloadBytes);
      }
    }
  });

  it('--nodata streams carry REC headers only, flagged NODATA', () => {
    const { bytes } = mirrorReadToMemory(ctx, { pfsId: 1, batchBytes: 0 }, { nodata: true });
    const got = collect(bytes);
    expect(got.problems).toEqual([]);
    expect(got.summary.nodataRecords).toBe(pfsLeaves(ctx, 1).length);
    for (const g of got.bulk) if (g.type === 'REC') expect([g.flags, g.payload.length]).toEqual([HAMMER_MRECF_NODATA, 0]);
  });
});

describe('source selection', () => {
  it('a missing PFS is NotFoundError; PFS bits in the key range are refused', () => {
    expect(() => mirrorSource(ctx, 7)).toThrow(NotFoundError);
    const bad = { ...MIRROR_KEY_BEG, localization: 0x10001 };
    expect(() => mirrorReadCall(ctx, { pfsId: 0, keyBeg: bad, keyEnd: MIRROR_KEY_END, tidBeg: 0n, tidEnd: 1n }, new CountingSink())).toThrow(BadFieldError);
    expect(() => mirrorReadCall(ctx, { pfsId: 0, keyBeg: MIRROR_KEY_END, keyEnd: MIRROR_KEY_BEG, tidBeg: 0n, tidEnd: 1n }, new CountingSink())).toThrow(BadFieldError);
  });

  it('newfs image: tid_end covers root records above vol0_next_tid (root mirror_tid 0)', () => {
    const c = openCtx(imagePaths('demo-v7'));
    try {
      expect(c.vs.root.nextTid).toBe(0x100000000n);
      const { bytes, plan } = mirrorReadToMemory(c, { pfsId: 0 });
      expect(plan.tidEnd).toBe(0x100000001n);
      const got = collect(bytes);
      expect(got.problems).toEqual([]);
      expect(got.bulk.map((g) => g.type)).toEqual(['REC', 'REC']);
      expect(got.batches[0].info.pfsd1.label).toBe('DEMO');
      expect(got.batches[0].info.pfsd2.syncEndTid).toBe(0x100000001n);
    } finally {
      c.vs.close();
    }
  });
});

describe('damaged payloads and zero-fill leaves', () => {
  it('a payload failing its CRC is sent flagged CRC_ERROR|DATA_CRC_BAD with the bytes read; a zero-fill leaf sends zeros', () => {
    const img = copyImage('content-v7');
    try {
      // find two DATA leaves of PFS 1 through a plain walk with node positions
      const c0 = openCtx(img.paths);
      const hits: { node: bigint; index: number; dataOffset: bigint; dataLen: number; key: string }[] = [];
      const beg = { ...MIRROR_KEY_BEG, localization: 1 << 16 };
      const end = { ...MIRROR_KEY_END, localization: (1 << 16) | 0xffff };
      forEachLeaf(c0.tree, beg, end, (n, i) => {
        const l = n.leaf(i);
        if (l.recType === 0x10 && l.dataLen > 100 && l.dataOffset !== 0n) hits.push({ node: n.offset, index: i, dataOffset: l.dataOffset, dataLen: l.dataLen, key: keyOf(l) });
      });
      c0.vs.close();
      expect(hits.length).toBeGreaterThan(2);
      const [bad, zero] = [hits[0], hits[hits.length - 1]];
      patchBytes(img.paths, bad.dataOffset + 10n, (b) => void (b[0] ^= 0x5a), 1);
      patchLeaf(img.paths, zero.node, zero.index, (dv, at) => dv.setBigUint64(at + ELM.dataOffset, 0n, true));

      const c = openCtx(img.paths);
      try {
        const { bytes, report } = mirrorReadToMemory(c, { pfsId: 1, batchBytes: 0 });
        expect(report.crcErrors).toBe(1);
        const got = collect(bytes);
        expect(got.problems).toEqual([]); // flagged records are expected, not stream problems
        expect(got.summary.crcErrorRecords).toBe(1);
        const recs = got.bulk.filter((g) => g.type === 'REC') as Extract<Got, { type: 'REC' }>[];
        const rb = recs.find((r) => keyOf(r.leaf) === bad.key)!;
        expect(rb.flags >>> 0).toBe((HAMMER_MRECF_CRC_ERROR | HAMMER_MRECF_DATA_CRC_BAD) >>> 0);
        expect(Buffer.from(rb.payload).equals(Buffer.from(c.vs.read(bad.dataOffset, bad.dataLen)))).toBe(true);
        const rz = recs.find((r) => keyOf(r.leaf) === zero.key)!;
        expect(rz.flags).toBe(0);
        expect(rz.leaf.dataOffset).toBe(0n);
        expect(rz.payload.length).toBe(zero.dataLen);
        expect(rz.payload.every((x) => x === 0)).toBe(true);
        expect(recs.length).toBe(pfsLeaves(c, 1).length);
      } finally {
        c.vs.close();
      }
    } finally {
      img.cleanup();
    }
  });
});

