// Cycles and lies: structures that are internally consistent (CRCs resealed) but lie about the
// shape of the filesystem. Every reader must detect them with a HammerError and none may loop.
// Built on content-v7 (3-level B-Tree, 27 nodes, 1339 records) through an overlay of changed
// bytes on the unchanged image file.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HammerError, CycleError, BadFieldError } from '../../src/errors.js';
import { openDevice, type BlockDevice } from '../../src/io/device.js';
import { BTree } from '../../src/btree/btree.js';
import { Cursor } from '../../src/btree/cursor.js';
import { walkBTree, type WalkedNode } from '../../src/btree/walk.js';
import { HammerFs } from '../../src/fs/index.js';
import { extractTree } from '../../src/fs/extract.js';
import { sealBtreeNode, NODE } from '../../src/ondisk/btree-node.js';
import { ELM, type LeafElm } from '../../src/ondisk/btree-elm.js';
import { crc32c } from '../../src/ondisk/crc.js';
import { VOL } from '../../src/ondisk/volume-header.js';
import {
  HAMMER_BTREE_TYPE_INTERNAL, HAMMER_BTREE_TYPE_LEAF, HAMMER_RECTYPE_DIRENTRY, HAMMER_RECTYPE_DATA, HAMMER_BIGBLOCK_SIZE,
  HAMMER_MIN_KEY, HAMMER_MAX_KEY, HAMMER_MAX_TID, HAMMER_LAYER1_BYTES, HAMMER_ZONE_FREEMAP_INDEX,
} from '../../src/ondisk/constants.js';
import { OverlayDevice, openOnDevices, runOp, type OpName } from '../../fuzz/image-campaign.js';
import { collectNodeOffsets } from '../../fuzz/samples.js';
import { imagePaths } from '../helpers/images.js';

const MIN = { localization: 0, objId: HAMMER_MIN_KEY, recType: 0, key: HAMMER_MIN_KEY, createTid: 1n, deleteTid: 0n, objType: 0, btype: 0 };
const MAX = { localization: 0xffffffff, objId: HAMMER_MAX_KEY, recType: 0xffff, key: HAMMER_MAX_KEY, createTid: HAMMER_MAX_TID, deleteTid: 0n, objType: 0, btype: 0 };
const OPS: OpName[] = ['info', 'iterate', 'show', 'traverse'];

let inner: BlockDevice;
let dev: OverlayDevice;
let pristineTree: BTree;

/** Device byte of a zone offset in the pristine image. */
const pos = (off: bigint) => pristineTree.vs.locate(off).pos;

/** Read a node from the image, let `edit` change it, reseal its CRC, lay it over the image. */
function lieNode(off: bigint, edit: (dv: DataView) => void): void {
  const p = pos(off);
  const b = inner.read(p, 4096);
  edit(new DataView(b.buffer));
  sealBtreeNode(b, 0, 7);
  setBytes(p, b);
}
function setBytes(p: number, b: Uint8Array): void {
  for (let i = 0; i < b.length; i++) dev.changes.set(p + i, b[i]);
}

function nodesOfType(type: number): bigint[] {
  return collectNodeOffsets(pristineTree).filter((o) => pristineTree.node(o).type === type);
}
function iterate(): number {
  const c = new Cursor(new BTree(openOnDevices([dev])), { end: MAX });
  c.seek(MIN);
  let n = 0;
  while (c.next() === 'elm') n++;
  return n;
}
function walkNodes(): { nodes: WalkedNode[]; stats: ReturnType<typeof walkBTree> } {
  const nodes: WalkedNode[] = [];
  const stats = walkBTree(new BTree(openOnDevices([dev])), { checkData: true, onNode: (n) => nodes.push(n) });
  return { nodes, stats };
}
/** Every operation ends quickly, and in a HammerError or a value, never anything else. */
function allOpsBounded(): Record<OpName, ReturnType<typeof runOp>> {
  const out = {} as Record<OpName, ReturnType<typeof runOp>>;
  for (const op of OPS) {
    out[op] = runOp([dev], op);
    expect(out[op].ms, op).toBeLessThan(15_000);
  }
  return out;
}

beforeAll(() => {
  inner = openDevice(imagePaths('content-v7')[0], { lock: 'none' });
  dev = new OverlayDevice(inner);
  pristineTree = new BTree(openOnDevices([new OverlayDevice(inner)]));
});
afterAll(() => inner?.close());

