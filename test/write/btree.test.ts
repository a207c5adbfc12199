// B-Tree writes on copies of real newfs images: thousands of random inserts (depth >= 3),
// delete-marks, physical deletes that empty leaves, then structure, mirror_tid, CRC and freemap
// recount checks on a fresh read-only open, and a Cursor read-back against the model.
import { describe, test, expect } from 'vitest';
import { copyImage, type ImageName } from '../helpers/images.js';
import { openVolumeSetForWrite } from '../../src/volume/writable-volume-set.js';
import { openVolumeSet } from '../../src/volume/volume-set.js';
import { checkTree, checkFreemap, checkFifo } from './check.js';
import { applyWorkload, compareWithModel, deleteRange, modelOf, mulberry32, readAll, type Model } from './workload.js';
import { BTree } from '../../src/btree/btree.js';
import { deleteLeaf } from '../../src/btree/modify.js';

function verify(paths: string[], model: Model, minDepth = 0) {
  const ro = openVolumeSet(paths);
  try {
    const rep = checkTree(ro);
    expect(rep.problems).toEqual([]);
    expect(rep.depth).toBeGreaterThanOrEqual(minDepth);
    expect(checkFreemap(ro, rep.used).problems).toEqual([]);
    expect(compareWithModel(ro, model)).toEqual([]);
    expect(checkFifo(ro)).toEqual([]);
    return rep;
  } finally {
    ro.close();
  }
}

describe.each(['demo-v7', 'v6'] as ImageName[])('B-Tree writes on %s', (name) => {
  test('insert until depth >= 3, mark, delete, unlink leaves', () => {
    const img = copyImage(name);
    try {
      const rng = mulberry32(name === 'v6' ? 6 : 7);
      let vs = openVolumeSetForWrite(img.paths);
      let model = modelOf(vs);
      expect(model.size).toBe(2); // root inode + root PFS record
      // several transactions, the last ones with marks and deletes
      for (let t = 0; t < 4; t++) {
        model = applyWorkload(vs, rng, model, { inserts: 1500, bigEvery: 50 });
        vs.tx!.commit();
      }
      vs.close();
      const rep1 = verify(img.paths, model, 3);
      expect(rep1.leaves.length).toBe(model.size);

      vs = openVolumeSetForWrite(img.paths);
      expect(vs.recovery?.clean).toBe(true);
      model = applyWorkload(vs, rng, model, { inserts: 300, marks: 400, deletes: 300 });
      const tid = vs.tx!.tid;
      vs.tx!.commit();
      vs.close();
      const rep2 = verify(img.paths, model, 3);
      expect([...model.values()].filter((e) => e.deleteTid === tid).length).toBeGreaterThan(300); // 400 marked, some then deleted
      expect(rep2.maxTid).toBe(tid);

      // physical deletes of a contiguous range: whole leaves become empty and are freed
      vs = openVolumeSetForWrite(img.paths);
      const nodesBefore = rep2.nodes;
      model = deleteRange(vs, model, 100, 1500);
      vs.tx!.commit();
      vs.close();
      const rep3 = verify(img.paths, model, 2);
      expect(rep3.nodes).toBeLessThan(nodesBefore - 10);

      // delete everything: the tree collapses to an empty root leaf... plus the two newfs records
      vs = openVolumeSetForWrite(img.paths);
      model = deleteRange(vs, model, 0, model.size);
      vs.tx!.commit();
      vs.close();
      verify(img.paths, model);
    } finally {
      img.cleanup();
    }
  });
});

test('deleting every record collapses the tree to an empty root leaf, which takes inserts again', () => {
  const img = copyImage('demo-v7');
  try {
    let vs = openVolumeSetForWrite(img.paths);
    let model = applyWorkload(vs, mulberry32(77), modelOf(vs), { inserts: 4000 });
    vs.tx!.commit();
    const tree = new BTree(vs);
    const tx = vs.begin();
    for (const e of readAll(vs)) deleteLeaf(tx, tree, e);
    tx.commit();
    vs.close();
    const ro = openVolumeSet(img.paths);
    const rep = checkTree(ro);
    expect(rep.problems).toEqual([]);
    expect(rep.nodes).toBe(1);
    expect(ro.read(ro.root.btreeRoot, 4096)[20]).toBe(0x4c); // 'L'
    ro.close();
    vs = openVolumeSetForWrite(img.paths);
    model = applyWorkload(vs, mulberry32(78), new Map(), { inserts: 500 });
    vs.tx!.commit();
    vs.close();
    verify(img.paths, model, 2);
  } finally {
    img.cleanup();
  }
});
