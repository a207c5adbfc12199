/**
 * B-Tree writes inside a transaction (spec/BTREE.md §4, §6, §9):
 *  - insertLeaf(): top-down descent that splits every full node on the way (new root when the
 *    root is full), so the target leaf always has room; leaf split at (count+1)/2, or 3/4 when
 *    appending at the node's end; separator = field-wise midpoint between the two halves.
 *  - markDeleted(): set delete_tid/delete_ts (history is kept), propagate mirror_tid.
 *  - deleteLeaf(): physical removal; an empty leaf is unlinked from its parent (recursively,
 *    the freed nodes become type 'D' and go back to the freemap), an emptied root becomes an
 *    empty leaf.
 *  - mirror_tid: after every insert/delete-mark the leaf's mirror_tid and each parent element
 *    and node on the path up are raised to the TID, stopping at the first element already >= it.
 *  - writeRecordData(): allocate a payload in the right zone, write it, compute data_crc.
 * Existing nodes are changed through tx.modify() (UNDO derived at commit); new nodes come from
 * tx.alloc(8, 4096). Every touched node is resealed (CRC) before the operation returns.
 */
import { BadFieldError, ExistsError, NotFoundError } from '../errors.js';
import {
  HAMMER_BTREE_ELM_SIZE, HAMMER_BTREE_INT_ELMS, HAMMER_BTREE_LEAF_ELMS, HAMMER_BTREE_NODE_SIZE,
  HAMMER_BTREE_TYPE_INTERNAL, HAMMER_BTREE_TYPE_LEAF, HAMMER_BTREE_TYPE_DELETED, HAMMER_ZONE_BTREE_INDEX,
  HAMMER_MAX_KEY, HAMMER_MIN_KEY, HAMMER_MAX_TID, HAMMER_RECTYPE_INODE, HAMMER_RECTYPE_DATA, HAMMER_RECTYPE_DB,
  HAMMER_INODE_CRCSIZE, HAMMER_ZONE_META_INDEX, HAMMER_ZONE_LARGE_DATA_INDEX, HAMMER_ZONE_SMALL_DATA_INDEX,
  HAMMER_BTREE_TYPE_RECORD, LE,
} from '../ondisk/constants.js';
import {
  ELM, EncodedKey, cmpBaseElmRaw, decodeBaseElm, encodeBaseElm, encodeLeafElm, type BaseElm, type LeafElm,
} from '../ondisk/btree-elm.js';
import { NODE, NodeView, setNodeHeader } from '../ondisk/btree-node.js';
import { u64, setU64 } from '../ondisk/int64.js';
import { hammerCrc } from '../ondisk/crc.js';
import type { Transaction } from '../volume/transaction.js';
import type { BTree } from './btree.js';

const ESZ = HAMMER_BTREE_ELM_SIZE;

interface PathEntry {
  off: bigint;
  index: number;
}

/** A node opened for writing: its bytes are the transaction's private copy. */
class WNode {
  readonly dv: DataView;
  readonly bytes: Uint8Array;
  constructor(
    readonly off: bigint,
    readonly at: number,
    bytes: Uint8Array,
    dv: DataView,
  ) {
    this.bytes = bytes;
    this.dv = dv;
  }
  get view(): NodeView { return new NodeView(this.dv, this.at, this.off); }
  get count(): number { return this.dv.getInt32(this.at + NODE.count, LE); }
  set count(c: number) { this.dv.setInt32(this.at + NODE.count, c, LE); }
  get type(): number { return this.dv.getUint8(this.at + NODE.type); }
  set type(t: number) { this.dv.setUint8(this.at + NODE.type, t); }
  get parent(): bigint { return u64(this.dv, this.at + NODE.parent); }
  set parent(p: bigint) { setU64(this.dv, this.at + NODE.parent, p); }
  get mirrorTid(): bigint { return u64(this.dv, this.at + NODE.mirrorTid); }
  set mirrorTid(t: bigint) { setU64(this.dv, this.at + NODE.mirrorTid, t); }
  elm(i: number): number { return this.at + NODE.elms + i * ESZ; }
  elmMirror(i: number): bigint { return u64(this.dv, this.elm(i) + ELM.mirrorTid); }
  setElmMirror(i: number, t: bigint): void { setU64(this.dv, this.elm(i) + ELM.mirrorTid, t); }
  subtree(i: number): bigint { return u64(this.dv, this.elm(i) + ELM.subtreeOffset); }
  setSubtree(i: number, o: bigint): void { setU64(this.dv, this.elm(i) + ELM.subtreeOffset, o); }
  /** Move elements [from, to) by `by` slots (within the 63-slot array). */
  shift(from: number, to: number, by: number): void {
    if (to > from) this.bytes.copyWithin(this.elm(from + by), this.elm(from), this.elm(to));
  }
  clearElms(from: number, to: number): void {
    if (to > from) this.bytes.fill(0, this.elm(from), this.elm(to));
  }
}

