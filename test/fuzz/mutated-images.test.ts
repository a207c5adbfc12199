// Real images with bytes of live metadata changed at seeded random places (volume header,
// freemap layer1/layer2 entries in use, B-Tree nodes, record payloads), then open + info, full
// cursor iteration with every payload CRC-checked, the `show` walk and a traversal of every PFS:
// each ends in bounded time with the pristine answer or a HammerError, and CRC-covered damage is
// always noticed. See fuzz/image-campaign.ts for the rules.
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareCampaign, mutatedRun, runOp, runFaultSweep, type Campaign, type OpName } from '../../fuzz/image-campaign.js';
import { Rng } from '../../fuzz/mutate.js';
import { imagePaths } from '../helpers/images.js';

/** JS heap plus ArrayBuffer backing stores (where a runaway read buffer would show). */
const memNow = () => {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};

const dir = () => path.dirname(imagePaths('demo-v7')[0]);

const PLAN: { image: string; runs: number; seed: number }[] = [
  { image: 'content-v7', runs: 80, seed: 0x5eed },
  { image: 'demo-v7', runs: 150, seed: 0xd3e0 },
];

for (const { image, runs, seed } of PLAN) {
  describe(`mutated ${image}`, () => {
    let c: Campaign;
    beforeAll(() => {
      c = prepareCampaign(dir(), image);
    });
    afterAll(() => c?.close());

    it('finds live metadata of every kind and the pristine image passes every operation', () => {
      const regions = new Set(c.targets.map((t) => t.region));
      expect([...regions].sort()).toEqual(['header', 'layer1', 'layer2', 'node', 'payload']);
      for (const [op, r] of Object.entries(c.pristine)) expect(r.ok, `${op}: ${r.error?.message}`).toBe(true);
      expect(c.pristine.show.value!.endsWith(':bad')).toBe(false);
    });

    it(`${runs} seeded runs end in the right answer or a HammerError, in bounded time and memory`, () => {
      const rng = new Rng(seed);
      const heap0 = memNow();
      const problems: string[] = [];
      const seen: Record<string, number> = {};
      let detected = 0;
      for (let i = 0; i < runs; i++) {
        const r = mutatedRun(c, rng); // a non-HammerError escapes here and fails the test
        seen[r.region] = (seen[r.region] ?? 0) + 1;
        if (!r.results.iterate.ok) detected++;
        for (const p of r.problems) problems.push(`run ${i} ${r.region} ${JSON.stringify(r.changed)}: ${p}`);
      }
      expect(problems).toEqual([]);
      expect(Object.keys(seen).length).toBe(5);
      expect(detected).toBeGreaterThan(0);
      // Generous: garbage is collected lazily; what must never happen is a volume-sized allocation.
      expect(memNow() - heap0).toBeLessThan(768 * 2 ** 20);
    });

    it('a zeroed root node is refused by every reader and flagged by show', () => {
      const node = c.targets.find((t) => t.region === 'node')!;
      for (let i = 0; i < node.len; i++) c.devs[0].changes.set(node.pos + i, 0);
      try {
        const res = Object.fromEntries((['info', 'iterate', 'show', 'traverse', 'mirror'] as OpName[]).map((op) => [op, runOp(c.devs, op)]));
        expect(res.iterate.ok).toBe(false);
        expect(res.traverse.ok).toBe(false);
        expect(res.mirror.ok).toBe(false);
        expect(res.show.ok && res.show.value!.endsWith(':bad')).toBe(true);
        expect(res.info.ok).toBe(true); // info reads only the header and the freemap
      } finally {
        c.devs[0].changes.clear();
      }
    });
  });
}

describe('I/O faults', () => {
  for (const [image, maxPerOp] of [['demo-v7', 1000], ['content-v7', 8]] as const) {
    it(`${image}: a failing read ends every operation in a HammerError or the right answer`, () => {
      const r = runFaultSweep(dir(), image, { maxPerOp, seed: 11 });
      expect(r.problems).toEqual([]);
      expect(r.injected).toBeGreaterThan(10);
      expect(r.typedErrors).toBeGreaterThan(r.injected / 2);
    });
  }
});
