/**
 * Whole-tree walk in report mode, the library half of `hammerfs show` (after sbin/hammer
 * cmd_show.c print_btree_node(), written afresh): depth first from vol0_btree_root, each node
 * reported before its children, children in element order.
 *
 * Nothing throws for damage inside the tree. A node that cannot be read (bad offset, short
 * read), whose CRC does not match, whose header is broken or that was already visited (a loop)
 * is reported with its location and the walk goes on with its siblings. Every element gets the
 * same checks `hammer show` makes (flag bits below), and with `checkData` every leaf's data CRC
 * is recomputed. Errors of the volume set itself (I/O on a healthy offset is impossible to tell
 * apart from a truncated volume) are reported per node as well.
 *
 * Allocation: one WalkedNode per node (there are ~1/60 as many nodes as elements); elements are
 * checked in place on the cached buffers.
 */
import { HammerError, BadFieldError, CycleError, type Where } from '../errors.js';
import {
  LE, HAMMER_BTREE_TYPE_INTERNAL, HAMMER_BTREE_TYPE_LEAF, HAMMER_BTREE_TYPE_RECORD, HAMMER_BTREE_LEAF_ELMS,
  HAMMER_BTREE_INT_ELMS, HAMMER_BUFSIZE, HAMMER_XBUFSIZE, HAMMER_RECTYPE_INODE, HAMMER_INODE_DATA_SIZE, HAMMER_INODE_CRCSIZE,
  HAMMER_MAX_TID, HAMMER_BIGBLOCK_SIZE, HAMMER_ZONE_UNDO_INDEX, HAMMER_BLOCKMAP_UNAVAIL,
} from '../ondisk/constants.js';
import { ELM, cmpBaseElmRaw } from '../ondisk/btree-elm.js';
import { btreeNodeCrcVerdict, NODE, type NodeView } from '../ondisk/btree-node.js';
import { crc32, crc32c, type CrcVerdict } from '../ondisk/crc.js';
import { zoneOf, volOf, layer1Index, layer2Index, bigBlockOffset } from '../ondisk/offset.js';
import type { BTree } from './btree.js';
import type { VolumeSet } from '../volume/volume-set.js';

/* Element flag bits, one per column of `hammer show`'s 7-character flag field. */
export const ELMF_TOOFARLEFT = 0x01; // 'L': key left of the parent element's key
export const ELMF_TOOFARRIGHT = 0x02; // 'R': key not left of the parent's right bound
export const ELMF_BADTYPE = 0x04; // 'T': btype wrong for its position
export const ELMF_BADCHILDPARENT = 0x08; // 'C': child's parent pointer, subtree or data reference wrong
export const ELMF_BADMIRRORTID = 0x10; // 'M': mirror_tid / TID above the node's mirror_tid

/** Second status character of a node line: what is wrong, ' ' when nothing is. */
export type NodeMark = ' ' | 'M' | 'I' | 'U' | 'C' | 'Y';
/*  M  node mirror_tid above the parent element's mirror_tid
 *  I  node unreadable (offset not in zone 8 / not aligned / outside the set / short read)
 *  U  unknown node type
 *  C  count above the type's maximum, negative, or 0 in a node whose parent has more than one child
 *  Y  node already visited: the tree has a loop (our addition; hammer(8) would recurse forever) */

/** Data check verdict of one leaf element, as `hammer show` prints after the CRC. */
export type DataError = 'ZO' | 'BI' | 'Bx' | 'BX' | 'BL' | 'IO' | null;

export interface WalkedNode {
  offset: bigint;
  depth: number;
  /** null when the node could not be read (mark 'I') or is a revisit (mark 'Y'). */
  node: NodeView | null;
  /** Why the node could not be used (mark I or Y). */
  error?: HammerError;
  /** 'crc32c' / 'crc32' = matched that algorithm, null = bad CRC (or unreadable). */
  crc: CrcVerdict;
  /** First status character: true prints 'B'. */
  bad: boolean;
  mark: NodeMark;
  /** mirror_tid of the parent element (HAMMER_MAX_TID at the root). */
  parentMirrorTid: bigint;
  /** Elements examined: count, clamped to 0..63; internal nodes have one more (the right boundary). */
  elms: number;
  /** Per element ELMF_* bits. */
  elmFlags: Uint8Array;
  /** Leaf elements with btype R (when checkData): the CRC algorithm that matched, else null. */
  dataCrc?: CrcVerdict[];
  dataError?: DataError[];
  /** The node and index of the parent element that points here (bounds lbe and lbe+1). */
  parentNode?: NodeView;
  parentIndex?: number;
  where: Where;
}

