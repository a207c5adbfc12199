/**
 * Freemap consistency, the library half of `hammerfs blockmap` and `hammerfs checkmap`
 * (semantics of sbin/hammer cmd_blockmap.c, written afresh).
 *
 * scanBlockmap(): every layer1 entry of the freemap and, below each available one, the layer2
 * entries (one per 8 MiB big-block) with their CRC / append_off / bytes_free verdicts.
 *
 * checkmap(): recomputes, for every big-block that something references, which zone owns it and
 * how many bytes are in use, from three sources — the freemap itself (its layer1 and layer2
 * big-blocks), the B-Tree (nodes: 4 KiB each in zone 8; record data: data_len rounded up to 16
 * in the zone its record type and size imply) and the UNDO FIFO (every record) — and compares
 * with the layer2 entry: a different zone is a BZ error, a different bytes_free a BM error.
 * Beyond hammer(8) it also flags references that reach past the big-block's append_off (BA) or
 * that the freemap cannot resolve at all (unmapped), and it never loops on an illegal UNDO
 * record size (hammer(8) does).
 *
 * Lives in src/btree because it walks the tree; it reads the freemap through VolumeSet.
 */
import { HammerError, BadFieldError, type Where } from '../errors.js';
import {
  LE, HAMMER_BIGBLOCK_SIZE, HAMMER_BLOCKMAP_UNAVAIL, HAMMER_BLOCKMAP_RADIX1, HAMMER_BLOCKMAP_RADIX2, HAMMER_LAYER1_BYTES,
  HAMMER_LAYER2_BYTES, HAMMER_ZONE_FREEMAP_INDEX, HAMMER_ZONE_UNDO_INDEX, HAMMER_ZONE_BTREE_INDEX, HAMMER_ZONE_META_INDEX,
  HAMMER_ZONE_LARGE_DATA_INDEX, HAMMER_ZONE_SMALL_DATA_INDEX, HAMMER_ZONE_UNAVAIL_INDEX, HAMMER_BUFSIZE, HAMMER_OFF_LONG_MASK,
  HAMMER_BTREE_NODE_SIZE, HAMMER_BTREE_TYPE_INTERNAL, HAMMER_BTREE_TYPE_LEAF, HAMMER_BTREE_INT_ELMS, HAMMER_BTREE_LEAF_ELMS,
  HAMMER_RECTYPE_INODE, HAMMER_RECTYPE_DIRENTRY, HAMMER_RECTYPE_EXT, HAMMER_RECTYPE_FIX, HAMMER_RECTYPE_PFS,
  HAMMER_RECTYPE_SNAPSHOT, HAMMER_RECTYPE_CONFIG, HAMMER_RECTYPE_DATA, HAMMER_RECTYPE_DB, HAMMER_UNDO_ALIGN,
  HAMMER_HEAD_TYPE_PAD, HAMMER_HEAD_TYPE_DUMMY, HAMMER_HEAD_TYPE_UNDO, HAMMER_HEAD_TYPE_REDO, HAMMER_OFF_SHORT_MASK,
} from '../ondisk/constants.js';
import { decodeLayer1, decodeLayer2, type Layer1, type Layer2 } from '../ondisk/blockmap.js';
import { crc32, crc32c } from '../ondisk/crc.js';
import { btreeNodeCrcVerdict } from '../ondisk/btree-node.js';
import { ELM } from '../ondisk/btree-elm.js';
import { withZone, zoneOf, volOf } from '../ondisk/offset.js';
import type { VolumeSet } from '../volume/volume-set.js';
import type { BTree } from './btree.js';

/* ------------------------------------------------------------------ blockmap scan */