function wnode(tx: Transaction, off: bigint): WNode {
  const { buf, at } = tx.modify(off, HAMMER_BTREE_NODE_SIZE);
  tx.touchNode(off);
  return new WNode(off, at, buf.bytes, buf.dv);
}

/** Allocate and initialise an empty node. */
function newNode(tx: Transaction, type: number, parent: bigint, mirrorTid: bigint): WNode {
  const off = tx.alloc(HAMMER_ZONE_BTREE_INDEX, HAMMER_BTREE_NODE_SIZE);
  tx.writeNew(off, new Uint8Array(HAMMER_BTREE_NODE_SIZE));
  const n = wnode(tx, off);
  setNodeHeader(n.dv, n.at, { parent, count: 0, type, mirrorTid });
  return n;
}

const maxTid = (a: bigint, b: bigint) => (a > b ? a : b);

function rootLeftBound(btype: number): BaseElm {
  return { localization: 0, objId: HAMMER_MIN_KEY, recType: 0, key: HAMMER_MIN_KEY, createTid: 1n, deleteTid: 1n, objType: 0, btype };
}
function rootRightBound(): BaseElm {
  return { localization: 0xffffffff, objId: HAMMER_MAX_KEY, recType: 0xffff, key: HAMMER_MAX_KEY, createTid: HAMMER_MAX_TID, deleteTid: 0n, objType: 0, btype: 0 };
}

/**
 * A separator s with a < s <= b (hammer_make_separator): b's fields, except that the first of
 * localization / obj_id / rec_type / key that differs takes the midpoint.
 */
export function makeSeparator(a: BaseElm, b: BaseElm): BaseElm {
  const s: BaseElm = { ...b, deleteTid: 0n, objType: 0, btype: 0 };
  const mid = (x: bigint, y: bigint) => x + ((y - x + 1n) >> 1n);
  if (a.localization !== b.localization) {
    s.localization = Number(mid(BigInt(a.localization >>> 0), BigInt(b.localization >>> 0)));
    if (s.localization !== b.localization) { s.objId = HAMMER_MIN_KEY; s.recType = 0; s.key = HAMMER_MIN_KEY; s.createTid = 1n; }
  } else if (a.objId !== b.objId) {
    s.objId = mid(a.objId, b.objId);
    if (s.objId !== b.objId) { s.recType = 0; s.key = HAMMER_MIN_KEY; s.createTid = 1n; }
  } else if (a.recType !== b.recType) {
    s.recType = Number(mid(BigInt(a.recType), BigInt(b.recType)));
    if (s.recType !== b.recType) { s.key = HAMMER_MIN_KEY; s.createTid = 1n; }
  } else if (a.key !== b.key) {
    s.key = mid(a.key, b.key);
    if (s.key !== b.key) s.createTid = 1n;
  }
  return s;
}

function writeBase(n: WNode, i: number, e: BaseElm): void {
  encodeBaseElm(e, n.dv, n.elm(i));
}

/** Child index in an internal node for key k: largest i < count with elms[i] <= k (0 if none). */
function childIndex(n: NodeView, k: EncodedKey): number {
  const c = n.count;
  let lo = 0, hi = c - 1;
  // binary search for the last i in [0, c) with elms[i] <= k
  let ans = 0;
  while (lo <= hi) {
    const m = (lo + hi) >> 1;
    if (cmpBaseElmRaw(n.dv, n.elmAt(m), k.dv, 0) <= 0) { ans = m; lo = m + 1; } else hi = m - 1;
  }
  return ans;
}

/** First leaf index with elms[i] >= k (binary search), and whether it is an exact match. */
function leafIndex(n: NodeView, k: EncodedKey): { i: number; exact: boolean } {
  let lo = 0, hi = n.count;
  while (lo < hi) {
    const m = (lo + hi) >> 1;
    if (cmpBaseElmRaw(n.dv, n.elmAt(m), k.dv, 0) < 0) lo = m + 1; else hi = m;
  }
  const exact = lo < n.count && cmpBaseElmRaw(n.dv, n.elmAt(lo), k.dv, 0) === 0;
  return { i: lo, exact };
}

/**
 * Widen an internal node's bounds so they contain k (a kernel-written tree may have gaps left
 * by deletions): the new bound is the parent's, which is always allowed (BTREE.md §4).
 */
