// Independent consistency checks for written volumes: B-Tree structure, CRCs, bounds, parent
// pointers, mirror_tid invariants, and a freemap recount against layer2/layer1/header counters.
import { BTree } from '../../src/btree/btree.js';
import { btreeNodeCrcVerdict, NodeView } from '../../src/ondisk/btree-node.js';
import { cmpBaseElm, decodeBaseElm, type BaseElm, type LeafElm } from '../../src/ondisk/btree-elm.js';
import { HAMMER_BIGBLOCK_SIZE } from '../../src/ondisk/constants.js';
import { toZone2, bigBlockBase } from '../../src/ondisk/offset.js';
import { forEachBigBlock, layer1Entries } from '../../src/volume/freemap.js';
import { layer1CrcVerdict, layer2CrcVerdict } from '../../src/ondisk/blockmap.js';
import type { VolumeSet } from '../../src/volume/volume-set.js';
import { fifoSize, recordAt } from '../../src/volume/undo-fifo.js';
import { shortOffset } from '../../src/ondisk/offset.js';
import { HAMMER_ZONE_UNDO_INDEX } from '../../src/ondisk/constants.js';

export interface TreeReport {
  problems: string[];
  depth: number;
  nodes: number;
  leaves: LeafElm[];
  /** zone-2 big-block base -> bytes referenced (nodes + payloads, rounded to 16) */
  used: Map<bigint, number>;
  maxTid: bigint;
}

const r16 = (n: number) => (n + 15) & ~15;

export function checkTree(vs: VolumeSet): TreeReport {
  const tree = new BTree(vs, { verifyCrc: false });
  const rep: TreeReport = { problems: [], depth: 0, nodes: 0, leaves: [], used: new Map(), maxTid: 0n };
  const use = (off: bigint, n: number) => {
    const bb = toZone2(bigBlockBase(off));
    rep.used.set(bb, (rep.used.get(bb) ?? 0) + r16(n));
  };
  const h = (o: bigint) => o.toString(16);
  // returns max TID below (create/delete) in the subtree
  const walk = (off: bigint, parent: bigint, lo: BaseElm | null, hi: BaseElm | null, depth: number, isRoot: boolean): bigint => {
    rep.nodes++;
    rep.depth = Math.max(rep.depth, depth + 1);
    use(off, 4096);
    const n: NodeView = tree.rawNode(off);
    const p = (m: string) => rep.problems.push(`node ${h(off)}: ${m}`);
    if (btreeNodeCrcVerdict(n.bytes, 0, vs.version) === null) p('bad CRC');
    const hp = n.headerProblem();
    if (hp) { p(hp); return 0n; }
    if (n.parent !== parent) p(`parent ${h(n.parent)} != ${h(parent)}`);
    const c = n.count;
    let max = 0n;
    if (n.isLeaf) {
      if (c === 0 && !isRoot) p('empty non-root leaf');
      let prev: BaseElm | null = null;
      for (let i = 0; i < c; i++) {
        const e = n.leaf(i);
        if (prev && cmpBaseElm(prev, e) >= 0) p(`elm ${i} out of order`);
        if (lo && cmpBaseElm(e, lo) < 0) p(`elm ${i} left of bound`);
        if (hi && cmpBaseElm(e, hi) >= 0) p(`elm ${i} right of bound`);
        prev = e;
        const t = e.createTid > e.deleteTid ? e.createTid : e.deleteTid;
        if (t > max) max = t;
        if (e.dataOffset !== 0n && e.dataLen > 0) use(e.dataOffset, e.dataLen);
        rep.leaves.push(e);
      }
      const newfsRoot = isRoot && n.mirrorTid === 0n;
      if (!newfsRoot && max > n.mirrorTid) p(`leaf mirror_tid ${h(n.mirrorTid)} < max TID ${h(max)}`);
    } else {
      const b0 = decodeBaseElm(n.dv, n.elmAt(0));
      const bN = decodeBaseElm(n.dv, n.elmAt(c));
      if (lo && cmpBaseElm(b0, lo) < 0) p('left bound outside parent');
      if (hi && cmpBaseElm(bN, hi) > 0) p('right bound outside parent');
      for (let i = 0; i < c; i++) {
        const a = decodeBaseElm(n.dv, n.elmAt(i));
        const b = decodeBaseElm(n.dv, n.elmAt(i + 1));
        if (cmpBaseElm(a, b) >= 0) p(`internal elms ${i}/${i + 1} out of order`);
        const em = n.elmMirrorTid(i);
        if (em > n.mirrorTid) p(`elm ${i} mirror_tid above node's`);
        const sub = n.subtreeOffset(i);
        const child = tree.rawNode(sub);
        if (a.btype !== child.type) p(`elm ${i} btype ${a.btype} != child type ${child.type}`);
        if (child.mirrorTid > em) p(`child ${h(sub)} mirror_tid above parent elm`);
        const below = walk(sub, off, a, b, depth + 1, false);
        if (below > em) p(`elm ${i} mirror_tid ${h(em)} < max TID below ${h(below)}`);
        if (below > max) max = below;
      }
      if (n.subtreeOffset(c) !== 0n) p('right boundary has a subtree');
    }
    if (max > rep.maxTid) rep.maxTid = max;
    return max;
  };
  walk(vs.root.btreeRoot, 0n, null, null, 0, true);
  return rep;
}