export interface Layer1Report {
  index: number;
  /** zone-4 address of the first big-block this entry covers (hammer prints it after "layer1") */
  zoneOffset: bigint;
  entry: Layer1;
  crcOk: boolean;
  where: Where;
}
export interface Layer2Report {
  l1: Layer1Report;
  index: number;
  /** zone-4 address of the big-block */
  zoneOffset: bigint;
  vol: number;
  entry: Layer2;
  crcOk: boolean;
  /** append_off above 8 MiB ('A') */
  badAppend: boolean;
  /** bytes_free outside [0, 8 MiB] ('F') */
  badFree: boolean;
  where: Where;
}
export interface BlockmapScanOptions {
  /** Print-all mode (-vv): do not stop a layer1's listing at its first good zone-15 entry. */
  all?: boolean;
  onLayer1?: (l1: Layer1Report) => void;
  onLayer2?: (l2: Layer2Report) => void;
}
export interface BlockmapScanStats {
  layer1: number;
  layer2: number;
  badLayer1: number;
  badLayer2: number;
}

/**
 * Visit the freemap as `hammer blockmap` lists it: every layer1 entry that is available or has a
 * bad CRC, then its layer2 entries up to (not including) the first good one owned by zone 15.
 * Throws only if the freemap big-blocks themselves cannot be read.
 */
export function scanBlockmap(vs: VolumeSet, o: BlockmapScanOptions = {}): BlockmapScanStats {
  const st: BlockmapScanStats = { layer1: 0, layer2: 0, badLayer1: 0, badLayer2: 0 };
  const base = vs.root.blockmap[HAMMER_ZONE_FREEMAP_INDEX].physOffset;
  const version = vs.version;
  const perBuf1 = HAMMER_BUFSIZE / HAMMER_LAYER1_BYTES;
  const perBuf2 = HAMMER_BUFSIZE / HAMMER_LAYER2_BYTES;
  // One cached buffer per 512 layer1 / 1024 layer2 entries; CRCs straight over the cached bytes.
  for (let i0 = 0; i0 < HAMMER_BLOCKMAP_RADIX1; i0 += perBuf1) {
    const bz2 = base + BigInt(i0 * HAMMER_LAYER1_BYTES);
    const { buf, at: at0 } = vs.buffer(bz2, HAMMER_BUFSIZE, { structure: 'freemap layer1', hammerOff: bz2, index: i0 });
    for (let k = 0; k < perBuf1; k++) {
      const i = i0 + k;
      const at = at0 + k * HAMMER_LAYER1_BYTES;
      const crcOk = rawCrcOk(buf.bytes, at, 28, buf.dv.getUint32(at + 28, LE), version);
      if (!crcOk) st.badLayer1++;
      const phys = buf.dv.getBigUint64(at + 8, LE);
      if (crcOk && phys === HAMMER_BLOCKMAP_UNAVAIL) continue;
      st.layer1++;
      const z2 = base + BigInt(i * HAMMER_LAYER1_BYTES);
      const entry = decodeLayer1(buf.dv, at);
      const where: Where = { structure: 'freemap layer1 entry', hammerOff: z2, index: i };
      const l1: Layer1Report = { index: i, zoneOffset: withZone(BigInt(i) << 42n, HAMMER_ZONE_FREEMAP_INDEX), entry, crcOk, where: locWhere(vs, where) };
      o.onLayer1?.(l1);
      if (phys === HAMMER_BLOCKMAP_UNAVAIL) continue; // bad CRC and unavailable: nothing below
      scanLayer2(vs, l1, o, st, perBuf2);
    }
  }
  return st;
}

