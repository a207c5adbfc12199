// Writing into a tree the DragonFly kernel built (content-v7: real files, directories, history):
// inserts, delete-marks and physical deletes keep every invariant, and every record the kernel
// wrote is still there, unchanged.
import { test, expect } from 'vitest';
import { copyImage } from '../helpers/images.js';
import { openVolumeSetForWrite } from '../../src/volume/writable-volume-set.js';
import { openVolumeSet } from '../../src/volume/volume-set.js';
import { checkFreemap, checkTree } from './check.js';
import { applyWorkload, compareWithModel, modelOf, mulberry32 } from './workload.js';

test('inserts and deletes in a kernel-written tree', () => {
  const img = copyImage('content-v7');
  try {
    const ro0 = openVolumeSet(img.paths);
    const rep0 = checkTree(ro0);
    const kernelProblems = rep0.problems;
    ro0.close();
    let vs = openVolumeSetForWrite(img.paths);
    let model = modelOf(vs);
    const kernelRecords = model.size;
    expect(kernelRecords).toBeGreaterThan(10);
    const tid0 = vs.begin().tid;
    expect(tid0).toBeGreaterThan(rep0.maxTid);
    vs.tx!.abort();
    for (let i = 0; i < 3; i++) {
      model = applyWorkload(vs, mulberry32(20 + i), model, { inserts: 1200, marks: i ? 100 : 0, deletes: i ? 100 : 0, objIds: 50 });
      vs.tx!.commit();
    }
    vs.close();
    const ro = openVolumeSet(img.paths);
    const rep = checkTree(ro);
    // nothing new beyond what the kernel's own tree already had
    expect(rep.problems.filter((p) => !kernelProblems.includes(p))).toEqual([]);
    expect(checkFreemap(ro, rep.used).problems).toEqual([]);
    expect(compareWithModel(ro, model, false)).toEqual([]);
    ro.close();
  } finally {
    img.cleanup();
  }
});
