// verifyFilesystem() (src/fs/verify.ts): the five real images verify clean, and each class of
// damage is found and located. Damage is made on one private copy of content-v7 with the ondisk
// encoders: exactly one invariant is broken and every CRC around it is resealed (unless the CRC
// is the point), then the original bytes are put back before the next case.
import * as fs from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openVolumeSet, type VolumeSet } from '../../src/volume/volume-set.js';
import { verifyFilesystem, type VerifyResult } from '../../src/fs/verify.js';
import { HammerFs } from '../../src/fs/index.js';
import { scanRecords, locInode, CURRENT } from '../../src/fs/records.js';
import { dirLocalization } from '../../src/fs/directory.js';
import { BTree } from '../../src/btree/btree.js';
import { NODE, btreeNodeCrc } from '../../src/ondisk/btree-node.js';
import { ELM } from '../../src/ondisk/btree-elm.js';
import { INO, recordDataCrc } from '../../src/ondisk/inode-data.js';
import { decodeLayer1, decodeLayer2, encodeLayer1, encodeLayer2, sealLayer1, sealLayer2 } from '../../src/ondisk/blockmap.js';
import {
  HAMMER_RECTYPE_INODE, HAMMER_RECTYPE_DIRENTRY, HAMMER_ZONE_FREEMAP_INDEX, HAMMER_ZONE_UNDO_INDEX,
  HAMMER_BIGBLOCK_SIZE,
} from '../../src/ondisk/constants.js';
import { copyImage, imagePaths, goldenJson, NEWFS_IMAGES } from '../helpers/images.js';

const M = goldenJson('content-v7.manifest.json');
const LAST: string = M.generations[M.generations.length - 1].tid;
const CUR0: Record<string, any> = M.trees[LAST]['0'];
const LE = true;

function verifyPaths(paths: string[], o: Parameters<typeof verifyFilesystem>[1] = {}): VerifyResult {
  const vs = openVolumeSet(paths);
  try {
    return verifyFilesystem(vs, o);
  } finally {
    vs.close();
  }
}
const errorCodes = (r: VerifyResult) => [...new Set(r.problems.filter((p) => p.severity === 'error').map((p) => p.code))].sort();

describe('the real images verify clean', () => {
  it.each(NEWFS_IMAGES)('%s: no errors; only the newfs quirks as warnings', (name) => {
    const r = verifyPaths(imagePaths(name));
    expect(errorCodes(r)).toEqual([]);
    expect(r.clean).toBe(true);
    // vol_crc 0 on every volume, stale zone 8/9 blockmap entry CRCs; next_tid one below the root records
    const vols = name === 'multi3' ? 3 : 1;
    expect(r.problems.filter((p) => p.code === 'VOL_CRC').length).toBe(vols);
    expect(r.problems.filter((p) => p.code === 'BLOCKMAP_CRC').map((p) => p.where.index).sort()).toEqual([8, 9]);
    expect(r.warnings).toBe(vols + 2);
    expect(r.stats).toMatchObject({ nodes: 1, leafNodes: 1, levels: 1, records: 2, bigBlocks: name === 'multi3' ? 217 : 61, freeBigBlocks: name === 'multi3' ? 215 : 59 });
  });
  it('content-v7: no problem at all, and the walk saw what the manifest counts', () => {
    const r = verifyPaths(imagePaths('content-v7'));
    expect(r.problems).toEqual([]);
    const c = M.counts;
    expect(r.stats).toMatchObject({
      nodes: c.btree.nodes, leafNodes: c.btree.leaf_nodes, internalNodes: c.btree.internal_nodes, levels: c.btree.levels,
      records: c.records, deletedRecords: c.deleted_records, freeBigBlocks: M.image.stat_freebigblocks,
    });
    expect(r.stats.pfs.map((p) => p.id)).toEqual([0, 1, 2]);
    expect(r.stats.pfs.reduce((s, p) => s + p.inodes, 0)).toBe(M.image.stat_inodes);
    // every path of the current tree is an inode; entries = paths minus the root
    for (const pfs of [0, 1, 2]) {
      const paths = Object.entries(M.trees[LAST][String(pfs)] as Record<string, any>);
      const ids = new Set(paths.map(([, m]) => m.obj_id));
      const s = r.stats.pfs.find((p) => p.id === pfs)!;
      expect(s.inodes, `pfs ${pfs}`).toBe(ids.size);
      expect(s.entries, `pfs ${pfs}`).toBe(paths.length - 1);
    }
  });
});

