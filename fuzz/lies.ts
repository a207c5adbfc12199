/**
 * Hand-made lies for a real single-volume image with a multi-level B-Tree (content-v7): each is a
 * list of byte patches, internally consistent (node CRCs and data CRCs resealed) so that only
 * the structural checks can catch them. Used through an OverlayDevice by test/fuzz/lies.test.ts
 * and written into sparse copies for the CLI by test/fuzz/cli-lies.test.ts.
 */
import type { BlockDevice } from '../src/io/device.js';
import type { VolumeSet } from '../src/volume/volume-set.js';
import { BTree } from '../src/btree/btree.js';
import { sealBtreeNode, NODE } from '../src/ondisk/btree-node.js';
import { ELM, type LeafElm } from '../src/ondisk/btree-elm.js';
import { crcFn, crcAlgFor } from '../src/ondisk/crc.js';
import { VOL } from '../src/ondisk/volume-header.js';
import {
  HAMMER_BTREE_TYPE_INTERNAL, HAMMER_BTREE_TYPE_LEAF, HAMMER_RECTYPE_DIRENTRY, HAMMER_RECTYPE_DATA, HAMMER_BIGBLOCK_SIZE,
  HAMMER_LAYER1_BYTES, HAMMER_ZONE_FREEMAP_INDEX, HAMMER_VOLUME_HEADER_SIZE,
} from '../src/ondisk/constants.js';
import { collectNodeOffsets } from './samples.js';

export interface Patch {
  pos: number; // device byte
  bytes: Uint8Array;
}
export interface LieContext {
  vs: VolumeSet;
  dev: BlockDevice; // the pristine image
  tree: BTree;
}

const pos = (c: LieContext, off: bigint) => c.vs.locate(off).pos;

function nodePatch(c: LieContext, off: bigint, edit: (dv: DataView) => void): Patch {
  const p = pos(c, off);
  const b = c.dev.read(p, 4096);
  edit(new DataView(b.buffer));
  sealBtreeNode(b, 0, c.vs.version);
  return { pos: p, bytes: b };
}
export function nodesOfType(c: LieContext, type: number): bigint[] {
  return collectNodeOffsets(c.tree).filter((o) => c.tree.node(o).type === type);
}
/** The first leaf element of a record type (with data) that `pred` accepts. */
export function findLeaf(c: LieContext, recType: number, pred: (l: LeafElm) => boolean = () => true): { node: bigint; i: number; leaf: LeafElm } {
  for (const off of nodesOfType(c, HAMMER_BTREE_TYPE_LEAF)) {
    const n = c.tree.node(off);
    for (let i = 0; i < n.count; i++) {
      const l = n.leaf(i);
      if (l.recType === recType && l.dataLen > 0 && pred(l)) return { node: off, i, leaf: l };
    }
  }
  throw new Error(`no leaf of type ${recType}`);
}
const elm = (i: number) => NODE.elms + i * 64;
const midNode = (c: LieContext) => c.tree.node(c.tree.rootOffset).subtreeOffset(0);

function countLie(type: number, count: number) {
  return (c: LieContext): Patch[] => [nodePatch(c, nodesOfType(c, type).at(-1)!, (dv) => dv.setInt32(NODE.count, count, true))];
}

/** A live directory entry of a directory other than a PFS root, re-pointed at `target(dir)`. */
function direntLie(target: (dir: bigint) => bigint) {
  return (c: LieContext): Patch[] => {
    const { node, i, leaf } = findLeaf(c, HAMMER_RECTYPE_DIRENTRY, (l) => l.objId !== 1n && l.deleteTid === 0n);
    const payload = c.dev.read(pos(c, leaf.dataOffset), leaf.dataLen);
    new DataView(payload.buffer).setBigInt64(0, target(leaf.objId), true);
    const crc = crcFn(crcAlgFor(c.vs.version))(payload);
    return [
      { pos: pos(c, leaf.dataOffset), bytes: payload },
      nodePatch(c, node, (dv) => {
        dv.setUint32(elm(i) + ELM.dataCrc, crc, true);
        dv.setUint8(elm(i) + ELM.objType, 1); // the entry now names a directory
      }),
    ];
  };
}

/**
 * A chain of `depth` new internal nodes, each with 62 elements that all point at the next one,
 * the last one's at a real leaf; vol0_btree_root points at the first. No loop and only a handful
 * of nodes, but 62^depth paths: a cursor without bounds checks would walk them all.
 */