export interface WalkOptions {
  /** Recompute every leaf's data CRC (default true). */
  checkData?: boolean;
  /** Start somewhere else than vol0_btree_root. */
  root?: bigint;
  /** Called for each node before its children. */
  onNode?: (n: WalkedNode) => void;
}

export interface WalkStats {
  nodes: number;
  /** Leaf and internal elements seen (right boundaries not counted). */
  elms: number;
  leafElms: number;
  badNodes: number;
  badElms: number;
  badRecords: number;
  maxDepth: number;
}

const MAX_DEPTH = 40;

/**
 * Walk the whole B-Tree. Never throws for on-disk damage below the volume headers; see the file
 * comment. Returns counters in the spirit of `hammer show -v`'s trailer.
 */
export function walkBTree(tree: BTree, o: WalkOptions = {}): WalkStats {
  const vs = tree.vs;
  const checkData = o.checkData ?? true;
  const stats: WalkStats = { nodes: 0, elms: 0, leafElms: 0, badNodes: 0, badElms: 0, badRecords: 0, maxDepth: 0 };
  const visited = new Set<bigint>();
  const version = vs.version;

  const visit = (off: bigint, depth: number, parentMirrorTid: bigint, parentNode?: NodeView, parentIndex?: number): void => {
    stats.nodes++;
    if (depth > stats.maxDepth) stats.maxDepth = depth;
    const r: WalkedNode = {
      offset: off, depth, node: null, crc: null, bad: true, mark: 'I', parentMirrorTid, elms: 0,
      elmFlags: EMPTY, parentNode, parentIndex, where: tree.nodeWhere(off),
    };
    if (visited.has(off) || depth >= MAX_DEPTH) {
      r.mark = 'Y';
      r.error = new CycleError(depth >= MAX_DEPTH ? `B-Tree deeper than ${MAX_DEPTH} levels` : 'node already visited: the B-Tree has a loop', r.where);
      stats.badNodes++;
      o.onNode?.(r);
      return;
    }
    visited.add(off);
    let n: NodeView;
    try {
      n = tree.rawNode(off);
    } catch (e) {
      if (!(e instanceof HammerError)) throw e;
      r.error = e;
      stats.badNodes++;
      o.onNode?.(r);
      return;
    }
    r.node = n;
    r.crc = btreeNodeCrcVerdict(n.bytes, 0, version);
    let bad = r.crc === null;
    let mark: NodeMark = ' ';
    if (n.mirrorTid > parentMirrorTid) {
      bad = true;
      mark = 'M';
    }
    const type = n.type;
    const count = n.count;
    const max = type === HAMMER_BTREE_TYPE_LEAF ? HAMMER_BTREE_LEAF_ELMS : type === HAMMER_BTREE_TYPE_INTERNAL ? HAMMER_BTREE_INT_ELMS : -1;
    if (max < 0) {
      bad = true;
      mark = 'U';
    } else if (count > max || count < 0) {
      bad = true;
      mark = 'C';
    } else if (count === 0 && parentNode && parentNode.count !== 1) {
      bad = true;
      mark = 'C';
    }
    r.bad = bad;
    r.mark = mark;
    if (bad) stats.badNodes++;
    // Never index past the element array, whatever count says.
    const nElms = Math.max(0, Math.min(count, type === HAMMER_BTREE_TYPE_INTERNAL ? HAMMER_BTREE_INT_ELMS : HAMMER_BTREE_LEAF_ELMS));
    const withRbn = type === HAMMER_BTREE_TYPE_INTERNAL;
    r.elms = nElms + (withRbn ? 1 : 0);
    r.elmFlags = new Uint8Array(r.elms);
    if (type === HAMMER_BTREE_TYPE_LEAF && checkData) {
      r.dataCrc = new Array<CrcVerdict>(nElms).fill(null);
      r.dataError = new Array<DataError>(nElms).fill(null);
    }
    stats.elms += nElms;
    if (type === HAMMER_BTREE_TYPE_LEAF) stats.leafElms += nElms;
    for (let i = 0; i < r.elms; i++) {
      const f = elmFlags(tree, n, i, nElms, parentNode, parentIndex);
      r.elmFlags[i] = f;
      if (f) stats.badElms++;
      if (r.dataCrc && n.dv.getUint8(n.elmAt(i) + ELM.btype) === HAMMER_BTREE_TYPE_RECORD) {
        const err = checkLeafData(vs, n, i, r.dataCrc);
        r.dataError![i] = err;
        if (err) stats.badRecords++;
      }
    }
    o.onNode?.(r);
    if (type === HAMMER_BTREE_TYPE_INTERNAL) {
      for (let i = 0; i < nElms; i++) {
        const child = n.subtreeOffset(i);
        if (child !== 0n) visit(child, depth + 1, n.elmMirrorTid(i), n, i);
      }
    }
  };
  visit(o.root ?? tree.rootOffset, 0, HAMMER_MAX_TID);
  return stats;
}

