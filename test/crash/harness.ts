// Crash sweep: from a committed base state, run one write transaction and cut the power at
// write N (for every N, or a sample), then reopen (UNDO recovery runs) and check that the
// volume is consistent and holds exactly the last committed state: the base state if the cut
// came before the commit point, the new state after it. Modes:
//   eio   - write N and everything after fail (FaultDevice), earlier writes all landed
//   short - write N lands half, then the device dies (FaultDevice)
//   lost  - power cut at write N; each write since the last fsync lands or not at random
//   lost0 - power cut at write N; no write since the last fsync lands
//   recrash - as lost, then the power fails again during recovery (at one of its first writes)
import { openDevice } from '../../src/io/device.js';
import { FaultDevice, type Fault } from '../../src/io/memory-device.js';
import type { WritableBlockDevice } from '../../src/io/device.js';
import { HammerError } from '../../src/errors.js';
import { WritableVolumeSet } from '../../src/volume/writable-volume-set.js';
import { imagePaths, type ImageName } from '../helpers/images.js';
import { checkFifo, checkFreemap, checkTree } from '../write/check.js';
import { applyWorkload, compareWithModel, deleteRange, modelOf, mulberry32, type Model, type WorkloadOptions } from '../write/workload.js';
import { CowDevice, PowerCut, crashSet } from './devices.js';
import { encodeOffset } from '../../src/ondisk/offset.js';

export type Mode = 'eio' | 'short' | 'lost' | 'lost0' | 'recrash';

export interface Scenario {
  name: string;
  image: ImageName;
  seed: number;
  setup: WorkloadOptions[];
  work: WorkloadOptions & { deleteRange?: [number, number] };
  /** Zone iterators to point at other volumes before the setup (allocations land there). */
  iterators?: { zone: number; vol: number }[];
}

export interface Prepared {
  sc: Scenario;
  cows: CowDevice[];
  model0: Model;
  model1: Model;
  /** Writes the workload's commit issues (the last one is the commit point). */
  writes: number;
}

function runWork(vs: WritableVolumeSet, sc: Scenario, model: Model): Model {
  const rng = mulberry32(sc.seed * 7919 + 1);
  let m = applyWorkload(vs, rng, model, sc.work);
  if (sc.work.deleteRange) m = deleteRange(vs, m, sc.work.deleteRange[0], sc.work.deleteRange[1]);
  vs.tx!.commit();
  return m;
}

export function prepare(sc: Scenario): Prepared {
  const cows = imagePaths(sc.image).map((p) => new CowDevice(openDevice(p, { lock: 'none' })));
  let vs = WritableVolumeSet.fromDevices(cows);
  let model0 = modelOf(vs);
  const rng = mulberry32(sc.seed);
  if (sc.iterators) {
    const tx = vs.begin();
    for (const it of sc.iterators) tx.header.blockmap[it.zone].nextOffset = encodeOffset(it.zone, it.vol, 0);
  }
  for (const s of sc.setup) {
    model0 = applyWorkload(vs, rng, model0, s);
    vs.tx!.commit();
  }
  // count the workload's writes on a throw-away clone
  const probe = cows.map((c) => c.clone());
  const cut = new PowerCut(Infinity, 1, rng);
  vs = WritableVolumeSet.fromDevices(crashSet(probe, cut));
  const model1 = runWork(vs, sc, model0);
  return { sc, cows, model0, model1, writes: cut.writes };
}

export interface PointResult {
  n: number;
  mode: Mode;
  committed: boolean;
  state: 'base' | 'new';
  problems: string[];
}

function stateProblems(vs: WritableVolumeSet, model: Model): string[] {
  const rep = checkTree(vs);
  return [...rep.problems, ...checkFreemap(vs, rep.used).problems, ...compareWithModel(vs, model), ...checkFifo(vs)];
}

/** Cut the power at write n, recover, check. */
/**
 * `variant` picks another random subset of the unsynced writes that survive the power cut (modes
 * lost/recrash): a different crash state at the same write count.
 */
