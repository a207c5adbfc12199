// Staged new data (whole 16 KiB buffers of space allocated in the transaction): read back inside
// the transaction, written early once `stageLimit` is reached, mixed with in-place modify(), and
// a power cut / EIO at every write of such a transaction recovers to the last committed state.
import { describe, test, expect } from 'vitest';
import { openDevice } from '../../src/io/device.js';
import { FaultDevice } from '../../src/io/memory-device.js';
import type { WritableBlockDevice } from '../../src/io/device.js';
import { HammerError } from '../../src/errors.js';
import { WritableVolumeSet } from '../../src/volume/writable-volume-set.js';
import { BTree } from '../../src/btree/btree.js';
import { insertLeaf, recordDataCrc, writeRecordData, zoneForRecord } from '../../src/btree/modify.js';
import { HAMMER_OBJTYPE_REGFILE, HAMMER_RECTYPE_DATA } from '../../src/ondisk/constants.js';
import type { LeafElm } from '../../src/ondisk/btree-elm.js';
import { imagePaths } from '../helpers/images.js';
import { CowDevice, PowerCut, crashSet } from '../crash/devices.js';
import { checkFifo, checkFreemap, checkTree } from './check.js';
import { compareWithModel, keyStr, modelOf, mulberry32, type Model } from './workload.js';

/** Sizes cycle through whole buffers (staged), a partial tail and small payloads (dirty buffers). */
const SIZES = [65536, 16384, 40000, 300, 32768, 49152];

interface Written {
  off: bigint;
  data: Uint8Array;
}

/** One transaction of `n` payloads (left open); returns the model once committed. */
function work(vs: WritableVolumeSet, model: Model, seed: number, n: number, limit: number, written: Written[] = []): Model {
  vs.overlay.stageLimit = limit;
  const rng = mulberry32(seed);
  const tx = vs.begin();
  const tree = new BTree(vs);
  const next = new Map(model);
  for (let i = 0; i < n; i++) {
    const len = SIZES[i % SIZES.length];
    const data = new Uint8Array(len);
    for (let j = 0; j < len; j += 5) data[j] = Math.floor(rng() * 256);
    let d: { dataOffset: bigint; dataLen: number; dataCrc: number };
    if (i % 3 === 1) {
      // the free space is read (and cached) before it is filled: reads afterwards see the data
      const off = tx.alloc(zoneForRecord(HAMMER_RECTYPE_DATA, len), len);
      vs.read(off, len);
      tx.writeNew(off, data);
      d = { dataOffset: off, dataLen: len, dataCrc: recordDataCrc(tx.version, HAMMER_RECTYPE_DATA, data) };
    } else {
      d = writeRecordData(tx, HAMMER_RECTYPE_DATA, data);
    }
    if (i % 4 === 0) {
      // change the payload in place after it was staged (or already written early)
      const m = tx.modify(d.dataOffset + 100n, 4);
      m.buf.bytes.set([0xde, 0xad, 0xbe, 0xef], m.at);
      data.set([0xde, 0xad, 0xbe, 0xef], 100);
      d.dataCrc = recordDataCrc(tx.version, HAMMER_RECTYPE_DATA, data);
    }
    const elm: LeafElm = {
      localization: 2, objId: 0x20000n + BigInt(i % 7), recType: HAMMER_RECTYPE_DATA, key: BigInt(i + 1) * 65536n, createTid: tx.tid,
      deleteTid: 0n, objType: HAMMER_OBJTYPE_REGFILE, btype: 0x52, createTs: tx.ts, deleteTs: 0, ...d,
    };
    insertLeaf(tx, tree, elm);
    next.set(keyStr(elm), elm);
    written.push({ off: d.dataOffset, data });
  }
  return next;
}

function problems(vs: WritableVolumeSet, model: Model): string[] {
  const rep = checkTree(vs);
  return [...rep.problems, ...checkFreemap(vs, rep.used).problems, ...compareWithModel(vs, model), ...checkFifo(vs)];
}

function readBack(vs: WritableVolumeSet, written: Written[]): number {
  let bad = 0;
  for (const w of written) if (!Buffer.from(vs.read(w.off, w.data.length)).equals(w.data)) bad++;
  return bad;
}