function scanLayer2(vs: VolumeSet, l1: Layer1Report, o: BlockmapScanOptions, st: BlockmapScanStats, perBuf2: number): void {
  const version = vs.version;
  const phys = l1.entry.physOffset;
  for (let j0 = 0; j0 < HAMMER_BLOCKMAP_RADIX2; j0 += perBuf2) {
    const bz2 = phys + BigInt(j0 * HAMMER_LAYER2_BYTES);
    const { buf, at: at0 } = vs.buffer(bz2, HAMMER_BUFSIZE, { structure: 'freemap layer2', hammerOff: bz2, index: j0 });
    const dv = buf.dv;
    for (let k = 0; k < perBuf2; k++) {
      const j = j0 + k;
      const at = at0 + k * HAMMER_LAYER2_BYTES;
      const zone = dv.getUint8(at);
      const appendOff = dv.getUint32(at + 4, LE);
      const bytesFree = dv.getInt32(at + 8, LE);
      const ok2 = rawCrcOk(buf.bytes, at, 12, dv.getUint32(at + 12, LE), version);
      const badAppend = appendOff > HAMMER_BIGBLOCK_SIZE;
      const badFree = bytesFree < 0 || bytesFree > HAMMER_BIGBLOCK_SIZE;
      if (!ok2) st.badLayer2++;
      if (badAppend) st.badLayer2++;
      if (badFree) st.badLayer2++;
      if (!o.all && ok2 && !badAppend && !badFree && zone === HAMMER_ZONE_UNAVAIL_INDEX) return;
      st.layer2++;
      if (!o.onLayer2) continue;
      const zoneOffset = l1.zoneOffset + BigInt(j) * BigInt(HAMMER_BIGBLOCK_SIZE);
      const l2z2 = phys + BigInt(j * HAMMER_LAYER2_BYTES);
      const where: Where = { structure: 'freemap layer2 entry', hammerOff: l2z2, index: j };
      o.onLayer2({ l1, index: j, zoneOffset, vol: volOf(zoneOffset), entry: decodeLayer2(dv, at), crcOk: ok2, badAppend, badFree, where: ok2 && !badAppend && !badFree ? where : locWhere(vs, where) });
    }
  }
}

/** hammer_crc_test_layer1/2 on raw bytes: the version's CRC, or for v7 also the legacy one. */
function rawCrcOk(bytes: Uint8Array, at: number, len: number, stored: number, version: number): boolean {
  const b = bytes.subarray(at, at + len);
  if (version >= 7 && crc32c(b) === stored) return true;
  return crc32(b) === stored;
}

function locWhere(vs: VolumeSet, w: Where): Where {
  try {
    const loc = vs.locate(w.hammerOff!, 1);
    return { ...w, volNo: loc.vol, rawOffset: loc.pos, path: vs.volumes[loc.vol].device.path };
  } catch {
    return w;
  }
}

/* ------------------------------------------------------------------ checkmap */

export type BlockVerdict = 'correct' | 'BZ' | 'BM' | 'BA';

export interface CheckedBlock {
  /** the big-block as hammer(8) prints it: zone-4 for freemap blocks, zone-2 otherwise */
  block: bigint;
  vol: number;
  l1Index: number;
  l2Index: number;
  /** zone-2 address of the layer2 array holding its entry (sort key, as hammer orders output) */
  layer2Base: bigint;
  calcZone: number;
  calcFree: number;
  /** highest byte offset inside the big-block that a reference reaches */
  calcEnd: number;
  layer2: Layer2;
  verdict: BlockVerdict;
  where: Where;
}
export interface UnmappedRef {
  offset: bigint;
  length: number;
  zone: number;
  source: 'freemap' | 'btree' | 'undo';
  message: string;
}
export interface BadNode {
  offset: bigint;
  depth: number;
  problem: string;
  where: Where;
}
export interface CheckmapResult {
  blocks: CheckedBlock[];
  badNodes: BadNode[];
  unmapped: UnmappedRef[];
  /** UNDO records with an illegal size (skipped to the next 512-byte boundary) */
  undoIllegal: bigint[];
  /** BZ + BM + BA + unmapped */
  errors: number;
  nodes: number;
  leafElms: number;
  undoRecords: number;
}

interface Track {
  block: bigint;
  vol: number;
  l1Index: number;
  l2Index: number;
  layer2Base: bigint;
  zone: number;
  free: number;
  end: number;
  layer2: Layer2;
}

