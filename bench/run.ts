/**
 * `npm run bench`: runs every section in bench/sections/ (see registry.ts) and prints one line
 * per result. `npm run bench -- NAME...` runs only the sections whose name contains one of NAME;
 * `--json` prints the results as one JSON document instead.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BenchContext, BenchResult, BenchSection } from './registry.js';
// @ts-expect-error plain JS module shared with the tests and the demo
import { ensureImages, IMAGES, imageCacheDir } from '../../scripts/images.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const json = args.includes('--json');
const filters = args.filter((a) => !a.startsWith('--'));

const ctx: BenchContext = {
  async images(name) {
    await ensureImages([name]);
    return (IMAGES[name] as string[]).map((f: string) => path.join(imageCacheDir(), f));
  },
  time(fn, o = {}) {
    const minMs = o.minMs ?? 2000;
    const min = o.min ?? 3;
    fn(); // warm-up: page cache, JIT
    const runs: number[] = [];
    const t0 = performance.now();
    while (runs.length < min || performance.now() - t0 < minMs) {
      const t = performance.now();
      fn();
      runs.push(performance.now() - t);
    }
    runs.sort((a, b) => a - b);
    return runs[runs.length >> 1];
  },
  log(line) {
    if (!json) process.stderr.write(line + '\n');
  },
};

const dir = path.join(here, 'sections');
const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.js')).sort() : [];
const all: { section: string; results: BenchResult[] }[] = [];
const failed: string[] = [];
for (const f of files) {
  const mod = (await import(pathToFileURL(path.join(dir, f)).href)) as { section?: BenchSection };
  const s = mod.section;
  if (!s) continue;
  if (filters.length && !filters.some((x) => s.name.includes(x))) continue;
  let results: BenchResult[];
  try {
    results = await s.run(ctx);
  } catch (e) {
    // one broken section must not hide the others' numbers
    failed.push(s.name);
    process.stderr.write(`bench: section ${s.name} failed: ${e instanceof Error ? e.message : String(e)}\n`);
    continue;
  }
  all.push({ section: s.name, results });
  if (!json) {
    console.log(`== ${s.name}`);
    for (const r of results) console.log(`  ${r.name.padEnd(44)} ${fmt(r.value).padStart(14)} ${r.unit}${r.note ? `   (${r.note})` : ''}`);
  }
}
if (json) console.log(JSON.stringify(all, null, 2));
if (failed.length) process.exitCode = 1;

function fmt(v: number): string {
  return v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(3);
}
