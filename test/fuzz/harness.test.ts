// The fuzz harness itself: planted bugs (HAMMERFS_FUZZ_SELFTEST=1 targets in fuzz/registry.ts) —
// a TypeError, an endless loop, runaway allocation — must each be caught, and the input that
// triggered it saved to the corpus; the mutator is deterministic per seed. Runs the built harness
// (dist/fuzz/run.js; `npm test` builds it first) with its state in a temp dir.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng, mutate } from '../../fuzz/mutate.js';
import { fuzzTarget } from '../../fuzz/engine.js';
import { TARGETS } from '../../fuzz/targets.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const RUN = path.join(REPO, 'dist/fuzz/run.js');
const state = fs.mkdtempSync(path.join(os.tmpdir(), 'hammerfs-fuzzstate-'));
afterAll(() => fs.rmSync(state, { recursive: true, force: true }));

describe('mutator', () => {
  it('is a pure function of the seed', () => {
    const base = Uint8Array.from({ length: 200 }, (_, i) => i);
    const run = (seed: number) => {
      const r = new Rng(seed);
      return Array.from({ length: 50 }, () => Buffer.from(mutate(base, r, { maxLen: 400, donors: [base] })).toString('hex'));
    };
    expect(run(3)).toEqual(run(3));
    expect(run(3)).not.toEqual(run(4));
  });
  it('respects maxLen and produces varied lengths', () => {
    const r = new Rng(9);
    const lens = new Set<number>();
    for (let i = 0; i < 500; i++) {
      const m = mutate(new Uint8Array(64), r, { maxLen: 100, donors: [] });
      expect(m.length).toBeLessThanOrEqual(100);
      lens.add(m.length);
    }
    expect(lens.size).toBeGreaterThan(10);
  });
  it('the engine finds a planted bug in-process and records it once', () => {
    const t = { ...TARGETS[0], name: 'planted', seeds: () => [], run: (b: Uint8Array) => { if (b[3] === 0x80) throw new RangeError('planted'); } };
    const s = fuzzTarget(t, [new Uint8Array(8)], { execs: 20000, seconds: 20, seed: 1 });
    expect(s.findings.length).toBe(1);
    expect(s.findings[0].input[3]).toBe(0x80);
    expect(s.findings[0].signature).toMatch(/^RangeError: planted/);
  });
});

describe.skipIf(!fs.existsSync(RUN))('npm run fuzz harness', () => {
  it('catches a crash, a hang and runaway allocation, and saves each input', () => {
    const r = spawnSync(process.execPath, [RUN, '--target', 'selftest-crash,selftest-hang,selftest-oom', '--execs', '20000', '--seconds', '10', '--hang-seconds', '2', '--mem-mb', '64', '--seed', '5'], {
      encoding: 'utf8', timeout: 120_000, env: { ...process.env, HAMMERFS_FUZZ_STATE: state, HAMMERFS_FUZZ_SELFTEST: '1' },
    });
    expect(r.status, r.stderr).toBe(0);
    const idx = JSON.parse(fs.readFileSync(path.join(state, 'corpus', 'index.json'), 'utf8')) as { file: string; kind: string; target: string }[];
    expect(idx.map((e) => `${e.target}:${e.kind}`).sort()).toEqual(['selftest-crash:crash', 'selftest-hang:hang', 'selftest-oom:oom']);
    for (const e of idx) {
      const input = fs.readFileSync(path.join(state, 'corpus', e.file));
      expect(input[0], e.file).toBe(0); // the planted trigger
    }
    const res = JSON.parse(fs.readFileSync(path.join(state, 'results.json'), 'utf8'));
    expect(res.targets['selftest-crash'].findings.length).toBe(1);
    expect(fs.readFileSync(path.join(state, 'reliability.md'), 'utf8')).toMatch(/selftest-hang/);
    // The repository's own results were not touched.
    expect(fs.existsSync(path.join(REPO, 'fuzz', 'results.json')) ? fs.readFileSync(path.join(REPO, 'fuzz', 'results.json'), 'utf8') : '').not.toMatch(/selftest/);
  });
});
