/**
 * All fuzz targets: the decoder targets of targets.ts, the mirror stream parsers', the whole-tree
 * structural target and UNDO recovery. Self-test targets with planted bugs are added only with
 * HAMMERFS_FUZZ_SELFTEST=1 (test/fuzz/harness.test.ts).
 */
import { TARGETS, type FuzzTarget } from './targets.js';
import { MIRROR_TARGETS } from './mirror-targets.js';
import { treeTarget } from './tree-target.js';
import { undoTarget } from './undo-target.js';
import { mirrorWriteTarget } from './mirror-write-target.js';

/** Every real target (no self-tests), synchronously. */
export const BASE_TARGETS: FuzzTarget[] = [...TARGETS, ...MIRROR_TARGETS, treeTarget, undoTarget, mirrorWriteTarget];

let cached: FuzzTarget[] | undefined;

export async function allTargets(): Promise<FuzzTarget[]> {
  if (cached) return cached;
  const out = BASE_TARGETS.slice();
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
