/**
 * `npm run fuzz [-- --execs N --seconds S --seed X --target a,b --images N]`
 *
 * Runs each target in its own worker thread with a memory cap and a progress watchdog: a target
 * that stops making progress for --hang-seconds is a hang, a worker that exhausts its heap is an
 * unbounded allocation; either way the input being executed is saved. New findings are written
 * to test/fuzz/corpus/NNN-<target>--<kind>.bin (replayed by test/fuzz/corpus.test.ts) and
 * recorded in test/fuzz/corpus/index.json. Statistics go to fuzz/results.json, from which
 * docs/reliability.md is regenerated (fuzz/report.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { allTargets } from './registry.js';
import { SAB_INPUT_MAX, type WorkerData } from './worker.js';
import type { Finding, TargetStats } from './engine.js';
import { addFinding, readResults, writeResults, REPO, REPORT } from './store.js';
import { writeReport } from './report.js';
import { runImageCampaign, runFaultSweep } from './image-campaign.js';

interface Args {
  execs: number;
  seconds: number;
  seed: number;
  targets?: string[];
  images: number;
  hangSeconds: number;
  memMb: number;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { execs: 20000, seconds: 10, seed: 1, images: 0, hangSeconds: 10, memMb: 512 };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i], v = argv[i + 1];
    const num = () => {
      const n = Number(v);
      if (!Number.isFinite(n) || n < 0) throw new Error(`${k} takes a number, got ${v}`);
      i++;
      return n;
    };
    switch (k) {
      case '--execs': a.execs = num(); break;
      case '--seconds': a.seconds = num(); break;
      case '--seed': a.seed = num(); break;
      case '--images': a.images = num(); break;
      case '--hang-seconds': a.hangSeconds = num(); break;
      case '--mem-mb': a.memMb = num(); break;
      case '--target': a.targets = String(v).split(','); i++; break;
      case '-h': case '--help':
        console.log('usage: npm run fuzz -- [--execs N] [--seconds S] [--seed X] [--target a,b] [--images N] [--hang-seconds S] [--mem-mb M]');
        process.exit(0);
      default: throw new Error(`unknown option ${k}`);
    }
  }
  return a;
}

async function imageDir(): Promise<string> {
  const m = (await import(pathToFileURL(path.join(REPO, 'scripts/images.mjs')).href)) as { ensureImages(): Promise<void>; imageCacheDir(): string };
  await m.ensureImages();
  return m.imageCacheDir();
}

function runTarget(name: string, a: Args, dir: string): Promise<TargetStats> {
  const sab = new SharedArrayBuffer(16 + SAB_INPUT_MAX);
  const ctl = new Int32Array(sab, 0, 4);
  const wd: WorkerData = { target: name, execs: a.execs, seconds: a.seconds, seed: a.seed, imageDir: dir, sab };
  const here = path.dirname(fileURLToPath(import.meta.url));
  const w = new Worker(path.join(here, 'worker.js'), { workerData: wd, resourceLimits: { maxOldGenerationSizeMb: a.memMb } });
  const t0 = Date.now();
  const lastInput = () => new Uint8Array(sab, 16, Atomics.load(ctl, 1)).slice();
  const partial = (kind: Finding['kind'], msg: string): TargetStats => ({
    target: name, execs: Atomics.load(ctl, 0), ms: Date.now() - t0, seeds: 0, corpus: 0, outcomes: {}, slowestMs: 0,
    findings: [{ target: name, kind, signature: `${kind}: ${msg}`, message: msg, input: lastInput() }],
  });
  return new Promise((resolve, reject) => {
    let last = -1, lastChange = Date.now(), done = false;
    const tick = setInterval(() => {
      if (Atomics.load(ctl, 2) === 0) return; // still loading samples
      const n = Atomics.load(ctl, 0);
      if (n !== last) { last = n; lastChange = Date.now(); return; }
      if (Date.now() - lastChange > a.hangSeconds * 1000) {
        done = true;
        clearInterval(tick);
        const r = partial('hang', `no progress for ${a.hangSeconds} s`);
        void w.terminate().then(() => resolve(r));
      }
    }, 250);
    w.on('message', (m: TargetStats | { fatal: string }) => {
      if (done) return;
      done = true;
      clearInterval(tick);
      if ('fatal' in m) reject(new Error(`worker for ${name} failed: ${m.fatal}`));
      else resolve(m);
      void w.terminate();
    });
    w.on('error', (e: Error & { code?: string }) => {
      if (done) return;
      done = true;
      clearInterval(tick);
      if (e.code === 'ERR_WORKER_OUT_OF_MEMORY') resolve(partial('oom', `heap over ${a.memMb} MiB`));
      else reject(e);
    });
  });
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const dir = await imageDir();
  const all = await allTargets();
  // --target none: only the image campaign and fault sweep (--images N).
  const names = a.targets?.includes('none') ? [] : a.targets ?? all.map((t) => t.name);
  for (const n of names) if (!all.some((t) => t.name === n)) throw new Error(`unknown target ${n} (have: ${all.map((t) => t.name).join(', ')})`);
  const results = readResults();
  results.seed = a.seed;
  for (const name of names) {
    let s: TargetStats;
    try {
      s = await runTarget(name, a, dir);
    } catch (e) {
      // The harness itself failed (e.g. a module that does not load): say so, go on with the rest.
      console.error(`${name}: harness error: ${e instanceof Error ? e.message : e}`);
      process.exitCode = 1;
      continue;
    }
    const rate = s.ms > 0 ? Math.round((s.execs * 1000) / s.ms) : 0;
    console.log(`${name.padEnd(14)} ${String(s.execs).padStart(9)} execs ${String(s.ms).padStart(7)} ms (${rate}/s) corpus ${s.corpus} outcomes ${Object.keys(s.outcomes).length} findings ${s.findings.length}`);
    for (const f of s.findings) {
      const file = addFinding(f);
      console.log(`  FINDING ${f.kind} ${f.signature}${file ? ` -> ${path.relative(REPO, file)}` : ' (already in corpus)'}`);
    }
    results.targets[name] = {
      execs: s.execs, ms: s.ms, seeds: s.seeds, corpus: s.corpus, outcomes: s.outcomes, slowestMs: Math.round(s.slowestMs),
      findings: s.findings.map((f) => ({ kind: f.kind, signature: f.signature })), date: new Date().toISOString(), seed: a.seed,
    };
    writeResults(results);
  }
  if (a.images > 0) {
    const r = runImageCampaign(dir, { runs: a.images, seed: a.seed });
    console.log(`mutated images: ${r.runs} runs, ${r.flips} byte changes, outcomes ${JSON.stringify(r.outcomes)}, findings ${r.findings.length}`);
    for (const f of r.findings) console.log(`  FINDING ${f}`);
    results.images = { ...r, date: new Date().toISOString() };
    let injected = 0, typedErrors = 0;
    const notes: string[] = [];
    for (const image of ['demo-v7', 'content-v7']) {
      const f = runFaultSweep(dir, image, { maxPerOp: Math.max(20, Math.ceil(a.images / 5)), seed: a.seed });
      injected += f.injected;
      typedErrors += f.typedErrors;
      notes.push(`${image}: ${f.injected} read faults, ${f.typedErrors} typed errors, ${f.tolerated} tolerated by a report-mode reader${f.problems.length ? `, PROBLEMS: ${f.problems.join('; ')}` : ''}`);
    }
    console.log(`faults: ${injected} injected, ${typedErrors} typed errors`);
    results.faults = { injected, typedErrors, notes: `EIO on the Nth read of info, iterate, show, traverse and mirror-read (${notes.join('; ')}).`, date: new Date().toISOString() };
    writeResults(results);
  }
  writeReport();
  console.log(`wrote ${path.relative(REPO, REPORT)}`);
}

main().catch((e) => {
  console.error(`fuzz: ${e instanceof Error ? e.message : e}`);
  process.exitCode = 1;
});