const EMPTY = new Uint8Array(0);

/** get_elm_flags() semantics: the element's consistency with its node and the parent's bounds. */
function elmFlags(tree: BTree, n: NodeView, i: number, count: number, parentNode?: NodeView, parentIndex?: number): number {
  const dv = n.dv;
  const at = n.elmAt(i);
  const btype = dv.getUint8(at + ELM.btype);
  let f = 0;
  if (n.isInternal) {
    if (n.elmMirrorTid(i) > n.mirrorTid) f |= ELMF_BADMIRRORTID;
    const child = n.subtreeOffset(i);
    if (i === count) {
      // right boundary: no child, btype 0, inside [lbe, rbe]
      if (child !== 0n) f |= ELMF_BADCHILDPARENT;
      if (btype !== 0) f |= ELMF_BADTYPE;
      else f |= boundsFlags(dv, at, parentNode, parentIndex, true);
    } else {
      if (child === 0n) f |= ELMF_BADCHILDPARENT;
      else {
        try {
          if (tree.rawNode(child).parent !== n.offset) f |= ELMF_BADCHILDPARENT;
        } catch (e) {
          if (!(e instanceof HammerError)) throw e;
          f |= ELMF_BADCHILDPARENT;
        }
      }
      if (btype === HAMMER_BTREE_TYPE_INTERNAL || btype === HAMMER_BTREE_TYPE_LEAF) f |= boundsFlags(dv, at, parentNode, parentIndex, false);
      else f |= ELMF_BADTYPE;
    }
  } else if (n.isLeaf) {
    if (isZero64(dv, at + ELM.dataOffset)) f |= ELMF_BADCHILDPARENT;
    if (dv.getInt32(at + ELM.dataLen, LE) === 0) f |= ELMF_BADCHILDPARENT;
    // 64-bit compares as two u32 words: no bigint per element
    const mtAt = n.at + NODE.mirrorTid;
    const mtZero = isZero64(dv, mtAt);
    // A node with mirror_tid 0 is only legal as newfs's lone root leaf (2 elements).
    if (mtZero && !(isZero64(dv, n.at + NODE.parent) && n.count === 2)) f |= ELMF_BADMIRRORTID;
    if (!mtZero) {
      if (!isZero64(dv, at + ELM.createTid) && cmpU64(dv, at + ELM.createTid, mtAt) > 0) f |= ELMF_BADMIRRORTID;
      if (!isZero64(dv, at + ELM.deleteTid) && cmpU64(dv, at + ELM.deleteTid, mtAt) > 0) f |= ELMF_BADMIRRORTID;
    }
    if (btype === HAMMER_BTREE_TYPE_RECORD) f |= boundsFlags(dv, at, parentNode, parentIndex, false);
    else f |= ELMF_BADTYPE;
  } else {
    f |= ELMF_BADTYPE;
  }
  return f;
}

/** test_lr() / test_rbn_lr(): compare with the parent element (lbe) and its successor (rbe). */
function boundsFlags(dv: DataView, at: number, parentNode: NodeView | undefined, parentIndex: number | undefined, rbn: boolean): number {
  if (!parentNode || parentIndex === undefined) return 0;
  const pdv = parentNode.dv;
  if (cmpBaseElmRaw(dv, at, pdv, parentNode.elmAt(parentIndex)) < 0) return ELMF_TOOFARLEFT;
  const r = cmpBaseElmRaw(dv, at, pdv, parentNode.elmAt(parentIndex + 1));
  if (rbn ? r > 0 : r >= 0) return ELMF_TOOFARRIGHT;
  return 0;
}

const isZero64 = (d: DataView, o: number) => d.getUint32(o, LE) === 0 && d.getUint32(o + 4, LE) === 0;
/** Unsigned compare of two u64 fields of the same view. */
function cmpU64(d: DataView, a: number, b: number): number {
  const ha = d.getUint32(a + 4, LE), hb = d.getUint32(b + 4, LE);
  if (ha !== hb) return ha < hb ? -1 : 1;
  const la = d.getUint32(a, LE), lb = d.getUint32(b, LE);
  return la === lb ? 0 : la < lb ? -1 : 1;
}

/**
 * check_data_crc() semantics for leaf element i: ZO zero offset/length, BI inode payload not 128
 * bytes, BX no algorithm matches, Bx the CRC is 0 (hammer(8) flags it even when it matches);
 * our additions: BL data_len negative or above 64 KiB (no record is larger; a damaged length must
 * not make us checksum a gigabyte), IO the data cannot be read at all. Sets crcOut[i] to the matching algorithm.
 */
