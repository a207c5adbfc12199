/**
 * Bench sections. Each file in bench/sections/ exports `section: BenchSection`; run.ts imports
 * every compiled file in dist/bench/sections/ (no list to edit), runs them in file-name order and
 * prints their results. Images are decompressed on demand (scripts/images.mjs).
 */
export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  /** free text: what was measured, counts, ratios */
  note?: string;
}

export interface BenchContext {
  /** Paths of a bundled image's volumes (decompressed into the cache dir if needed). */
  images(name: string): Promise<string[]>;
  /** Run fn repeatedly for at least minMs (and at least `min` times); returns ms per run (median). */
  time(fn: () => void, o?: { minMs?: number; min?: number }): number;
  log(line: string): void;
}

export interface BenchSection {
  name: string;
  run(ctx: BenchContext): Promise<BenchResult[]> | BenchResult[];
}
