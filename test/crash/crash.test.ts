// Crash consistency: power cuts at sampled write counts during a commit (every write count
// with HAMMERFS_CRASH_FULL=1, which `npm run crash` sets), recovery, then structure, freemap and
// content checks against the last committed state.
import { describe, test, expect } from 'vitest';
import { SCENARIOS, prepare, crashAt, type Mode } from './harness.js';
import { volOf } from '../../src/ondisk/offset.js';
import { recordCrashPoints } from './record.js';

const FULL = process.env.HAMMERFS_CRASH_FULL === '1';
const SAMPLE = 3; // points per scenario and mode in the quick run
const VARIANTS = 4; // surviving-write subsets per point for the random power-cut modes (full run)

describe.each(SCENARIOS)('crash: $name', (sc) => {
  test('every sampled crash point recovers to the last committed state', () => {
    const p = prepare(sc);
    expect(p.writes).toBeGreaterThan(4);
    if (sc.iterators) expect([...p.model1.values()].some((e) => e.dataLen > 0 && volOf(e.dataOffset) === 1)).toBe(true);
    const multi: Mode[] = ['lost', 'lost0', 'recrash'];
    const modes: Mode[] = sc.image === 'multi3' ? multi : ['eio', 'short', ...multi];
    let points = 0;
    const failures: string[] = [];
    const states = { base: 0, new: 0 };
    for (const mode of modes) {
      const ns: number[] = [];
      if (FULL) for (let n = 1; n <= p.writes + 1; n++) ns.push(n);
      else {
        // always the commit point and its neighbours, plus a spread
        for (let k = 0; k < SAMPLE; k++) ns.push(1 + Math.floor((k * p.writes) / SAMPLE));
        ns.push(p.writes - 1, p.writes, p.writes + 1);
      }
      // the full sweep also tries several random subsets of surviving unsynced writes per count
      const variants = FULL && (mode === 'lost' || mode === 'recrash') ? VARIANTS : 1;
      for (const n of [...new Set(ns)]) {
        for (let v = 0; v < variants; v++) {
          const r = crashAt(p, n, mode, { continueAfter: n % 7 === 0 || n === p.writes, variant: v });
          points++;
          states[r.state]++;
          if (r.problems.length) failures.push(`${mode}#${v} @${n}/${p.writes}: ${r.problems.slice(0, 3).join(' | ')}`);
        }
      }
    }
    if (FULL) {
      console.log(`${sc.name}: ${points} crash points (${p.writes} writes per commit), base ${states.base}, new ${states.new}`);
      recordCrashPoints(sc.name, points, failures.length);
    }
    expect(failures).toEqual([]);
    expect(states.base).toBeGreaterThan(0);
    expect(states.new).toBeGreaterThan(0);
  });
});
