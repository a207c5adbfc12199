// Refusals and failure paths leave the media byte-for-byte unchanged: abort, NoSpaceError,
// non-writable devices, a volume locked by another process, misuse of a transaction. Also:
// allocation on another volume of a multi-volume set, and TID allocation rules.
import { describe, test, expect } from 'vitest';
import * as fs from 'node:fs';
import * as crypto from 'node:crypto';
import { spawn } from 'node:child_process';
import { copyImage } from '../helpers/images.js';
import { openVolumeSetForWrite, WritableVolumeSet } from '../../src/volume/writable-volume-set.js';
import { openDevice } from '../../src/io/device.js';
import { openVolumeSet } from '../../src/volume/volume-set.js';
import { BTree } from '../../src/btree/btree.js';
import { insertLeaf, writeRecordData, deleteLeaf } from '../../src/btree/modify.js';
import { LockedError, NoSpaceError, UsageError, VolumeSetError, ExistsError } from '../../src/errors.js';
import { HAMMER_BIGBLOCK_SIZE, HAMMER_RECTYPE_DATA, HAMMER_LAYER2_BYTES, HAMMER_LAYER1_BYTES } from '../../src/ondisk/constants.js';
import { encodeLayer2, sealLayer2, encodeLayer1, sealLayer1 } from '../../src/ondisk/blockmap.js';
import { encodeOffset, volOf, bigBlockBase, toZone2 } from '../../src/ondisk/offset.js';
import { forEachBigBlock, layer1Entries } from '../../src/volume/freemap.js';
import { checkFreemap, checkTree } from './check.js';
import { applyWorkload, compareWithModel, modelOf, mulberry32 } from './workload.js';
import type { LeafElm } from '../../src/ondisk/btree-elm.js';

function hashFiles(paths: string[]): string {
  const h = crypto.createHash('sha256');
  const buf = Buffer.alloc(8 << 20);
  for (const p of paths) {
    const fd = fs.openSync(p, 'r');
    try {
      let pos = 0;
      for (;;) {
        const n = fs.readSync(fd, buf, 0, buf.length, pos);
        if (n <= 0) break;
        h.update(buf.subarray(0, n));
        pos += n;
      }
    } finally {
      fs.closeSync(fd);
    }
  }
  return h.digest('hex');
}

const dataElm = (tid: bigint, objId: bigint, key: bigint, d: { dataOffset: bigint; dataLen: number; dataCrc: number }): LeafElm => ({
  localization: 2, objId, recType: HAMMER_RECTYPE_DATA, key, createTid: tid, deleteTid: 0n, objType: 2, btype: 0x52,
  createTs: 0, deleteTs: 0, ...d,
});