export function checkLeafData(vs: VolumeSet, n: NodeView, i: number, crcOut: CrcVerdict[]): DataError {
  const dv = n.dv;
  const at = n.elmAt(i);
  const off = dv.getBigUint64(at + ELM.dataOffset, LE);
  const len = dv.getInt32(at + ELM.dataLen, LE);
  const stored = dv.getUint32(at + ELM.dataCrc, LE);
  if (off === 0n || len === 0) return 'ZO';
  let covered = len;
  if (dv.getUint16(at + ELM.recType, LE) === HAMMER_RECTYPE_INODE) {
    if (len !== HAMMER_INODE_DATA_SIZE) return 'BI';
    covered = HAMMER_INODE_CRCSIZE;
  }
  if (len < 0 || len > HAMMER_XBUFSIZE) return 'BL';
  // Records never span big-blocks: a longer length is a lie, and following it would CRC up to the
  // rest of the volume (2 GiB for data_len 0x7fffffff).
  if (bigBlockOffset(off) + covered > HAMMER_BIGBLOCK_SIZE) return 'IO';
  let c: number;
  try {
    if (vs.version >= 7) {
      c = dataCrc(vs, off, covered, crc32c);
      if (c === stored) {
        crcOut[i] = 'crc32c';
        return c === 0 ? 'Bx' : null;
      }
    }
    c = dataCrc(vs, off, covered, crc32);
  } catch (e) {
    if (e instanceof HammerError) return 'IO';
    throw e;
  }
  if (c === stored) {
    crcOut[i] = 'crc32';
    return c === 0 ? 'Bx' : null;
  }
  return c === 0 ? 'Bx' : 'BX';
}

/** CRC of `len` bytes at a data offset, continued buffer by buffer (no copy of 64 KiB records). */
function dataCrc(vs: VolumeSet, off: bigint, len: number, f: (b: Uint8Array, prev?: number) => number): number {
  let crc: number | undefined;
  let done = 0;
  const where: Where = { structure: 'record data', hammerOff: off };
  while (done < len) {
    const p = off + BigInt(done);
    const inBuf = Number(p & BigInt(HAMMER_BUFSIZE - 1));
    const n = Math.min(len - done, HAMMER_BUFSIZE - inBuf);
    const { buf, at } = vs.buffer(p, n, where);
    crc = f(buf.bytes.subarray(at, at + n), crc);
    done += n;
  }
  return crc ?? 0;
}

/** Where an offset sits in the freemap, as `hammer show` prints after `fill=`. */
export interface BigBlockFill {
  zone: number;
  vol: number;
  l1: number;
  l2: number;
  /** byte offset inside the big-block */
  offset: number;
  /** 100 - floor(bytes_free * 100 / 8 MiB) (so a nearly empty big-block says 1%), or null on error */
  percent: number | null;
  /** blockmap_lookup error code (-1 .. -8, see spec ONDISK §6.1), 0 when fine */
  error: number;
  /** layer2 as read, when the lookup got that far */
  layer2Zone?: number;
  bytesFree?: number;
}

/**
 * Freemap lookup with hammer(8)'s error codes instead of exceptions: -1 zone 0/1, -3 UNDO offset
 * past alloc_offset, -5 I/O, -6 layer1 unavailable, -7 I/O on layer2, -8 layer2 owned by
 * another zone (record zones only).
 */
export function bigBlockFill(vs: VolumeSet, off: bigint): BigBlockFill {
  const zone = zoneOf(off);
  const r: BigBlockFill = { zone, vol: volOf(off), l1: layer1Index(off), l2: layer2Index(off), offset: bigBlockOffset(off), percent: null, error: 0 };
  if (zone <= 1) {
    r.error = -1;
    return r;
  }
  let z2 = off;
  if (zone === HAMMER_ZONE_UNDO_INDEX) {
    try {
      z2 = vs.toZone2(off);
    } catch {
      r.error = -3;
      return r;
    }
  }
  let l;
  try {
    l = vs.freemapLookup(z2);
  } catch (e) {
    if (!(e instanceof HammerError)) throw e;
    r.error = e instanceof BadFieldError && /unavailable/.test(e.message) ? -6 : -5;
    return r;
  }
  if (l.layer1.physOffset === HAMMER_BLOCKMAP_UNAVAIL) {
    r.error = -6;
    return r;
  }
  r.layer2Zone = l.layer2.zone;
  r.bytesFree = l.layer2.bytesFree;
  if (zone >= 8 && l.layer2.zone !== zone) {
    r.error = -8;
    return r;
  }
  r.percent = 100 - Math.trunc((l.layer2.bytesFree * 100) / HAMMER_BIGBLOCK_SIZE);
  return r;
}
