// Every input the fuzzer (or a person) ever found a problem with, replayed through its target:
// test/fuzz/corpus/NNN-<target>--<kind>.bin. Each must now end in a value or a HammerError.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { allTargets } from '../../fuzz/registry.js';
import { tolerate } from '../../fuzz/targets.js';

const CORPUS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'corpus');
const files = fs.existsSync(CORPUS) ? fs.readdirSync(CORPUS).filter((f) => f.endsWith('.bin')).sort() : [];
const index: { file: string; target: string }[] = fs.existsSync(path.join(CORPUS, 'index.json'))
  ? JSON.parse(fs.readFileSync(path.join(CORPUS, 'index.json'), 'utf8'))
  : [];

describe('fuzz regression corpus', () => {
  it('every corpus file is named NNN-<target>--<kind>.bin and listed in index.json', async () => {
    const names = new Set((await allTargets()).map((t) => t.name));
    for (const f of files) {
      const m = /^(\d{3})-(.+)--([a-z-]+)\.bin$/.exec(f);
      expect(m, f).not.toBeNull();
      expect(names.has(m![2]), `${f}: unknown target ${m![2]}`).toBe(true);
      expect(index.some((e) => e.file === f), `${f} missing from index.json`).toBe(true);
    }
  });
  for (const f of files) {
    it(`replays ${f}`, async () => {
      const target = /^\d{3}-(.+)--/.exec(f)![1];
      const t = (await allTargets()).find((x) => x.name === target)!;
      const input = new Uint8Array(fs.readFileSync(path.join(CORPUS, f)));
      const t0 = performance.now();
      tolerate(() => t.run(input));
      expect(performance.now() - t0).toBeLessThan(10_000);
    });
  }
});