function dagBomb(depth: number) {
  return (c: LieContext): Patch[] => {
    const base = 0x8000000021100000n; // free slots 1 MiB into the (allocated) B-Tree big-block
    const leaf = nodesOfType(c, HAMMER_BTREE_TYPE_LEAF)[0];
    const out: Patch[] = [];
    for (let k = 0; k < depth; k++) {
      const off = base + BigInt(k * 4096);
      const child = k + 1 < depth ? off + 4096n : leaf;
      const b = new Uint8Array(4096);
      const dv = new DataView(b.buffer);
      dv.setInt32(NODE.count, 62, true);
      b[NODE.type] = HAMMER_BTREE_TYPE_INTERNAL;
      dv.setBigUint64(NODE.mirrorTid, 0xffffffffffffffffn, true);
      for (let j = 0; j <= 62; j++) {
        dv.setUint32(elm(j) + ELM.localization, j, true);
        dv.setBigUint64(elm(j) + ELM.mirrorTid, 0xffffffffffffffffn, true);
        if (j < 62) {
          b[elm(j) + ELM.btype] = k + 1 < depth ? HAMMER_BTREE_TYPE_INTERNAL : HAMMER_BTREE_TYPE_LEAF;
          dv.setBigUint64(elm(j) + ELM.subtreeOffset, child, true);
        }
      }
      sealBtreeNode(b, 0, c.vs.version);
      out.push({ pos: pos(c, off), bytes: b });
    }
    const h = c.dev.read(0, HAMMER_VOLUME_HEADER_SIZE);
    new DataView(h.buffer).setBigUint64(VOL.btreeRoot, base, true);
    out.push({ pos: 0, bytes: h });
    return out;
  };
}

export const LIES: Record<string, (c: LieContext) => Patch[]> = {
  'dag-bomb': dagBomb(6),
  'cycle-to-root': (c) => [nodePatch(c, midNode(c), (dv) => dv.setBigUint64(elm(1) + ELM.subtreeOffset, c.tree.rootOffset, true))],
  'own-child': (c) => [nodePatch(c, midNode(c), (dv) => dv.setBigUint64(elm(0) + ELM.subtreeOffset, midNode(c), true))],
  'shared-child': (c) => [nodePatch(c, c.tree.rootOffset, (dv) => dv.setBigUint64(elm(1) + ELM.subtreeOffset, midNode(c), true))],
  'leaf-count-64': countLie(HAMMER_BTREE_TYPE_LEAF, 64),
  'leaf-count-max': countLie(HAMMER_BTREE_TYPE_LEAF, 0x7fffffff),
  'leaf-count-neg': countLie(HAMMER_BTREE_TYPE_LEAF, -1),
  'internal-count-63': countLie(HAMMER_BTREE_TYPE_INTERNAL, 63),
  'internal-count-0': countLie(HAMMER_BTREE_TYPE_INTERNAL, 0),
  'internal-count-min': countLie(HAMMER_BTREE_TYPE_INTERNAL, -(2 ** 31)),
  'data-crosses-bigblock': (c) => {
    const { node, i, leaf } = findLeaf(c, HAMMER_RECTYPE_DATA);
    const end = (leaf.dataOffset & ~BigInt(HAMMER_BIGBLOCK_SIZE - 1)) + BigInt(HAMMER_BIGBLOCK_SIZE);
    const off = end - 512n, len = 4096;
    const crc = crcFn(crcAlgFor(c.vs.version))(c.dev.read(pos(c, off), len));
    return [nodePatch(c, node, (dv) => {
      dv.setBigUint64(elm(i) + ELM.dataOffset, off, true);
      dv.setInt32(elm(i) + ELM.dataLen, len, true);
      dv.setUint32(elm(i) + ELM.dataCrc, crc, true);
    })];
  },
  'data-len-max': (c) => {
    const { node, i } = findLeaf(c, HAMMER_RECTYPE_DATA);
    return [nodePatch(c, node, (dv) => dv.setInt32(elm(i) + ELM.dataLen, 0x7fffffff, true))];
  },
  'root-on-missing-volume': (c) => {
    const h = c.dev.read(0, HAMMER_VOLUME_HEADER_SIZE);
    new DataView(h.buffer).setBigUint64(VOL.btreeRoot, 0x8030000000000000n, true);
    return [{ pos: 0, bytes: h }];
  },
  'data-on-missing-volume': (c) => {
    const { node, i } = findLeaf(c, HAMMER_RECTYPE_DATA);
    return [nodePatch(c, node, (dv) => dv.setBigUint64(elm(i) + ELM.dataOffset, 0xaff0000000000000n, true))];
  },
  'subtree-on-missing-volume': (c) => [nodePatch(c, c.tree.rootOffset, (dv) => dv.setBigUint64(elm(0) + ELM.subtreeOffset, 0x8ff0000000001000n, true))],
  'layer2-on-missing-volume': (c) => {
    const p = pos(c, c.vs.root.blockmap[HAMMER_ZONE_FREEMAP_INDEX].physOffset);
    const b = c.dev.read(p, HAMMER_LAYER1_BYTES);
    new DataView(b.buffer).setBigUint64(8, 0x4090000000000000n, true);
    return [{ pos: p, bytes: b }];
  },
  'dir-contains-itself': direntLie((dir) => dir),
  'dir-contains-root': direntLie(() => 1n),
};