describe('B-Tree cycles', () => {
  it('the image has the expected shape (root and a second internal level)', () => {
    expect(nodesOfType(HAMMER_BTREE_TYPE_INTERNAL).length).toBe(3);
    expect(pristineTree.node(pristineTree.rootOffset).type).toBe(HAMMER_BTREE_TYPE_INTERNAL);
    expect(iterate()).toBe(1339);
  });

  it('a child pointer back to the root: CycleError, show reports the revisit, nothing loops', () => {
    const root = pristineTree.rootOffset;
    const mid = pristineTree.node(root).subtreeOffset(0);
    expect(pristineTree.node(mid).type).toBe(HAMMER_BTREE_TYPE_INTERNAL);
    try {
      lieNode(mid, (dv) => dv.setBigUint64(NODE.elms + 1 * 64 + ELM.subtreeOffset, root, true));
      expect(() => iterate()).toThrow(CycleError);
      const w = walkNodes();
      expect(w.nodes.some((n) => n.mark === 'Y' && n.error instanceof CycleError)).toBe(true);
      expect(w.stats.nodes).toBeLessThan(100);
      const r = allOpsBounded();
      expect(r.iterate.error).toBeInstanceOf(CycleError);
    } finally {
      dev.changes.clear();
    }
  });

  it('a node that is its own child', () => {
    const mid = pristineTree.node(pristineTree.rootOffset).subtreeOffset(0);
    try {
      lieNode(mid, (dv) => dv.setBigUint64(NODE.elms + ELM.subtreeOffset, mid, true));
      expect(() => iterate()).toThrow(CycleError);
      expect(walkNodes().nodes.some((n) => n.mark === 'Y')).toBe(true);
      allOpsBounded();
    } finally {
      dev.changes.clear();
    }
  });

  it('two parents sharing one child (a DAG, not a loop) is visited a bounded number of times', () => {
    const root = pristineTree.rootOffset;
    const a = pristineTree.node(root).subtreeOffset(0);
    try {
      lieNode(root, (dv) => dv.setBigUint64(NODE.elms + 1 * 64 + ELM.subtreeOffset, a, true));
      const w = walkNodes();
      expect(w.nodes.some((n) => n.mark === 'Y')).toBe(true);
      allOpsBounded();
    } finally {
      dev.changes.clear();
    }
  });
});

describe('impossible counts', () => {
  const cases: [string, number, number][] = [
    ['leaf with 64 elements', HAMMER_BTREE_TYPE_LEAF, 64], ['leaf with 2^31-1 elements', HAMMER_BTREE_TYPE_LEAF, 0x7fffffff],
    ['leaf with -1 elements', HAMMER_BTREE_TYPE_LEAF, -1], ['internal with 63 elements', HAMMER_BTREE_TYPE_INTERNAL, 63],
    ['internal with 0 elements', HAMMER_BTREE_TYPE_INTERNAL, 0], ['internal with -2^31 elements', HAMMER_BTREE_TYPE_INTERNAL, -(2 ** 31)],
  ];
  for (const [what, type, count] of cases) {
    it(`${what}: BadFieldError from the cursor, 'C' from show, no RangeError`, () => {
      const off = nodesOfType(type).at(-1)!;
      try {
        lieNode(off, (dv) => dv.setInt32(NODE.count, count, true));
        expect(() => iterate()).toThrow(BadFieldError);
        const w = walkNodes();
        const n = w.nodes.find((x) => x.offset === off)!;
        expect(n.mark === 'C' || n.bad).toBe(true);
        allOpsBounded();
      } finally {
        dev.changes.clear();
      }
    });
  }
});

/** The first leaf element of a record type with its node. */
function findLeaf(recType: number, pred: (objId: bigint, l: LeafElm) => boolean = () => true): { node: bigint; i: number } {
  for (const off of nodesOfType(HAMMER_BTREE_TYPE_LEAF)) {
    const n = pristineTree.node(off);
    for (let i = 0; i < n.count; i++) {
      const l = n.leaf(i);
      if (l.recType === recType && l.dataLen > 0 && pred(l.objId, l)) return { node: off, i };
    }
  }
  throw new Error('no such leaf');
}

describe('data that lies about its extent', () => {
  it('a record whose data crosses the end of its big-block (with a matching CRC) is refused', () => {
    const { node, i } = findLeaf(HAMMER_RECTYPE_DATA);
    const l = pristineTree.node(node).leaf(i);
    const bbEnd = (l.dataOffset & ~BigInt(HAMMER_BIGBLOCK_SIZE - 1)) + BigInt(HAMMER_BIGBLOCK_SIZE);
    const off = bbEnd - 512n, len = 4096;
    const bytes = inner.read(pos(off), len);
    try {
      lieNode(node, (dv) => {
        const at = NODE.elms + i * 64;
        dv.setBigUint64(at + ELM.dataOffset, off, true);
        dv.setInt32(at + ELM.dataLen, len, true);
        dv.setUint32(at + ELM.dataCrc, crc32c(bytes), true);
      });
      const r = allOpsBounded();
      expect(r.iterate.ok).toBe(false);
      expect(r.show.ok && r.show.value!.endsWith(':bad')).toBe(true);
    } finally {
      dev.changes.clear();
    }
  });

  it('data_len 2^31-1 is refused quickly by every reader (no 2 GiB read, no big allocation)', () => {
    const { node, i } = findLeaf(HAMMER_RECTYPE_DATA);
    try {
      lieNode(node, (dv) => dv.setInt32(NODE.elms + i * 64 + ELM.dataLen, 0x7fffffff, true));
      const heap0 = process.memoryUsage().heapUsed;
      const r = allOpsBounded();
      expect(r.iterate.ok).toBe(false);
      expect(r.show.ok && r.show.value!.endsWith(':bad')).toBe(true);
      expect(r.show.ms).toBeLessThan(2000);
      expect(process.memoryUsage().heapUsed - heap0).toBeLessThan(128 * 2 ** 20);
    } finally {
      dev.changes.clear();
    }
  });
});