describe('write safety', () => {
  test('abort after many changes leaves the image unchanged', () => {
    const img = copyImage('demo-v7');
    try {
      const before = hashFiles(img.paths);
      const vs = openVolumeSetForWrite(img.paths);
      const m0 = modelOf(vs);
      applyWorkload(vs, mulberry32(9), m0, { inserts: 800, bigEvery: 20 });
      // the transaction sees its own writes
      expect(modelOf(vs).size).toBeGreaterThan(700);
      vs.tx!.abort();
      expect(compareWithModel(vs, m0)).toEqual([]);
      vs.close();
      expect(hashFiles(img.paths)).toBe(before);
    } finally {
      img.cleanup();
    }
  });

  test('NoSpaceError is raised before anything is written; abort leaves the image unchanged', () => {
    const img = copyImage('v6');
    try {
      // Setup commit: every free big-block becomes a full zone-10 block (as if the disk were full).
      let vs = openVolumeSetForWrite(img.paths);
      let tx = vs.begin();
      const blocks: { l2Z2: bigint; entry: ReturnType<typeof Object> }[] = [];
      forEachBigBlock(vs, (b) => { if (b.entry.zone === 0) blocks.push({ l2Z2: b.l2Z2, entry: b.entry }); });
      expect(blocks.length).toBeGreaterThan(10);
      for (const b of blocks) {
        const e = { ...(b.entry as object), zone: 10, appendOff: HAMMER_BIGBLOCK_SIZE, bytesFree: 0 } as Parameters<typeof encodeLayer2>[0];
        sealLayer2(e, vs.version);
        const w = tx.modify(b.l2Z2, HAMMER_LAYER2_BYTES);
        encodeLayer2(e, w.buf.dv, w.at);
      }
      for (const l1 of layer1Entries(vs)) {
        const e = { ...l1.entry, blocksFree: 0n };
        sealLayer1(e, vs.version);
        const w = tx.modify(l1.z2, HAMMER_LAYER1_BYTES);
        encodeLayer1(e, w.buf.dv, w.at);
      }
      tx.header.statFreebigblocks = 0n;
      tx.commit();
      vs.close();
      const before = hashFiles(img.paths);
      vs = openVolumeSetForWrite(img.paths);
      tx = vs.begin();
      const tree = new BTree(vs);
      // zone 11 owns no big-block and none is free: the first small payload cannot be placed
      insertLeaf(tx, tree, dataElm(tx.tid, 0x100n, 0x4000n, writeRecordData(tx, HAMMER_RECTYPE_DATA, new Uint8Array(0))));
      expect(() => writeRecordData(tx, HAMMER_RECTYPE_DATA, new Uint8Array(100))).toThrow(NoSpaceError);
      tx.abort();
      vs.close();
      expect(hashFiles(img.paths)).toBe(before);
    } finally {
      img.cleanup();
    }
  });

  test('a non-writable device, a second transaction and a finished transaction are refused', () => {
    const img = copyImage('demo-v7');
    try {
      const before = hashFiles(img.paths);
      const ro = openDevice(img.paths[0]);
      expect(() => WritableVolumeSet.fromDevices([ro as never])).toThrow(VolumeSetError);
      ro.close();
      const vs = openVolumeSetForWrite(img.paths);
      const tx = vs.begin();
      expect(() => vs.begin()).toThrow(UsageError);
      const tree = new BTree(vs);
      const e = dataElm(tx.tid, 0x100n, 0x4000n, { dataOffset: 0n, dataLen: 0, dataCrc: 0 });
      insertLeaf(tx, tree, e);
      expect(() => insertLeaf(tx, tree, e)).toThrow(ExistsError);
      tx.abort();
      expect(() => tx.modify(vs.root.btreeRoot, 64)).toThrow(UsageError);
      expect(() => tx.commit()).toThrow(UsageError);
      vs.close();
      expect(hashFiles(img.paths)).toBe(before);
    } finally {
      img.cleanup();
    }
  });

  test('a volume locked by another process cannot be opened for writing', async () => {
    const img = copyImage('demo-v7');
    const before = hashFiles(img.paths);
    const script = `const fs=require('fs');const e=require('fs-ext');const fd=fs.openSync(process.argv[1],'r');e.flockSync(fd,'sh');process.stdout.write('locked\\n');setTimeout(()=>{},60000);`;
    const child = spawn(process.execPath, ['-e', script, img.paths[0]], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout!.on('data', (d) => { if (String(d).includes('locked')) resolve(); });
        child.on('exit', (c) => reject(new Error(`lock holder exited (${c})`)));
      });
      expect(() => openVolumeSetForWrite(img.paths)).toThrow(LockedError);
      expect(hashFiles(img.paths)).toBe(before);
    } finally {
      child.kill('SIGKILL');
      img.cleanup();
    }
  });

  test('allocations on volume 1 of a three-volume set keep every freemap consistent', () => {
    const img = copyImage('multi3');
    try {
      let vs = openVolumeSetForWrite(img.paths);
      let model = modelOf(vs);
      const tx = vs.begin();
      // point the small-data and B-Tree iterators at volume 1 (allocation may use any volume)
      tx.header.blockmap[11].nextOffset = encodeOffset(11, 1, 0);
      tx.header.blockmap[8].nextOffset = encodeOffset(8, 2, 0);
      const free0 = vs.root.statFreebigblocks;
      model = applyWorkload(vs, mulberry32(3), model, { inserts: 3000 });
      vs.tx!.commit();
      vs.close();
      const ro = openVolumeSet(img.paths);
      const rep = checkTree(ro);
      expect(rep.problems).toEqual([]);
      expect(checkFreemap(ro, rep.used).problems).toEqual([]);
      expect(compareWithModel(ro, model)).toEqual([]);
      const vols = new Set(rep.leaves.filter((e) => e.recType === HAMMER_RECTYPE_DATA).map((e) => volOf(e.dataOffset)));
      expect([...vols]).toEqual([1]);
      expect(volOf(ro.root.btreeRoot)).toBe(2);
      expect(ro.root.statFreebigblocks).toBeLessThan(free0);
      ro.close();
      // TIDs keep increasing across sessions and stay above every TID in the tree
      vs = openVolumeSetForWrite(img.paths);
      const t = vs.begin();
      expect(t.tid).toBeGreaterThan(rep.maxTid);
      t.abort();
      vs.close();
    } finally {
      img.cleanup();
    }
  });

  test('a big-block freed in a transaction is not reused before that transaction commits', () => {
    const img = copyImage('demo-v7');
    try {
      const vs = openVolumeSetForWrite(img.paths);
      const tree = new BTree(vs);
      let tx = vs.begin();
      const elms: LeafElm[] = [];
      for (let i = 0; i < 3; i++) {
        const e = dataElm(tx.tid, 0x200n, BigInt(i + 1) * 16384n, writeRecordData(tx, HAMMER_RECTYPE_DATA, new Uint8Array(100).fill(i)));
        insertLeaf(tx, tree, e);
        elms.push(e);
      }
      tx.commit();
      const b = toZone2(bigBlockBase(elms[0].dataOffset));
      expect(vs.freemapLookup(b).layer2.zone).toBe(11);
      const free0 = vs.root.statFreebigblocks;
      tx = vs.begin();
      for (const e of elms) deleteLeaf(tx, tree, e);
      expect(vs.freemapLookup(b).layer2.zone).toBe(0); // whole big-block free again
      expect(vs.root.statFreebigblocks).toBe(free0 + 1n);
      const d = writeRecordData(tx, HAMMER_RECTYPE_DATA, new Uint8Array(100));
      expect(toZone2(bigBlockBase(d.dataOffset))).not.toBe(b);
      insertLeaf(tx, tree, dataElm(tx.tid, 0x201n, 16384n, d));
      tx.commit();
      vs.close();
      const ro = openVolumeSet(img.paths);
      const rep = checkTree(ro);
      expect(rep.problems).toEqual([]);
      expect(checkFreemap(ro, rep.used).problems).toEqual([]);
      expect(ro.freemapLookup(b).layer2.zone).toBe(0);
      ro.close();
    } finally {
      img.cleanup();
    }
  });
});