/** hammer_data_zone_index(): 16 KiB and up goes to large-data, smaller to small-data. */
export const dataZoneFor = (len: number) => (len >= HAMMER_BUFSIZE ? HAMMER_ZONE_LARGE_DATA_INDEX : HAMMER_ZONE_SMALL_DATA_INDEX);
/** HAMMER_DATA_DOALIGN: allocations are 16-byte granular. */
export const dataAlign = (len: number) => (len + 15) & ~15;

/** The zone a leaf record's data must live in (collect_btree_leaf() semantics). */
export function recordZone(recType: number, dataLen: number): number {
  switch (recType) {
    case HAMMER_RECTYPE_INODE: case HAMMER_RECTYPE_DIRENTRY: case HAMMER_RECTYPE_EXT: case HAMMER_RECTYPE_FIX:
    case HAMMER_RECTYPE_PFS: case HAMMER_RECTYPE_SNAPSHOT: case HAMMER_RECTYPE_CONFIG:
      return HAMMER_ZONE_META_INDEX;
    case HAMMER_RECTYPE_DATA: case HAMMER_RECTYPE_DB:
      return dataZoneFor(dataLen);
    default:
      return HAMMER_ZONE_UNAVAIL_INDEX;
  }
}

/**
 * Recompute big-block ownership and usage and compare with the freemap. Never throws for damage
 * in the tree, the FIFO or the freemap entries; bad nodes and unresolvable references are listed.
 */