/* ---------------------------------------------------------------- damage on a private copy */

let img: ReturnType<typeof copyImage>;
const saved: { path: string; pos: number; bytes: Buffer }[] = [];

function rawRead(vol: number, pos: number, len: number): Buffer {
  const fd = fs.openSync(img.paths[vol], 'r');
  try {
    const b = Buffer.alloc(len);
    fs.readSync(fd, b, 0, len, pos);
    return b;
  } finally {
    fs.closeSync(fd);
  }
}
/** Write bytes into the copy, keeping the original for restore(). */
function rawWrite(vol: number, pos: number, data: Uint8Array): void {
  saved.push({ path: img.paths[vol], pos, bytes: rawRead(vol, pos, data.length) });
  const fd = fs.openSync(img.paths[vol], 'r+');
  try {
    fs.writeSync(fd, data, 0, data.length, pos);
  } finally {
    fs.closeSync(fd);
  }
}
function restore(): void {
  while (saved.length) {
    const s = saved.pop()!;
    const fd = fs.openSync(s.path, 'r+');
    fs.writeSync(fd, s.bytes, 0, s.bytes.length, s.pos);
    fs.closeSync(fd);
  }
}

/** Everything a case needs to find its target, read from the pristine copy. */
let vs: VolumeSet;
let h: HammerFs;
let tree: BTree;

/** Edit HAMMER-addressed bytes in place (offset must be inside one big-block). */
function editAt(off: bigint, len: number, fn: (dv: DataView, b: Buffer) => void): void {
  const loc = vs.locate(off, len);
  const b = rawRead(loc.vol, loc.pos, len);
  fn(new DataView(b.buffer, b.byteOffset, b.length), b);
  rawWrite(loc.vol, loc.pos, b);
}
/** Edit a B-Tree node and reseal its CRC (CRC-32C, or the legacy CRC-32 with `legacy`). */
function editNode(node: bigint, fn: (dv: DataView) => void, o: { reseal?: boolean; legacy?: boolean } = {}): void {
  editAt(node, 4096, (dv, b) => {
    fn(dv);
    if (o.reseal !== false) dv.setUint32(NODE.crc, btreeNodeCrc(b, 0, o.legacy ? 'crc32' : 'crc32c'), LE);
  });
}
const elmAt = (i: number) => NODE.elms + i * 64;

/** Node offset and index of the current version of a record. */
function findElm(loc: number, objId: bigint, recType: number, key: bigint): { node: bigint; index: number } {
  let hit: { node: bigint; index: number } | undefined;
  scanRecords(tree, loc, objId, recType, key, key, CURRENT, (n, i) => {
    hit = { node: n.offset, index: i };
    return false;
  });
  if (!hit) throw new Error(`no record ${objId.toString(16)}/${recType}/${key}`);
  return hit;
}
/** Rewrite a record's payload and reseal its data_crc and its node. */
function editPayload(node: bigint, index: number, fn: (dv: DataView, b: Buffer) => void): void {
  const n = tree.node(node);
  const leaf = n.leaf(index);
  let crc = 0;
  editAt(leaf.dataOffset, leaf.dataLen, (dv, b) => {
    fn(dv, b);
    crc = recordDataCrc(leaf.recType, b, 7);
  });
  editNode(node, (dv) => dv.setUint32(elmAt(index) + ELM.dataCrc, crc, LE));
}
const inodeElm = (objId: bigint, pfs = 0) => findElm(locInode(pfs), objId, HAMMER_RECTYPE_INODE, 0n);
function direntElm(path: string): { node: bigint; index: number } {
  const parent = h.stat(path.slice(0, path.lastIndexOf('/')) || '/');
  const e = h.lookup(parent, path.slice(path.lastIndexOf('/') + 1))!;
  return findElm(dirLocalization(0, parent.capFlags), parent.objId, HAMMER_RECTYPE_DIRENTRY, e.key);
}
const pathOf = (pred: (p: string, m: any) => boolean) => Object.entries(CUR0).find(([p, m]) => pred(p, m))![0];