function widenBounds(tx: Transaction, tree: BTree, n: NodeView, k: EncodedKey, parent: PathEntry | null): void {
  const c = n.count;
  const leftOut = cmpBaseElmRaw(n.dv, n.elmAt(0), k.dv, 0) > 0;
  const rightOut = cmpBaseElmRaw(n.dv, n.elmAt(c), k.dv, 0) <= 0;
  if (!leftOut && !rightOut) return;
  const w = wnode(tx, n.offset);
  let left: BaseElm, right: BaseElm;
  if (parent) {
    const p = tree.node(parent.off);
    left = decodeBaseElm(p.dv, p.elmAt(parent.index));
    right = decodeBaseElm(p.dv, p.elmAt(parent.index + 1));
  } else {
    left = rootLeftBound(0);
    right = rootRightBound();
  }
  if (leftOut) {
    const btype = w.dv.getUint8(w.elm(0) + ELM.btype);
    writeBase(w, 0, { ...left, btype });
  }
  if (rightOut) writeBase(w, c, { ...right, btype: 0 });
  tx.sealNodes();
}

/** Split a full root: a new internal root with the old root as its only child. */
function growRoot(tx: Transaction): PathEntry {
  const oldOff = tx.header.btreeRoot;
  const old = wnode(tx, oldOff);
  const root = newNode(tx, HAMMER_BTREE_TYPE_INTERNAL, 0n, old.mirrorTid);
  root.count = 1;
  writeBase(root, 0, rootLeftBound(old.type));
  root.setElmMirror(0, old.mirrorTid);
  root.setSubtree(0, oldOff);
  writeBase(root, 1, rootRightBound());
  old.parent = root.off;
  tx.header.btreeRoot = root.off;
  return { off: root.off, index: 0 };
}

/**
 * Split node `off` (a child of parent.off at parent.index). Returns the new right node and the
 * separator now in the parent at parent.index + 1.
 */
function splitNode(tx: Transaction, off: bigint, parent: PathEntry, appendAtEnd: boolean): { right: bigint; sep: EncodedKey } {
  const n = wnode(tx, off);
  const p = wnode(tx, parent.off);
  const c = n.count;
  let sepBase: BaseElm;
  let right: WNode;
  if (n.type === HAMMER_BTREE_TYPE_LEAF) {
    const split = appendAtEnd ? Math.floor(((c + 1) * 3) / 4) : (c + 1) >> 1;
    right = newNode(tx, HAMMER_BTREE_TYPE_LEAF, parent.off, n.mirrorTid);
    right.bytes.set(n.bytes.subarray(n.elm(split), n.elm(c)), right.elm(0));
    right.count = c - split;
    const a = decodeBaseElm(n.dv, n.elm(split - 1));
    const b = decodeBaseElm(n.dv, n.elm(split));
    n.clearElms(split, HAMMER_BTREE_LEAF_ELMS);
    n.count = split;
    sepBase = { ...makeSeparator(a, b), btype: HAMMER_BTREE_TYPE_LEAF };
  } else {
    const split = (c + 1) >> 1;
    right = newNode(tx, HAMMER_BTREE_TYPE_INTERNAL, parent.off, n.mirrorTid);
    // elements split..c (the right boundary included) move
    right.bytes.set(n.bytes.subarray(n.elm(split), n.elm(c + 1)), right.elm(0));
    right.count = c - split;
    sepBase = { ...decodeBaseElm(n.dv, n.elm(split)), btype: HAMMER_BTREE_TYPE_INTERNAL };
    // element `split` stays as the left node's right boundary
    n.clearElms(split + 1, HAMMER_BTREE_LEAF_ELMS);
    n.dv.setUint8(n.elm(split) + ELM.btype, 0);
    n.setSubtree(split, 0n);
    n.setElmMirror(split, 0n);
    n.count = split;
    for (let i = 0; i < right.count; i++) wnode(tx, right.subtree(i)).parent = right.off;
  }
  // parent: make room at index+1 (elements index+1..count, boundary included, move right)
  const pc = p.count;
  const at = parent.index + 1;
  p.shift(at, pc + 1, 1);
  p.clearElms(at, at + 1);
  writeBase(p, at, { ...sepBase, deleteTid: 0n, objType: 0 });
  p.setElmMirror(at, right.mirrorTid);
  p.setSubtree(at, right.off);
  p.count = pc + 1;
  return { right: right.off, sep: new EncodedKey(sepBase) };
}

