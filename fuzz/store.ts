/**
 * Files of the fuzzing campaign: fuzz/results.json (statistics of the last run per target, the
 * mutated-image campaign, the crash-point sweep and fault injection when those harnesses record
 * them) and the regression corpus test/fuzz/corpus/ with its index.json.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Finding } from './engine.js';

function findRepo(): string {
  let d = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(d, 'package.json'))) {
    const up = path.dirname(d);
    if (up === d) throw new Error('repository root not found');
    d = up;
  }
  return d;
}
export const REPO = findRepo();
/** HAMMERFS_FUZZ_STATE=dir keeps results, corpus and report out of the repository (harness tests). */
const STATE = process.env.HAMMERFS_FUZZ_STATE;
export const RESULTS = STATE ? path.join(STATE, 'results.json') : path.join(REPO, 'fuzz', 'results.json');
export const CORPUS = STATE ? path.join(STATE, 'corpus') : path.join(REPO, 'test', 'fuzz', 'corpus');
export const CORPUS_INDEX = path.join(CORPUS, 'index.json');
export const REPORT = STATE ? path.join(STATE, 'reliability.md') : path.join(REPO, 'docs', 'reliability.md');

export interface TargetResult {
  execs: number;
  ms: number;
  seeds: number;
  corpus: number;
  outcomes: Record<string, number>;
  slowestMs: number;
  findings: { kind: string; signature: string }[];
  date: string;
  seed: number;
}
export interface ImageCampaignResult {
  runs: number;
  flips: number;
  outcomes: Record<string, number>;
  findings: string[];
  maxMs: number;
  maxHeapMb: number;
  date: string;
  byRegion?: Record<string, number>;
}
export interface Results {
  seed?: number;
  targets: Record<string, TargetResult>;
  images?: ImageCampaignResult;
  /** Filled by the crash-consistency harness (another helper's work). */
  crashPoints?: { swept: number; consistent: number; notes?: string; date?: string };
  /** Filled by fault-injection runs (FaultDevice). */
  faults?: { injected: number; typedErrors: number; notes?: string; date?: string };
}

export function readResults(): Results {
  try {
    return JSON.parse(fs.readFileSync(RESULTS, 'utf8')) as Results;
  } catch {
    return { targets: {} };
  }
}
export function writeResults(r: Results): void {
  fs.writeFileSync(RESULTS, JSON.stringify(r, null, 1) + '\n');
}

export interface CorpusEntry {
  file: string;
  target: string;
  kind: string;
  signature: string;
  /** What was wrong and which change fixed it (edited by hand once fixed). */
  fixed?: string;
}
export function readCorpusIndex(): CorpusEntry[] {
  try {
    return JSON.parse(fs.readFileSync(CORPUS_INDEX, 'utf8')) as CorpusEntry[];
  } catch {
    return [];
  }
}

/** Save a finding's input unless an entry with the same signature exists; returns the new file. */
export function addFinding(f: Finding): string | undefined {
  const idx = readCorpusIndex();
  if (idx.some((e) => e.target === f.target && e.signature === f.signature)) return undefined;
  fs.mkdirSync(CORPUS, { recursive: true });
  const n = idx.reduce((m, e) => Math.max(m, Number(e.file.slice(0, 3)) || 0), 0) + 1;
  const file = `${String(n).padStart(3, '0')}-${f.target}--${f.kind}.bin`;
  fs.writeFileSync(path.join(CORPUS, file), f.input);
  idx.push({ file, target: f.target, kind: f.kind, signature: f.signature });
  fs.writeFileSync(CORPUS_INDEX, JSON.stringify(idx, null, 1) + '\n');
  return path.join(CORPUS, file);
}
