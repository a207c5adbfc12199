/**
 * The mutation loop for one target: pick an input from the working corpus, mutate it, run the
 * target. Inputs whose outcome (accepted, or which HammerError with which message shape) has not
 * been seen before join the working corpus: a cheap stand-in for coverage feedback that still
 * steers the fuzzer past each check in turn. Non-HammerErrors are findings, de-duplicated by
 * error class, message shape and the first stack frame in our sources.
 */
import { HammerError } from '../src/errors.js';
import { Rng, mutate } from './mutate.js';
import type { FuzzTarget } from './targets.js';

export interface Finding {
  target: string;
  kind: 'crash' | 'hang' | 'oom' | 'slow';
  signature: string;
  message: string;
  stack?: string;
  input: Uint8Array;
}

export interface TargetStats {
  target: string;
  execs: number;
  ms: number;
  seeds: number;
  corpus: number;
  /** Outcome shape -> count (e.g. "ok", "E_SIGNATURE not a HAMMER volume (bad signature)"). */
  outcomes: Record<string, number>;
  findings: Finding[];
  slowestMs: number;
}

export interface EngineOptions {
  execs: number;
  seconds: number;
  seed: number;
  /** Called before each execution with the input (hang attribution by the parent). */
  beforeExec?: (input: Uint8Array, n: number) => void;
  /** An execution slower than this is a finding (default 2000 ms). */
  slowMs?: number;
  maxCorpus?: number;
}

// Numbers, hex words and UUIDs vary per input; the shape of a message is what is left.
const shape = (s: string) => s.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/gi, 'U').replace(/0x[0-9a-f]+|\b[0-9a-f]{8,16}\b/gi, 'X').replace(/-?\d+/g, 'N').slice(0, 90);

export function outcomeKey(e: unknown): string {
  if (e === undefined) return 'ok';
  if (e instanceof HammerError) return `${e.code} ${shape(e.detail)}`;
  return 'CRASH';
}

export function crashSignature(e: unknown): string {
  const err = e instanceof Error ? e : new Error(String(e));
  const frame = (err.stack ?? '').split('\n').find((l) => /\/(src|fuzz)\//.test(l)) ?? '';
  const loc = frame.replace(/^.*\/((src|fuzz)\/[^):]+):(\d+).*$/, '$1:$3');
  return `${err.name}: ${shape(err.message)} @ ${loc}`;
}

/** Run one input; returns the error a target threw (undefined if it returned). */
export function execOnce(t: FuzzTarget, input: Uint8Array): unknown {
  try {
    t.run(input);
    return undefined;
  } catch (e) {
    return e;
  }
}

export function fuzzTarget(t: FuzzTarget, seeds: Uint8Array[], o: EngineOptions): TargetStats {
  const rng = new Rng(o.seed);
  const corpus: Uint8Array[] = seeds.length ? seeds.map((s) => s.slice(0, t.maxLen)) : [new Uint8Array(16)];
  const donors = corpus.slice();
  const stats: TargetStats = { target: t.name, execs: 0, ms: 0, seeds: seeds.length, corpus: 0, outcomes: {}, findings: [], slowestMs: 0 };
  const seen = new Set<string>();
  const maxCorpus = o.maxCorpus ?? 2000;
  const slowMs = o.slowMs ?? 2000;
  const t0 = performance.now();
  const deadline = t0 + o.seconds * 1000;
  // Seeds first, unmutated: they must all pass.
  const queue: Uint8Array[] = corpus.slice();
  while (stats.execs < o.execs) {
    if ((stats.execs & 255) === 0 && performance.now() > deadline) break;
    const input = queue.length ? queue.shift()! : mutate(rng.pick(corpus), rng, { maxLen: t.maxLen, donors });
    o.beforeExec?.(input, stats.execs);
    const s = performance.now();
    const e = execOnce(t, input);
    const dt = performance.now() - s;
    stats.execs++;
    if (dt > stats.slowestMs) stats.slowestMs = dt;
    const key = outcomeKey(e);
    stats.outcomes[key] = (stats.outcomes[key] ?? 0) + 1;
    if (key === 'CRASH') {
      const sig = crashSignature(e);
      if (!seen.has(sig)) {
        seen.add(sig);
        const err = e instanceof Error ? e : new Error(String(e));
        stats.findings.push({ target: t.name, kind: 'crash', signature: sig, message: err.message, stack: err.stack, input });
      }
      continue;
    }
    if (dt > slowMs && !seen.has('slow')) {
      seen.add('slow');
      stats.findings.push({ target: t.name, kind: 'slow', signature: `slow execution (${Math.round(dt)} ms)`, message: `${Math.round(dt)} ms`, input });
    }
    if (stats.outcomes[key] === 1 && corpus.length < maxCorpus) corpus.push(input);
  }
  stats.ms = Math.round(performance.now() - t0);
  stats.corpus = corpus.length;
  return stats;
}