/** Raise mirror_tid from a leaf up to the root (BTREE.md §6). */
function propagateMirror(tx: Transaction, leafOff: bigint, path: PathEntry[], t: bigint): void {
  const leaf = wnode(tx, leafOff);
  if (leaf.mirrorTid < t) leaf.mirrorTid = t;
  for (let k = path.length - 1; k >= 0; k--) {
    const pe = path[k];
    // look before touching: an unchanged node needs no private copy, CRC or UNDO
    const { buf, at } = tx.vs.buffer(pe.off, HAMMER_BTREE_NODE_SIZE);
    if (u64(buf.dv, at + NODE.elms + pe.index * ESZ + ELM.mirrorTid) >= t) break;
    const p = wnode(tx, pe.off);
    p.setElmMirror(pe.index, t);
    if (p.mirrorTid < t) p.mirrorTid = t;
  }
}

/** Descend to the leaf that holds (or would hold) key; path = internal nodes with child index. */
function descend(tx: Transaction | null, tree: BTree, k: EncodedKey, rootOff: bigint): { leaf: bigint; path: PathEntry[] } {
  const path: PathEntry[] = [];
  let off = rootOff;
  for (let depth = 0; ; depth++) {
    if (depth > 40) throw new BadFieldError('B-Tree deeper than 40 levels', tree.nodeWhere(off));
    const n = tree.node(off);
    if (n.isLeaf) return { leaf: off, path };
    if (tx) widenBounds(tx, tree, n, k, path.length ? path[path.length - 1] : null);
    const i = childIndex(n, k);
    path.push({ off, index: i });
    off = n.subtreeOffset(i);
    if (off === 0n) throw new BadFieldError('internal element has no subtree', { ...tree.nodeWhere(n.offset), index: i });
  }
}

/**
 * Insert a leaf element. ExistsError if an element with the same key and create_tid exists.
 * The element's btype is forced to 'R'.
 */
export function insertLeaf(tx: Transaction, tree: BTree, elm: LeafElm): void {
  const e: LeafElm = { ...elm, btype: HAMMER_BTREE_TYPE_RECORD };
  const k = new EncodedKey(e);
  const path: PathEntry[] = [];
  let off = tx.header.btreeRoot;
  for (let depth = 0; ; depth++) {
    if (depth > 40) throw new BadFieldError('B-Tree deeper than 40 levels', tree.nodeWhere(off));
    let n = tree.node(off);
    const full = n.isLeaf ? n.count >= HAMMER_BTREE_LEAF_ELMS : n.count >= HAMMER_BTREE_INT_ELMS;
    if (full) {
      if (path.length === 0) path.push(growRoot(tx));
      const parent = path[path.length - 1];
      const appendAtEnd = n.isLeaf && cmpBaseElmRaw(n.dv, n.elmAt(n.count - 1), k.dv, 0) < 0;
      const { right, sep } = splitNode(tx, off, parent, appendAtEnd);
      tx.sealNodes();
      if (cmpBaseElmRaw(k.dv, 0, sep.dv, 0) >= 0) {
        off = right;
        parent.index += 1;
      }
      n = tree.node(off);
    }
    if (n.isLeaf) {
      const { i, exact } = leafIndex(n, k);
      if (exact) throw new ExistsError('a record with this key and create_tid exists', { ...tree.nodeWhere(off), index: i });
      const w = wnode(tx, off);
      const c = w.count;
      w.shift(i, c, 1);
      encodeLeafElm(e, w.dv, w.elm(i));
      w.count = c + 1;
      propagateMirror(tx, off, path, maxTid(e.createTid, e.deleteTid));
      tx.sealNodes();
      return;
    }
    widenBounds(tx, tree, n, k, path.length ? path[path.length - 1] : null);
    n = tree.node(off);
    const i = childIndex(n, k);
    path.push({ off, index: i });
    off = n.subtreeOffset(i);
    if (off === 0n) throw new BadFieldError('internal element has no subtree', { ...tree.nodeWhere(n.offset), index: i });
  }
}

/** Find the leaf element with exactly this key (create_tid included). */
function findExact(tree: BTree, key: BaseElm, rootOff: bigint): { leaf: bigint; index: number; path: PathEntry[] } {
  if (key.createTid === 0n) throw new BadFieldError('an exact record key needs its create_tid', { structure: 'B-Tree key' });
  const k = new EncodedKey(key);
  const { leaf, path } = descend(null, tree, k, rootOff);
  const n = tree.node(leaf);
  const { i, exact } = leafIndex(n, k);
  if (!exact) throw new NotFoundError('no record with this key and create_tid', { structure: 'B-Tree', hammerOff: leaf });
  return { leaf, index: i, path };
}