export interface FreemapReport {
  problems: string[];
  freeBigBlocks: number;
}

/** Compare layer2 bytes_free/zone and layer1/header counters with what the tree references. */
export function checkFreemap(vs: VolumeSet, used: Map<bigint, number>): FreemapReport {
  const rep: FreemapReport = { problems: [], freeBigBlocks: 0 };
  const l1Free = new Map<number, number>();
  const seen = new Set<bigint>();
  forEachBigBlock(vs, (b) => {
    const e = b.entry;
    const h = b.block.toString(16);
    if (layer2CrcVerdict(e, vs.version) === null) rep.problems.push(`layer2 ${h}: bad CRC`);
    if (e.zone === 0) {
      rep.freeBigBlocks++;
      l1Free.set(b.l1.index, (l1Free.get(b.l1.index) ?? 0) + 1);
      if (e.bytesFree !== HAMMER_BIGBLOCK_SIZE || e.appendOff !== 0) rep.problems.push(`free big-block ${h} has free=${e.bytesFree} append=${e.appendOff}`);
    }
    const u = used.get(b.block);
    if (u !== undefined) {
      seen.add(b.block);
      if (e.zone < 8 || e.zone > 14) rep.problems.push(`big-block ${h} in use but zone ${e.zone}`);
      if (HAMMER_BIGBLOCK_SIZE - e.bytesFree !== u) rep.problems.push(`big-block ${h}: ${HAMMER_BIGBLOCK_SIZE - e.bytesFree} bytes allocated, ${u} referenced`);
      if (e.appendOff < u) rep.problems.push(`big-block ${h}: append_off ${e.appendOff} < used ${u}`);
    } else if (e.zone >= 8 && e.zone <= 14 && e.bytesFree !== HAMMER_BIGBLOCK_SIZE) {
      rep.problems.push(`big-block ${h} zone ${e.zone} has ${HAMMER_BIGBLOCK_SIZE - e.bytesFree} bytes allocated, none referenced`);
    }
  });
  for (const bb of used.keys()) if (!seen.has(bb)) rep.problems.push(`referenced big-block ${bb.toString(16)} not in the freemap`);
  for (const l1 of layer1Entries(vs)) {
    if (layer1CrcVerdict(l1.entry, vs.version) === null) rep.problems.push(`layer1 #${l1.index}: bad CRC`);
    const want = BigInt(l1Free.get(l1.index) ?? 0);
    if (l1.entry.physOffset !== 0xffffffffffffffffn && l1.entry.blocksFree !== want) rep.problems.push(`layer1 #${l1.index}: blocks_free ${l1.entry.blocksFree}, counted ${want}`);
  }
  if (vs.root.statFreebigblocks !== BigInt(rep.freeBigBlocks)) rep.problems.push(`vol0_stat_freebigblocks ${vs.root.statFreebigblocks}, counted ${rep.freeBigBlocks}`);
  return rep;
}


/**
 * The FIFO from its start to just past the append point (the part our tests write): every record
 * valid (signature, size, tail, CRC), inside one 512-byte sector, every sector starting with a
 * record that has a sequence number, and sequence numbers increasing by one up to next_offset.
 */
export function checkFifo(vs: VolumeSet): string[] {
  const out: string[] = [];
  const size = fifoSize(vs);
  const next = shortOffset(vs.root.blockmap[HAMMER_ZONE_UNDO_INDEX].nextOffset) % size;
  const limit = Math.min(size, next - (next % 16384) + 16384);
  let pos = 0;
  let prevSeq: number | null = null;
  while (pos < limit && out.length < 10) {
    const r = recordAt(vs, pos);
    if (!r.rec) { out.push(`FIFO ${pos.toString(16)}: ${r.problem}`); break; }
    if (r.size > 512 - (pos % 512)) out.push(`FIFO ${pos.toString(16)}: record crosses a sector`);
    if (pos % 512 === 0 && r.rec.kind === 'pad') out.push(`FIFO ${pos.toString(16)}: sector starts with a PAD`);
    if (pos < next && r.rec.kind !== 'pad') {
      if (prevSeq !== null && r.rec.head.seq !== ((prevSeq + 1) >>> 0) && r.rec.kind !== 'dummy') out.push(`FIFO ${pos.toString(16)}: seq ${r.rec.head.seq} after ${prevSeq}`);
      prevSeq = r.rec.head.seq;
    }
    pos += r.size;
  }
  return out;
}