export function checkmap(tree: BTree): CheckmapResult {
  const vs = tree.vs;
  const tracks = new Map<bigint, Track>();
  const res: CheckmapResult = { blocks: [], badNodes: [], unmapped: [], undoIllegal: [], errors: 0, nodes: 0, leafElms: 0, undoRecords: 0 };

  const collect = (off: bigint, length: number, zone: number, source: UnmappedRef['source']): void => {
    let z2 = off;
    const oz = zoneOf(off);
    try {
      if (oz === HAMMER_ZONE_UNDO_INDEX) z2 = vs.toZone2(off);
      else if (oz < 2) throw new BadFieldError(`zone ${oz} offset is not a blockmap address`, { structure: 'offset', hammerOff: off });
      const key = (z2 & HAMMER_OFF_LONG_MASK) >> 23n;
      let t = tracks.get(key);
      if (!t) {
        const l = vs.freemapLookup(z2);
        const disp = oz === HAMMER_ZONE_FREEMAP_INDEX ? off & ~BigInt(HAMMER_BIGBLOCK_SIZE - 1) : withZone(z2, 2) & ~BigInt(HAMMER_BIGBLOCK_SIZE - 1);
        t = {
          block: disp, vol: volOf(z2), l1Index: l.l1Index, l2Index: l.l2Index, layer2Base: l.layer1.physOffset,
          zone, free: HAMMER_BIGBLOCK_SIZE, end: 0, layer2: l.layer2,
        };
        tracks.set(key, t);
      }
      t.free -= length;
      const end = Number(z2 & BigInt(HAMMER_BIGBLOCK_SIZE - 1)) + length;
      if (end > t.end) t.end = end;
    } catch (e) {
      if (!(e instanceof HammerError)) throw e;
      res.unmapped.push({ offset: off, length, zone, source, message: e.message });
    }
  };

  // 1. the freemap's own big-blocks
  const fm = vs.root.blockmap[HAMMER_ZONE_FREEMAP_INDEX].physOffset;
  collect(withZone(fm, HAMMER_ZONE_FREEMAP_INDEX), HAMMER_BIGBLOCK_SIZE, HAMMER_ZONE_FREEMAP_INDEX, 'freemap');
  const perBuf = HAMMER_BUFSIZE / HAMMER_LAYER1_BYTES;
  for (let i0 = 0; i0 < HAMMER_BLOCKMAP_RADIX1; i0 += perBuf) {
    const z2 = fm + BigInt(i0 * HAMMER_LAYER1_BYTES);
    const { buf, at } = vs.buffer(z2, HAMMER_BUFSIZE, { structure: 'freemap layer1', hammerOff: z2, index: i0 });
    for (let k = 0; k < perBuf; k++) {
      const phys = buf.dv.getBigUint64(at + k * HAMMER_LAYER1_BYTES + 8, LE);
      if (phys !== HAMMER_BLOCKMAP_UNAVAIL) collect(withZone(phys, HAMMER_ZONE_FREEMAP_INDEX), HAMMER_BIGBLOCK_SIZE, HAMMER_ZONE_FREEMAP_INDEX, 'freemap');
    }
  }

  // 2. the B-Tree
  const visited = new Set<bigint>();
  const walk = (off: bigint, depth: number): void => {
    res.nodes++;
    if (visited.has(off) || depth > 40) {
      res.badNodes.push({ offset: off, depth, problem: 'node already visited (loop)', where: tree.nodeWhere(off) });
      return;
    }
    visited.add(off);
    let n;
    try {
      n = tree.rawNode(off);
    } catch (e) {
      if (!(e instanceof HammerError)) throw e;
      res.badNodes.push({ offset: off, depth, problem: e.message, where: tree.nodeWhere(off) });
      return;
    }
    if (btreeNodeCrcVerdict(n.bytes, 0, vs.version) === null) {
      res.badNodes.push({ offset: off, depth, problem: 'B-Tree node CRC mismatch', where: tree.nodeWhere(off) });
    }
    const dv = n.dv;
    if (n.type === HAMMER_BTREE_TYPE_INTERNAL) {
      const c = Math.max(0, Math.min(n.count, HAMMER_BTREE_INT_ELMS));
      for (let i = 0; i < c; i++) {
        const sub = n.subtreeOffset(i);
        if (sub === 0n) continue;
        collect(sub, HAMMER_BTREE_NODE_SIZE, HAMMER_ZONE_BTREE_INDEX, 'btree');
        walk(sub, depth + 1);
      }
    } else if (n.type === HAMMER_BTREE_TYPE_LEAF) {
      const c = Math.max(0, Math.min(n.count, HAMMER_BTREE_LEAF_ELMS));
      for (let i = 0; i < c; i++) {
        const at = n.elmAt(i);
        res.leafElms++;
        const dOff = dv.getBigUint64(at + ELM.dataOffset, LE);
        if (dOff === 0n) continue;
        const len = dv.getInt32(at + ELM.dataLen, LE);
        collect(dOff, dataAlign(len), recordZone(dv.getUint16(at + ELM.recType, LE), len), 'btree');
      }
    } else {
      res.badNodes.push({ offset: off, depth, problem: `unknown node type 0x${n.type.toString(16)}`, where: tree.nodeWhere(off) });
    }
  };
  const root = vs.root.btreeRoot;
  collect(root, HAMMER_BTREE_NODE_SIZE, HAMMER_ZONE_BTREE_INDEX, 'btree');
  walk(root, 0);

  // 3. the UNDO FIFO: every record from the start to alloc_offset
  scanUndo(vs, res, collect);

  // 4. compare
  for (const t of tracks.values()) {
    let verdict: BlockVerdict = 'correct';
    if (t.zone !== t.layer2.zone) verdict = 'BZ';
    else if (t.free !== t.layer2.bytesFree) verdict = 'BM';
    else if (t.zone >= HAMMER_ZONE_BTREE_INDEX && t.end > t.layer2.appendOff) verdict = 'BA';
    if (verdict !== 'correct') res.errors++;
    res.blocks.push({
      block: t.block, vol: t.vol, l1Index: t.l1Index, l2Index: t.l2Index, layer2Base: t.layer2Base, calcZone: t.zone, calcFree: t.free,
      calcEnd: t.end, layer2: t.layer2, verdict,
      where: { structure: 'freemap layer2 entry', hammerOff: t.layer2Base + BigInt(t.l2Index * HAMMER_LAYER2_BYTES), index: t.l2Index, volNo: t.vol },
    });
  }
  res.blocks.sort((a, b) => (a.layer2Base !== b.layer2Base ? (a.layer2Base < b.layer2Base ? -1 : 1) : a.l2Index - b.l2Index));
  res.errors += res.unmapped.length;
  return res;
}