describe('staged new data', () => {
  const base = () => new CowDevice(openDevice(imagePaths('demo-v7')[0], { lock: 'none' }));

  test('read back in the transaction and after reopening, with and without early writes', () => {
    for (const limit of [1 << 30, 3 * 65536]) {
      const cow = base();
      let vs = WritableVolumeSet.fromDevices([cow]);
      const m0 = modelOf(vs);
      const written: Written[] = [];
      const m1 = work(vs, m0, 5, 60, limit, written);
      expect(vs.overlay.newDataBytes).toBeGreaterThan(1 << 20);
      if (limit < 1 << 30) expect(vs.overlay.stagedBytes).toBeLessThan(limit);
      expect(readBack(vs, written)).toBe(0);
      // views of staged buffers a reader keeps must stay valid after the commit and later ones
      const held = written.filter((w) => w.data.length === 16384).map((w) => ({ view: vs.read(w.off, 16384), data: w.data }));
      expect(held.length).toBeGreaterThan(5);
      vs.tx!.commit();
      expect(readBack(vs, written)).toBe(0);
      const more: Written[] = [];
      const m2 = work(vs, m1, 9, 60, limit, more);
      vs.tx!.commit();
      expect(held.filter((h) => !Buffer.from(h.view).equals(h.data)).length).toBe(0);
      vs = WritableVolumeSet.fromDevices([cow.clone()]);
      expect(readBack(vs, written)).toBe(0);
      expect(readBack(vs, more)).toBe(0);
      expect(problems(vs, m2)).toEqual([]);
    }
  });

  test('abort: nothing written below the limit; the committed state kept above it', () => {
    for (const limit of [1 << 30, 2 * 65536]) {
      const cow = base();
      const cut = new PowerCut(Infinity, 1, mulberry32(1));
      let vs = WritableVolumeSet.fromDevices(crashSet([cow], cut));
      const m0 = modelOf(vs);
      const w0 = cut.writes;
      work(vs, m0, 6, 30, limit);
      vs.tx!.abort();
      if (limit === 1 << 30) expect(cut.writes).toBe(w0);
      else expect(cut.writes).toBeGreaterThan(w0);
      expect(compareWithModel(vs, m0)).toEqual([]);
      vs = WritableVolumeSet.fromDevices([cow.clone()]);
      expect(problems(vs, m0)).toEqual([]);
    }
  });

  test('a crash at every write of a transaction that writes data early recovers', () => {
    const LIMIT = 2 * 65536;
    const N = 18;
    const pristine = base();
    const m0 = modelOf(WritableVolumeSet.fromDevices([pristine.clone()]));
    // count the transaction's writes
    const cut = new PowerCut(Infinity, 1, mulberry32(2));
    const probe = WritableVolumeSet.fromDevices(crashSet([pristine.clone()], cut));
    const w0 = cut.writes;
    const m1 = work(probe, m0, 7, N, LIMIT);
    probe.tx!.commit();
    const writes = cut.writes - w0;
    expect(writes).toBeGreaterThan(6);
    const failures: string[] = [];
    const states = { base: 0, new: 0 };
    for (const mode of ['eio', 'lost'] as const) {
      for (let n = 1; n <= writes + 1; n++) {
        const clone = pristine.clone();
        let devs: WritableBlockDevice[];
        if (mode === 'eio') devs = [new FaultDevice(clone, { failWriteAt: n, writeFault: 'EIO' })];
        else devs = crashSet([clone], new PowerCut(n, 0.5, mulberry32(n * 13)));
        try {
          const vs = WritableVolumeSet.fromDevices(devs);
          work(vs, m0, 7, N, LIMIT);
          vs.tx!.commit();
        } catch (e) {
          if (!(e instanceof HammerError)) throw e;
        }
        const vs = WritableVolumeSet.fromDevices([clone]);
        const isBase = compareWithModel(vs, m0).length === 0;
        const isNew = compareWithModel(vs, m1).length === 0;
        if (n < writes && !isBase) failures.push(`${mode} @${n}/${writes}: not the base state`);
        if (n > writes && !isNew) failures.push(`${mode} @${n}/${writes}: not the committed state`);
        if (!isBase && !isNew) failures.push(`${mode} @${n}/${writes}: neither state`);
        states[isBase ? 'base' : 'new']++;
        const p = problems(vs, isBase ? m0 : m1);
        if (p.length) failures.push(`${mode} @${n}/${writes}: ${p.slice(0, 3).join(' | ')}`);
      }
    }
    expect(failures).toEqual([]);
    expect(states.base).toBeGreaterThan(0);
    expect(states.new).toBeGreaterThan(0);
  });
});