describe('offsets into volumes that do not exist', () => {
  it('vol0_btree_root on volume 3 of a one-volume set', () => {
    const h = inner.read(0, 1928);
    new DataView(h.buffer).setBigUint64(VOL.btreeRoot, 0x8030000000000000n, true);
    try {
      setBytes(0, h);
      const r = allOpsBounded();
      for (const op of ['iterate', 'traverse'] as OpName[]) {
        expect(r[op].error, op).toBeInstanceOf(BadFieldError);
        expect(r[op].error!.message).toMatch(/volume 3/);
      }
      expect(r.show.ok && r.show.value!.endsWith(':bad')).toBe(true);
    } finally {
      dev.changes.clear();
    }
  });

  it('a subtree pointer and a data offset on volume 255', () => {
    const root = pristineTree.rootOffset;
    const { node, i } = findLeaf(HAMMER_RECTYPE_DATA);
    try {
      lieNode(node, (dv) => dv.setBigUint64(NODE.elms + i * 64 + ELM.dataOffset, 0xaff0000000000000n, true));
      let r = allOpsBounded();
      expect(r.iterate.ok).toBe(false);
      dev.changes.clear();
      lieNode(root, (dv) => dv.setBigUint64(NODE.elms + ELM.subtreeOffset, 0x8ff0000000001000n, true));
      r = allOpsBounded();
      expect(r.iterate.error).toBeInstanceOf(BadFieldError);
    } finally {
      dev.changes.clear();
    }
  });

  it('a layer1 entry whose layer2 lives on volume 9', () => {
    const vs = pristineTree.vs;
    const l1 = vs.root.blockmap[HAMMER_ZONE_FREEMAP_INDEX].physOffset;
    const p = pos(l1);
    const b = inner.read(p, HAMMER_LAYER1_BYTES);
    new DataView(b.buffer).setBigUint64(8, 0x4090000000000000n, true);
    try {
      setBytes(p, b);
      const r = allOpsBounded();
      expect(r.info.error).toBeInstanceOf(BadFieldError);
      expect(r.iterate.ok).toBe(true); // the tree never consults the freemap
    } finally {
      dev.changes.clear();
    }
  });
});

describe('a directory that contains itself', () => {
  let tmp: string;
  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hammerfs-lies-'));
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('readdir shows the entry, lookups stay finite, extract refuses to recurse forever', () => {
    // A DIRENTRY of a directory other than a PFS root, re-pointed at that directory itself.
    const { node, i } = findLeaf(HAMMER_RECTYPE_DIRENTRY, (o, l) => o !== 1n && l.deleteTid === 0n);
    const l = pristineTree.node(node).leaf(i);
    const dir = l.objId;
    const pfs = l.localization >>> 16;
    const payload = inner.read(pos(l.dataOffset), l.dataLen);
    new DataView(payload.buffer).setBigInt64(0, dir, true);
    try {
      setBytes(pos(l.dataOffset), payload);
      lieNode(node, (dv) => {
        const at = NODE.elms + i * 64;
        dv.setUint32(at + ELM.dataCrc, crc32c(payload), true);
        dv.setUint8(at + ELM.objType, 1);
      });
      const view = HammerFs.open(openOnDevices([dev]), { pfs });
      const d = view.inode(dir)!;
      expect(d.type).toBe('dir');
      const self = view.readdir(d).find((e) => e.objId === dir)!;
      expect(self).toBeDefined();
      // A path through the loop resolves (it is finite) to the directory itself.
      const name = self.nameStr;
      const t0 = performance.now();
      let err: unknown;
      try {
        extractTree(view, '/', path.join(tmp, 'out'));
      } catch (e) {
        err = e;
      }
      console.log("EXTRACT", String(err), performance.now() - t0);
      expect(performance.now() - t0).toBeLessThan(30_000);
      if (err !== undefined) expect(err).toBeInstanceOf(HammerError);
      allOpsBounded();
      void name;
    } finally {
      dev.changes.clear();
    }
  });
});
