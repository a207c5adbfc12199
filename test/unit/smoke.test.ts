import { describe, expect, it } from 'vitest';
import { openVolumeSet } from '../../src/volume/volume-set.js';
import { BTree } from '../../src/btree/btree.js';
import { Cursor } from '../../src/btree/cursor.js';
import { HAMMER_MIN_KEY, HAMMER_MAX_KEY, HAMMER_MAX_TID } from '../../src/ondisk/constants.js';
import { imagePaths, NEWFS_IMAGES } from '../helpers/images.js';

const MIN = { localization: 0, objId: HAMMER_MIN_KEY, recType: 0, key: HAMMER_MIN_KEY, createTid: 1n, deleteTid: 0n, objType: 0, btype: 0 };
const MAX = { localization: 0xffffffff, objId: HAMMER_MAX_KEY, recType: 0xffff, key: HAMMER_MAX_KEY, createTid: HAMMER_MAX_TID, deleteTid: 0n, objType: 0, btype: 0 };

describe('smoke', () => {
  for (const name of [...NEWFS_IMAGES, 'content-v7' as const]) {
    it(`opens ${name} and iterates its B-Tree`, () => {
      const vs = openVolumeSet(imagePaths(name));
      const t = new BTree(vs);
      const c = new Cursor(t, { end: MAX });
      c.seek(MIN);
      let n = 0;
      while (c.next() === 'elm') n++;
      expect(n).toBeGreaterThanOrEqual(2);
      if (name === 'content-v7') expect(n).toBe(1339);
      vs.close();
    });
  }
});