function check(): VerifyResult {
  return verifyPaths(img.paths);
}
function expectFound(r: VerifyResult, code: string, at?: bigint): void {
  const hits = r.problems.filter((p) => p.code === code && p.severity === 'error');
  expect(hits.length, `${code} in ${JSON.stringify(errorCodes(r))}`).toBeGreaterThan(0);
  expect(r.clean).toBe(false);
  if (at !== undefined) expect(hits.map((p) => p.where.hammerOff), code).toContain(at);
}

describe('each class of damage is detected (content-v7 copy)', () => {
  beforeAll(() => {
    img = copyImage('content-v7');
    vs = openVolumeSet(img.paths);
    h = HammerFs.open(vs);
    tree = h.tree;
  });
  afterEach(() => restore());
  afterAll(() => {
    vs?.close();
    img?.cleanup();
  });

  const ROOT = 0x8000000021000000n;
  const INT1 = 0x800000002100d000n; // internal, depth 1, first child of the root
  const LEAF = 0x8000000021002000n; // a leaf below INT1 (child index 1)

  it('a flipped byte in a node: node CRC error naming the node, volume and byte', () => {
    editNode(LEAF, (dv) => dv.setUint8(0x20, dv.getUint8(0x20) ^ 0x40), { reseal: false });
    const r = check();
    expectFound(r, 'NODE_CRC', LEAF);
    const p = r.problems.find((x) => x.code === 'NODE_CRC')!;
    expect(p.where.volNo).toBe(0);
    expect(p.where.rawOffset).toBe(0x88000 + 0x21002000);
    expect(p.where.path).toBe(img.paths[0]);
  });
  it('a node resealed with the legacy CRC-32 is accepted on v7', () => {
    editNode(LEAF, (dv) => dv.setUint32(NODE.reserved01, 0, LE), { legacy: true });
    expect(check().problems).toEqual([]);
  });
  it('two leaf elements swapped (node resealed): key order error', () => {
    editNode(LEAF, (dv) => {
      const a = new Uint8Array(dv.buffer, dv.byteOffset + elmAt(3), 64).slice();
      new Uint8Array(dv.buffer, dv.byteOffset + elmAt(3), 64).set(new Uint8Array(dv.buffer, dv.byteOffset + elmAt(4), 64));
      new Uint8Array(dv.buffer, dv.byteOffset + elmAt(4), 64).set(a);
    });
    const r = check();
    expectFound(r, 'KEY_ORDER', LEAF);
    expect(r.problems.find((p) => p.code === 'KEY_ORDER')!.where.index).toBe(4);
    expect(errorCodes(r)).not.toContain('NODE_CRC');
  });
  it("an internal element's mirror_tid lowered below its subtree's newest TID", () => {
    editNode(ROOT, (dv) => dv.setBigUint64(elmAt(0) + ELM.mirrorTid, 0x100000001n, LE));
    const r = check();
    expectFound(r, 'MIRROR_TID', INT1);
    expect(errorCodes(r)).toEqual(['MIRROR_TID']);
  });
  it("a separator raised above the first key of its child: bounds error on the child", () => {
    // INT1's element 1 (left bound of LEAF) becomes LEAF's second key: LEAF's first element is
    // now left of its parent's bound, and nothing else moves (btype kept 'L')
    const leaf = tree.node(LEAF);
    const src = new Uint8Array(leaf.dv.buffer, leaf.dv.byteOffset + leaf.elmAt(1), 40).slice();
    editNode(INT1, (dv) => {
      const dst = new Uint8Array(dv.buffer, dv.byteOffset + elmAt(1), 40);
      dst.set(src.subarray(0, ELM.btype));
      dst.set(src.subarray(ELM.localization, 40), ELM.localization);
    });
    const r = check();
    expectFound(r, 'KEY_BOUNDS', LEAF);
    expect(errorCodes(r)).toEqual(['KEY_BOUNDS']);
  });
  it('an old version made live again: two visible versions; a delete_tid not after its create_tid', () => {
    // a file rewritten in generation 2 has an older INODE version with delete_tid set
    const file = Object.keys(CUR0).find((p) => CUR0[p].type === 'file' && h.inodeVersions(h.stat(p).objId).length > 1)!;
    const id = h.stat(file).objId;
    let old: { node: bigint; index: number } | undefined;
    scanRecords(tree, locInode(0), id, HAMMER_RECTYPE_INODE, 0n, 0n, undefined, (n, i) => {
      if (!old && n.leaf(i).deleteTid !== 0n) old = { node: n.offset, index: i };
    });
    expect(old).toBeDefined();
    editNode(old!.node, (dv) => dv.setBigUint64(elmAt(old!.index) + ELM.deleteTid, 0n, LE));
    let r = check();
    expectFound(r, 'DUP_VISIBLE', old!.node);
    expect(r.problems.find((p) => p.code === 'DUP_VISIBLE')!.objId).toBe(id);
    restore();
    const ct = tree.node(old!.node).leaf(old!.index).createTid;
    editNode(old!.node, (dv) => dv.setBigUint64(elmAt(old!.index) + ELM.deleteTid, ct, LE));
    r = check();
    expect(errorCodes(r)).toEqual(['TID']);
    expect(r.problems.find((p) => p.code === 'TID')!.where.index).toBe(old!.index);
  });
  it("a child's parent pointer rewritten: child/parent error on the parent", () => {
    editNode(LEAF, (dv) => dv.setBigUint64(NODE.parent, ROOT, LE));
    expectFound(check(), 'CHILD_PARENT', INT1);
  });
  it('a subtree pointer looping back to the root, and a leaf hung one level too high', () => {
    editNode(INT1, (dv) => dv.setBigUint64(elmAt(1) + ELM.subtreeOffset, ROOT, LE));
    expectFound(check(), 'NODE_LOOP');
    restore();
    // the root's second child (an internal node) replaced by its own first leaf
    const int2 = tree.node(ROOT).subtreeOffset(1);
    const leaf2 = tree.node(int2).subtreeOffset(0);
    editNode(ROOT, (dv) => {
      dv.setBigUint64(elmAt(1) + ELM.subtreeOffset, leaf2, LE);
      dv.setUint8(elmAt(1) + ELM.btype, 0x4c);
    });
    editNode(leaf2, (dv) => dv.setBigUint64(NODE.parent, ROOT, LE));
    const r = check();
    expectFound(r, 'LEAF_DEPTH', leaf2);
    expectFound(r, 'FREEMAP_FREE'); // the orphaned nodes still hold their space
  });
  it('a node count beyond 63 and an unknown node type', () => {
    editNode(LEAF, (dv) => dv.setInt32(NODE.count, 64, LE));
    expectFound(check(), 'NODE_COUNT', LEAF);
    restore();
    editNode(LEAF, (dv) => dv.setUint8(NODE.type, 0x44));
    expectFound(check(), 'NODE_TYPE', LEAF);
  });
  it('a flipped byte in file data: data CRC error on the record', () => {
    const file = pathOf((p, m) => m.type === 'file' && m.size > 20000);
    const ino = h.stat(file);
    const rec = h.dataRecords(ino)[0];
    editAt(rec.dataOffset + 7n, 1, (dv) => dv.setUint8(0, dv.getUint8(0) ^ 1));
    const r = check();
    expectFound(r, 'DATA_CRC');
    const p = r.problems.find((x) => x.code === 'DATA_CRC')!;
    expect(p.message).toContain(rec.dataOffset.toString(16));
    // without data CRCs the damage is invisible
    expect(verifyPaths(img.paths, { checkData: false }).problems).toEqual([]);
  });
  it('layer2 bytes_free changed (resealed): freemap disagreement; not resealed: layer2 CRC error', () => {
    const meta = 0x2000000021800000n; // the zone-9 big-block
    const l2 = vs.freemapLookup(meta).l2Z2;
    const bump = (reseal: boolean) =>
      editAt(l2, 16, (dv) => {
        const e = decodeLayer2(dv, 0);
        e.bytesFree -= 4096;
        if (reseal) sealLayer2(e, 7);
        encodeLayer2(e, dv, 0);
      });
    bump(true);
    let r = check();
    expectFound(r, 'FREEMAP_FREE');
    expect(errorCodes(r)).toEqual(['FREEMAP_FREE']);
    restore();
    bump(false);
    r = check();
    expectFound(r, 'LAYER2_CRC', l2);
  });
  it("append_off below the end of the big-block's last allocation", () => {
    const { l2Z2 } = vs.freemapLookup(0x2000000021800000n); // the zone-9 big-block
    editAt(l2Z2, 16, (dv) => {
      const e = decodeLayer2(dv, 0);
      e.appendOff = 1024;
      sealLayer2(e, 7);
      encodeLayer2(e, dv, 0);
    });
    const r = check();
    expect(errorCodes(r)).toEqual(['FREEMAP_APPEND']);
    expect(r.problems[0].message).toMatch(/beyond append_off 1024/);
  });
  it('layer1 blocks_free and vol0_stat_freebigblocks against the recount', () => {
    const l1 = vs.root.blockmap[HAMMER_ZONE_FREEMAP_INDEX].physOffset;
    editAt(l1, 32, (dv) => {
      const e = decodeLayer1(dv, 0);
      e.blocksFree += 1n;
      sealLayer1(e, 7);
      encodeLayer1(e, dv, 0);
    });
    let r = check();
    expect(errorCodes(r)).toEqual(['LAYER1_FREE']);
    restore();
    editAt(l1, 32, (dv) => dv.setUint32(24, 1, LE)); // layer2_crc field: covered by layer1_crc
    expect(errorCodes(check())).toEqual(['LAYER1_CRC']);
    restore();
    const b = rawRead(0, 208, 8);
    b.writeBigInt64LE(b.readBigInt64LE(0) - 1n);
    rawWrite(0, 208, b);
    r = check();
    expect(errorCodes(r)).toEqual(['STAT_FREEBIGBLOCKS']);
  });
  it('a free big-block claimed by a zone: empty = warning only, with bytes in use = leak; free one not reset = error', () => {
    // last free big-block of volume 0, and the counters that go with taking it
    const nBig = Math.floor((vs.volumes[0].header.bufEnd - vs.volumes[0].header.bufBeg) / HAMMER_BIGBLOCK_SIZE);
    const blk = 0x2000000000000000n + BigInt(nBig - 1) * BigInt(HAMMER_BIGBLOCK_SIZE);
    const { l2Z2 } = vs.freemapLookup(blk);
    const setL2 = (zone: number, append: number, free: number) =>
      editAt(l2Z2, 16, (dv) => {
        const e = decodeLayer2(dv, 0);
        expect(e.zone).toBe(0);
        Object.assign(e, { zone, appendOff: append, bytesFree: free });
        sealLayer2(e, 7);
        encodeLayer2(e, dv, 0);
      });
    const takeCounters = () => {
      editAt(vs.root.blockmap[HAMMER_ZONE_FREEMAP_INDEX].physOffset, 32, (dv) => {
        const e = decodeLayer1(dv, 0);
        e.blocksFree -= 1n;
        sealLayer1(e, 7);
        encodeLayer1(e, dv, 0);
      });
      const b = rawRead(0, 208, 8);
      b.writeBigInt64LE(b.readBigInt64LE(0) - 1n);
      rawWrite(0, 208, b);
    };
    setL2(10, 0, HAMMER_BIGBLOCK_SIZE);
    takeCounters();
    let r = check();
    expect(r.clean).toBe(true);
    // (the header edit also makes content-v7's valid vol_crc stale: a warning)
    expect(r.problems.map((p) => p.code).filter((c) => c !== 'VOL_CRC')).toEqual(['UNREFERENCED']);
    expect(r.problems.find((p) => p.code === 'UNREFERENCED')!.where.hammerOff).toBe(l2Z2);
    restore();
    setL2(10, 65536, HAMMER_BIGBLOCK_SIZE - 65536);
    takeCounters();
    r = check();
    expect(errorCodes(r)).toEqual(['LEAKED']);
    restore();
    setL2(0, 16384, HAMMER_BIGBLOCK_SIZE);
    expect(errorCodes(check())).toEqual(['FREE_NOT_RESET']);
  });
  it('a layer2 entry past the end of the volume that is not zone 15', () => {
    const nBig = Math.floor((vs.volumes[0].header.bufEnd - vs.volumes[0].header.bufBeg) / HAMMER_BIGBLOCK_SIZE);
    const l2base = decodeLayer1Phys();
    const at = l2base + BigInt((nBig + 1000) * 16);
    editAt(at, 16, (dv) => {
      const e = decodeLayer2(dv, 0);
      Object.assign(e, { zone: 0, appendOff: 0, bytesFree: HAMMER_BIGBLOCK_SIZE });
      sealLayer2(e, 7);
      encodeLayer2(e, dv, 0);
    });
    const r = check();
    expect(errorCodes(r)).toEqual(['LAYER2_BEYOND']);
    expect(r.problems[0].where.index).toBe(nBig + 1000);
  });
  it('UNDO FIFO: a pointer outside the FIFO, and a damaged record in the active range', () => {
    const bmAt = 264 + HAMMER_ZONE_UNDO_INDEX * 40;
    const b = rawRead(0, bmAt, 40);
    b.writeBigUInt64LE(0x3000000020000000n, 8); // first_offset = alloc_offset (past the end)
    rawWrite(0, bmAt, b);
    let r = check();
    expect(errorCodes(r)).toEqual(['UNDO_POINTER']);
    expect(r.problems.find((p) => p.code === 'UNDO_POINTER')!.where.field).toBe('first_offset');
    restore();
    // active range = records 0 and 1 (clean DUMMYs), then damage record 1
    const b2 = rawRead(0, bmAt, 40);
    b2.writeBigUInt64LE(0x3000000000000400n, 16); // next_offset
    rawWrite(0, bmAt, b2);
    expect(errorCodes(check())).toEqual([]);
    editAt(vs.root.undoArray[0] + 512n + 100n, 1, (dv) => dv.setUint8(0, 0x55));
    r = check();
    expect(errorCodes(r)).toEqual(['UNDO_RECORD']);
    expect(r.problems.find((p) => p.code === 'UNDO_RECORD')!.message).toMatch(/CRC/);
  });

  it("a directory entry's target inode deleted: the entry names a missing inode, the file's data is orphaned", () => {
    const file = pathOf((p, m) => m.type === 'file' && m.nlinks === 1 && m.size > 0);
    const id = BigInt(CUR0[file].obj_id);
    const { node, index } = inodeElm(id);
    const n = tree.node(node);
    const dtid = n.mirrorTid;
    expect(dtid > n.leaf(index).createTid).toBe(true);
    editNode(node, (dv) => dv.setBigUint64(elmAt(index) + ELM.deleteTid, dtid, LE));
    const r = check();
    expect(errorCodes(r)).toEqual(['DIRENT_TARGET', 'ORPHAN_RECORD']);
    for (const code of ['DIRENT_TARGET', 'ORPHAN_RECORD']) {
      const p = r.problems.find((x) => x.code === code)!;
      expect(p.objId, code).toBe(id);
      expect(p.pfs, code).toBe(0);
      expect(p.where.hammerOff, code).toBeDefined();
    }
  });
  it('a directory entry deleted: its inode is unreachable', () => {
    const file = pathOf((p, m) => m.type === 'file' && m.nlinks === 1);
    const { node, index } = direntElm(file);
    editNode(node, (dv) => dv.setBigUint64(elmAt(index) + ELM.deleteTid, tree.node(node).mirrorTid, LE));
    const r = check();
    expect(errorCodes(r)).toEqual(['UNREACHABLE']);
    expect(r.problems[0].objId).toBe(BigInt(CUR0[file].obj_id));
  });
  it("a PFS root inode deleted; an INODE leaf whose obj_type disagrees with the inode's", () => {
    const root1 = inodeElm(1n, 1);
    editNode(root1.node, (dv) => dv.setBigUint64(elmAt(root1.index) + ELM.deleteTid, tree.node(root1.node).mirrorTid, LE));
    let r = check();
    expectFound(r, 'PFS_ROOT');
    expect(r.problems.find((p) => p.code === 'PFS_ROOT')!.pfs).toBe(1);
    restore();
    const file = pathOf((p, m) => m.type === 'file');
    const f = inodeElm(BigInt(CUR0[file].obj_id));
    editNode(f.node, (dv) => dv.setUint8(elmAt(f.index) + ELM.objType, 9));
    r = check();
    expect(errorCodes(r)).toEqual(['INODE_TYPE']);
  });
  it('nlinks off by one (payload and CRCs resealed)', () => {
    const file = pathOf((p, m) => m.type === 'file' && m.nlinks === 2);
    const { node, index } = inodeElm(BigInt(CUR0[file].obj_id));
    editPayload(node, index, (dv) => dv.setBigUint64(INO.nlinks, 3n, LE));
    const r = check();
    expect(errorCodes(r)).toEqual(['NLINKS']);
    expect(r.problems[0].message).toMatch(/nlinks is 3, 2 directory entries/);
  });
  it("a directory's parent_obj_id, a symlink's size", () => {
    const dir = pathOf((p, m) => m.type === 'dir' && p.split('/').length === 3);
    const { node, index } = inodeElm(BigInt(CUR0[dir].obj_id));
    editPayload(node, index, (dv) => dv.setBigInt64(INO.parentObjId, 1n, LE));
    expect(errorCodes(check())).toEqual(['PARENT']);
    restore();
    const link = pathOf((p, m) => m.type === 'symlink' && m.size < 24);
    const s = inodeElm(BigInt(CUR0[link].obj_id));
    editPayload(s.node, s.index, (dv) => dv.setBigUint64(INO.size, dv.getBigUint64(INO.size, LE) + 1n, LE));
    expect(errorCodes(check())).toEqual(['SYMLINK_SIZE']);
  });
  it("a renamed entry whose key no longer matches its name's hash; a wrong obj_type in an entry", () => {
    const file = pathOf((p, m) => m.type === 'file' && /^\/level-1\/[a-z]/.test(p));
    const { node, index } = direntElm(file);
    editPayload(node, index, (dv, b) => {
      b[16] = b[16] === 0x71 ? 0x72 : 0x71; // first letter of the name
    });
    let r = check();
    expect(errorCodes(r)).toEqual(['DIRENT_HASH']);
    restore();
    editNode(node, (dv) => dv.setUint8(elmAt(index) + ELM.objType, 4));
    r = check();
    expect(errorCodes(r)).toEqual(['DIRENT_TYPE']);
  });

  it('random byte damage in nodes, records and the freemap: always a result, never an exception', () => {
    // xorshift32, fixed seed: the same damage every run
    let x = 0x9e3779b9;
    const rnd = (n: number) => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>> 0) % n;
    };
    const areas: [bigint, number][] = [
      [0x8000000021000000n, 0x1b000], // every B-Tree node
      [0x9000000021800000n, 0xc840], // meta payloads (inodes, entries)
      [0x2000000000800000n, 0x800], // layer2 entries of volume 0's used big-blocks
    ];
    for (let round = 0; round < 6; round++) {
      for (let k = 0; k < 24; k++) {
        const [base, len] = areas[rnd(areas.length)];
        editAt(base + BigInt(rnd(len)), 1, (dv) => dv.setUint8(0, dv.getUint8(0) ^ (1 + rnd(255))));
      }
      let r: VerifyResult | undefined;
      expect(() => (r = check())).not.toThrow();
      expect(r!.errors).toBeGreaterThan(0);
      for (const p of r!.problems) expect(p.where.structure, p.code).toBeTruthy();
      restore();
    }
  });
});

function decodeLayer1Phys(): bigint {
  const l1 = vs.root.blockmap[HAMMER_ZONE_FREEMAP_INDEX].physOffset;
  const { buf, at } = vs.buffer(l1, 32);
  return decodeLayer1(buf.dv, at).physOffset;
}