/** Set delete_tid/delete_ts of a record version (history is kept). */
export function markDeleted(tx: Transaction, tree: BTree, key: BaseElm, deleteTid: bigint = tx.tid, deleteTs: number = tx.ts): void {
  const { leaf, index, path } = findExact(tree, key, tx.header.btreeRoot);
  const w = wnode(tx, leaf);
  const at = w.elm(index);
  if (u64(w.dv, at + ELM.deleteTid) !== 0n) throw new BadFieldError('record is already deleted', { ...tree.nodeWhere(leaf), index });
  if (deleteTid === u64(w.dv, at + ELM.createTid)) throw new BadFieldError('delete_tid must differ from create_tid', { ...tree.nodeWhere(leaf), index });
  setU64(w.dv, at + ELM.deleteTid, deleteTid);
  w.dv.setUint32(at + ELM.deleteTs, deleteTs >>> 0, LE);
  propagateMirror(tx, leaf, path, deleteTid);
  tx.sealNodes();
}

export interface DeleteOptions {
  /** Return the record's payload to the freemap (default true). */
  freeData?: boolean;
}

/** Physically remove a record version; empty leaves are unlinked and freed. */
export function deleteLeaf(tx: Transaction, tree: BTree, key: BaseElm, o: DeleteOptions = {}): LeafElm {
  const { leaf, index, path } = findExact(tree, key, tx.header.btreeRoot);
  const w = wnode(tx, leaf);
  const elm = w.view.leaf(index);
  if ((o.freeData ?? true) && elm.dataOffset !== 0n && elm.dataLen > 0) tx.free(elm.dataOffset, elm.dataLen);
  const c = w.count;
  w.shift(index + 1, c, -1);
  w.clearElms(c - 1, c);
  w.count = c - 1;
  if (c - 1 === 0 && path.length > 0) unlink(tx, leaf, path);
  tx.sealNodes();
  return elm;
}

/** Remove an empty node from its parent (recursively) and free it. */
function unlink(tx: Transaction, off: bigint, path: PathEntry[]): void {
  const n = wnode(tx, off);
  n.type = HAMMER_BTREE_TYPE_DELETED;
  n.count = 0;
  tx.free(off, HAMMER_BTREE_NODE_SIZE);
  const pe = path[path.length - 1];
  const p = wnode(tx, pe.off);
  const pc = p.count;
  const m = p.elmMirror(pe.index);
  // keep the removed subtree's mirror_tid in a neighbour (left, or right for element 0)
  const nb = pe.index > 0 ? pe.index - 1 : pe.index + 1;
  if (nb < pc && p.elmMirror(nb) < m) p.setElmMirror(nb, m);
  p.shift(pe.index + 1, pc + 1, -1);
  p.clearElms(pc, pc + 1);
  p.count = pc - 1;
  if (pc - 1 === 0) {
    if (path.length > 1) unlink(tx, pe.off, path.slice(0, -1));
    else {
      // the root emptied: it becomes an empty leaf
      p.clearElms(0, HAMMER_BTREE_LEAF_ELMS);
      p.type = HAMMER_BTREE_TYPE_LEAF;
    }
  }
}

/** Zone a payload of this record type and length lives in (RECORDS.md §4, ONDISK.md §7). */
export function zoneForRecord(recType: number, dataLen: number): number {
  if (recType === HAMMER_RECTYPE_DATA || recType === HAMMER_RECTYPE_DB) {
    return dataLen >= 16384 ? HAMMER_ZONE_LARGE_DATA_INDEX : HAMMER_ZONE_SMALL_DATA_INDEX;
  }
  return HAMMER_ZONE_META_INDEX;
}

/** data_crc of a payload (INODE covers its first 112 bytes only). */
export function recordDataCrc(version: number, recType: number, data: Uint8Array): number {
  if (data.length === 0) return 0;
  const end = recType === HAMMER_RECTYPE_INODE ? Math.min(HAMMER_INODE_CRCSIZE, data.length) : data.length;
  return hammerCrc(version, data, 0, end);
}

/**
 * Allocate, write and checksum a record payload; returns the leaf fields to put in the element.
 * A zero-length payload gets no allocation (data_offset 0).
 */
export function writeRecordData(tx: Transaction, recType: number, data: Uint8Array): { dataOffset: bigint; dataLen: number; dataCrc: number } {
  if (data.length === 0) return { dataOffset: 0n, dataLen: 0, dataCrc: 0 };
  const off = tx.alloc(zoneForRecord(recType, data.length), data.length);
  tx.writeNew(off, data);
  return { dataOffset: off, dataLen: data.length, dataCrc: recordDataCrc(tx.version, recType, data) };
}