const UNDO_CHUNK = 1024 * 1024;

/**
 * Walk the FIFO record by record as check_undo() does, summing record sizes per UNDO big-block
 * (so the freemap is consulted once per big-block, not once per 512-byte record). An illegal
 * size skips to the next 512-byte boundary — strictly forward, unlike hammer(8).
 */
function scanUndo(vs: VolumeSet, res: CheckmapResult, collect: (off: bigint, len: number, zone: number, src: UnmappedRef['source']) => void): void {
  const bm = vs.root.blockmap[HAMMER_ZONE_UNDO_INDEX];
  const total = Number(bm.allocOffset & HAMMER_OFF_SHORT_MASK);
  const undoBase = bm.allocOffset & ~HAMMER_OFF_SHORT_MASK; // 0x3000000000000000
  const scratch = new Uint8Array(UNDO_CHUNK);
  for (let bb = 0; bb * HAMMER_BIGBLOCK_SIZE < total; bb++) {
    const blockStart = bb * HAMMER_BIGBLOCK_SIZE;
    const blockZ3 = undoBase + BigInt(blockStart);
    let z2: bigint;
    try {
      z2 = vs.toZone2(blockZ3);
    } catch (e) {
      if (!(e instanceof HammerError)) throw e;
      res.unmapped.push({ offset: blockZ3, length: HAMMER_BIGBLOCK_SIZE, zone: HAMMER_ZONE_UNDO_INDEX, source: 'undo', message: e.message });
      continue;
    }
    let sum = 0;
    const blockLen = Math.min(HAMMER_BIGBLOCK_SIZE, total - blockStart);
    let pos = 0; // within the big-block
    let chunk: Uint8Array | null = null;
    let chunkStart = -1;
    let dv: DataView | null = null;
    try {
      while (pos < blockLen) {
        if (chunk === null || pos >= chunkStart + chunk.length || pos + 8 > chunkStart + chunk.length) {
          chunkStart = pos - (pos % HAMMER_UNDO_ALIGN);
          const n = Math.min(UNDO_CHUNK, blockLen - chunkStart);
          const loc = vs.locate(z2 + BigInt(chunkStart), n);
          // one reused 1 MiB buffer: the FIFO is read once, sequentially, bypassing the cache
          chunk = n === UNDO_CHUNK ? scratch : new Uint8Array(n);
          vs.volumes[loc.vol].device.readInto(chunk, loc.pos);
          dv = new DataView(chunk.buffer, chunk.byteOffset, chunk.length);
        }
        const rel = pos - chunkStart;
        const type = dv!.getUint16(rel + 2, LE);
        const size = dv!.getUint32(rel + 4, LE);
        const room = HAMMER_UNDO_ALIGN - (pos % HAMMER_UNDO_ALIGN);
        const legal = size !== 0 && size % 8 === 0 && size <= room;
        if (type === HAMMER_HEAD_TYPE_PAD || type === HAMMER_HEAD_TYPE_DUMMY || type === HAMMER_HEAD_TYPE_UNDO || type === HAMMER_HEAD_TYPE_REDO) {
          res.undoRecords++;
          sum += size; // hammer(8) counts the stated size even when it is illegal
        }
        if (!legal) {
          res.undoIllegal.push(blockZ3 + BigInt(pos));
          pos += room;
        } else pos += size;
      }
    } catch (e) {
      if (!(e instanceof HammerError)) throw e;
      res.unmapped.push({ offset: blockZ3 + BigInt(pos), length: 0, zone: HAMMER_ZONE_UNDO_INDEX, source: 'undo', message: e.message });
    }
    collect(blockZ3, sum, HAMMER_ZONE_UNDO_INDEX, 'undo');
  }
}
