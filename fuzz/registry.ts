/**
 * All fuzz targets: the decoder targets of targets.ts plus the mirror stream parsers' targets,
 * which are only added when those modules exist (they are written in parallel; a missing module
 * must not break the fuzzer or the tests).
 */
import { TARGETS, type FuzzTarget } from './targets.js';
import { treeTarget } from './tree-target.js';
import { undoTarget } from './undo-target.js';

let cached: FuzzTarget[] | undefined;

export async function allTargets(): Promise<FuzzTarget[]> {
  if (cached) return cached;
  const out = [...TARGETS, treeTarget, undoTarget];
  try {
    // A computed specifier: the module may not exist yet, and tsc must not insist on it.
    const spec = './mirror-targets.js';
    const m = (await import(spec)) as { MIRROR_TARGETS?: FuzzTarget[] };
    if (m.MIRROR_TARGETS) out.push(...m.MIRROR_TARGETS);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ERR_MODULE_NOT_FOUND' && !/Cannot find module|Failed to load url|does not provide an export/.test(String(e))) throw e;
  }
  if (process.env.HAMMERFS_FUZZ_SELFTEST === '1') out.push(...SELFTEST);
  cached = out;
  return out;
}

/**
 * Targets with planted bugs, only with HAMMERFS_FUZZ_SELFTEST=1: the harness test checks that a
 * crash, a hang and runaway allocation are each caught and their input saved.
 */
const SELFTEST: FuzzTarget[] = [
  {
    name: 'selftest-crash', covers: 'planted TypeError', maxLen: 16, seeds: () => [new Uint8Array([1, 2, 3, 4])],
    run(b) {
      if (b.length > 0 && b[0] === 0) (undefined as unknown as { x: number }).x = 1;
    },
  },
  {
    name: 'selftest-hang', covers: 'planted endless loop', maxLen: 16, seeds: () => [new Uint8Array([1, 2, 3, 4])],
    run(b) {
      // eslint-disable-next-line no-empty
      if (b.length > 0 && b[0] === 0) for (;;) {}
    },
  },
  {
    name: 'selftest-oom', covers: 'planted unbounded allocation', maxLen: 16, seeds: () => [new Uint8Array([1, 2, 3, 4])],
    run(b) {
      if (b.length > 0 && b[0] === 0) {
        const keep: number[][] = [];
        for (;;) keep.push(new Array(1 << 16).fill(keep.length));
      }
    },
  },
];
