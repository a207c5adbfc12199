/**
 * Worker thread running one target. Before each execution it publishes the execution count and
 * the input into shared memory, so that when the parent kills it for a hang (no progress) or it
 * dies of memory exhaustion the parent still knows which input did it.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { loadSamples } from './samples.js';
import { fuzzTarget } from './engine.js';
import { allTargets } from './registry.js';

export interface WorkerData {
  target: string;
  execs: number;
  seconds: number;
  seed: number;
  imageDir: string;
  sab: SharedArrayBuffer;
}
export const SAB_INPUT_MAX = 1 << 17;

async function main(): Promise<void> {
  const d = workerData as WorkerData;
  const ctl = new Int32Array(d.sab, 0, 4);
  const bytes = new Uint8Array(d.sab, 16, SAB_INPUT_MAX);
  const t = (await allTargets()).find((x) => x.name === d.target);
  if (!t) throw new Error(`unknown target ${d.target}`);
  const seeds = t.seeds(loadSamples(d.imageDir));
  Atomics.store(ctl, 2, 1); // samples loaded: the watchdog starts now
  const stats = fuzzTarget(t, seeds, {
    execs: d.execs, seconds: d.seconds, seed: d.seed,
    beforeExec(input, n) {
      const len = Math.min(input.length, SAB_INPUT_MAX);
      bytes.set(input.subarray(0, len));
      Atomics.store(ctl, 1, len);
      Atomics.store(ctl, 0, n + 1);
    },
  });
  parentPort!.postMessage(stats);
}
// Imported by run.ts for the types and constants: only a worker runs the loop.
if (!isMainThread) {
  main().catch((e) => {
    parentPort!.postMessage({ fatal: String(e?.stack ?? e) });
  });
}