export function crashAt(p: Prepared, n: number, mode: Mode, opts: { continueAfter?: boolean; variant?: number } = {}): PointResult {
  const clones = p.cows.map((c) => c.clone());
  let devs: WritableBlockDevice[];
  if (mode === 'lost' || mode === 'lost0' || mode === 'recrash') {
    devs = crashSet(clones, new PowerCut(n, mode === 'lost0' ? 0 : 0.5, mulberry32(n * 31 + p.sc.seed + (mode === 'recrash' ? 17 : 0) + (opts.variant ?? 0) * 1_000_003)));
  } else {
    if (clones.length !== 1) throw new Error('eio/short modes count writes per device: single-volume scenarios only');
    devs = [new FaultDevice(clones[0], { failWriteAt: n, writeFault: (mode === 'eio' ? 'EIO' : 'short') as Fault })];
  }
  let committed = false;
  try {
    const vs = WritableVolumeSet.fromDevices(devs);
    runWork(vs, p.sc, p.model0);
    committed = true;
  } catch (e) {
    if (!(e instanceof HammerError)) throw e;
  }
  if (mode === 'recrash') {
    // recovery itself is interrupted; the next open must finish the job
    const cut = new PowerCut(1 + (n % 5), 0.5, mulberry32(n));
    try {
      WritableVolumeSet.fromDevices(crashSet(clones, cut));
    } catch (e) {
      if (!(e instanceof HammerError)) throw e;
    }
  }
  const vs = WritableVolumeSet.fromDevices(clones);
  const problems: string[] = [];
  // Which state must we see? Before the commit point: base; after: new; at it: either.
  const base = compareWithModel(vs, p.model0);
  const neu = compareWithModel(vs, p.model1);
  let state: 'base' | 'new';
  if (n < p.writes) {
    state = 'base';
    if (base.length) problems.push(`expected the base state: ${base.join('; ')}`);
  } else if (n > p.writes) {
    state = 'new';
    if (neu.length) problems.push(`expected the committed state: ${neu.join('; ')}`);
  } else {
    state = base.length === 0 ? 'base' : 'new';
    if (base.length && neu.length) problems.push(`neither state at the commit point: ${base.join('; ')}`);
  }
  problems.push(...stateProblems(vs, state === 'base' ? p.model0 : p.model1));
  if (n > p.writes && !committed) problems.push('commit reported failure although every write landed');
  if (opts.continueAfter && problems.length === 0) {
    // the recovered volume must take a further transaction and stay consistent
    const rng = mulberry32(n);
    const m = applyWorkload(vs, rng, state === 'base' ? p.model0 : p.model1, { inserts: 50, marks: 5, deletes: 5 });
    vs.tx!.commit();
    const again = WritableVolumeSet.fromDevices(clones);
    problems.push(...stateProblems(again, m).map((s) => `after a further commit: ${s}`));
  }
  return { n, mode, committed, state, problems };
}

export const SCENARIOS: Scenario[] = [
  { name: 'v7 inserts+splits', image: 'demo-v7', seed: 1, setup: [{ inserts: 1500 }, { inserts: 1500 }], work: { inserts: 400, bigEvery: 40 } },
  { name: 'v7 marks+deletes', image: 'demo-v7', seed: 2, setup: [{ inserts: 2500 }], work: { inserts: 100, marks: 150, deletes: 150 } },
  { name: 'v7 leaf unlinking', image: 'demo-v7', seed: 3, setup: [{ inserts: 2500 }], work: { inserts: 20, deleteRange: [200, 900] } },
  { name: 'v6 mixed (CRC-32)', image: 'v6', seed: 4, setup: [{ inserts: 2500 }], work: { inserts: 300, marks: 50, deletes: 50, bigEvery: 30 } },
  { name: 'v4 mixed', image: 'v4', seed: 5, setup: [{ inserts: 2000 }], work: { inserts: 200, marks: 50, deletes: 80 } },
  { name: 'multi3 mixed', image: 'multi3', seed: 6, setup: [{ inserts: 2000 }], work: { inserts: 300, marks: 40, deletes: 40 } },
  {
    name: 'multi3 data on vol 1, nodes on vol 2', image: 'multi3', seed: 7, setup: [{ inserts: 2000 }], work: { inserts: 300, marks: 40, deletes: 40, bigEvery: 25 },
    iterators: [{ zone: 11, vol: 1 }, { zone: 10, vol: 1 }, { zone: 8, vol: 2 }],
  },
];
