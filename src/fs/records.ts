/**
 * Record access shared by the filesystem view: localization arithmetic, range scans through the
 * Cursor with the as-of rule applied in place (no decode of invisible versions), and payload reads
 * with the leaf's data CRC checked.
 *
 * Every lookup here is a bounded Cursor range [beg, end]: the filesystem view never walks the
 * whole tree to answer a question about one object.
 */
import { BadFieldError, CrcMismatchError, type Where } from '../errors.js';
import { Cursor } from '../btree/cursor.js';
import type { BTree } from '../btree/btree.js';
import { ELM, decodeLeafElm, makeKey, type LeafElm } from '../ondisk/btree-elm.js';
import type { NodeView } from '../ondisk/btree-node.js';
import {
  LE, HAMMER_LOCALIZE_INODE, HAMMER_LOCALIZE_MISC, HAMMER_MAX_TID, HAMMER_XBUFSIZE,
} from '../ondisk/constants.js';
import { recordDataCrc, recordDataCrcVerdict } from '../ondisk/inode-data.js';
import { crcAlgFor } from '../ondisk/crc.js';
import type { VolumeSet } from '../volume/volume-set.js';

/** What every fs module needs: the volume set, its tree, and whether payload CRCs are checked. */
export interface FsContext {
  readonly vs: VolumeSet;
  readonly tree: BTree;
  /** Check leaf data_crc of every payload read (default true). */
  readonly verifyData: boolean;
}

/** "Current" as an as-of TID: visible iff delete_tid == 0 (spec/BTREE.md §7). */
export const CURRENT = HAMMER_MAX_TID;

/** PFS id << 16 | INODE: inodes, snapshots, config, DIR_LOCAL_INO directory entries. */
export function locInode(pfs: number): number {
  return ((pfs << 16) | HAMMER_LOCALIZE_INODE) >>> 0;
}
/** PFS id << 16 | MISC: file data, symlink FIX records, old-style directory entries. */
export function locMisc(pfs: number): number {
  return ((pfs << 16) | HAMMER_LOCALIZE_MISC) >>> 0;
}

/**
 * As-of visibility read straight from the element bytes (BTREE.md §7), so that scans over many
 * historical versions do not allocate.
 */
export function elmVisible(dv: DataView, at: number, asof: bigint): boolean {
  const deleteTid = dv.getBigUint64(at + ELM.deleteTid, LE);
  if (asof === 0n || asof === HAMMER_MAX_TID) return deleteTid === 0n;
  const createTid = dv.getBigUint64(at + ELM.createTid, LE);
  return createTid <= asof && (deleteTid === 0n || asof < deleteTid);
}

export function leafWhere(node: NodeView, i: number): Where {
  return { structure: 'B-Tree leaf element', hammerOff: node.offset, index: i };
}

/**
 * Visit every leaf element with identity in [(loc, objId, recType, keyBeg), (loc, objId, recType,
 * keyEnd)], all versions, in key order. `fn` returns false to stop. With `asof` given only versions
 * visible at that TID are passed.
 */
export function scanRecords(
  tree: BTree, loc: number, objId: bigint, recType: number, keyBeg: bigint, keyEnd: bigint,
  asof: bigint | undefined, fn: (node: NodeView, i: number) => boolean | void,
): void {
  // create_tid 1 is the smallest real TID; 0 in the end key means +infinity, so every version of
  // keyEnd is inside the range.
  const beg = makeKey({ localization: loc, objId, recType, key: keyBeg, createTid: 1n });
  const end = makeKey({ localization: loc, objId, recType, key: keyEnd, createTid: 0n });
  const c = new Cursor(tree, { end });
  c.seek(beg);
  while (c.next() === 'elm') {
    const node = c.node;
    const i = c.index;
    if (asof !== undefined && !elmVisible(node.dv, node.elmAt(i), asof)) continue;
    if (fn(node, i) === false) return;
  }
}

/** Decoded leaves of scanRecords(). */
export function collectRecords(
  tree: BTree, loc: number, objId: bigint, recType: number, keyBeg: bigint, keyEnd: bigint, asof?: bigint,
): { leaf: LeafElm; where: Where }[] {
  const out: { leaf: LeafElm; where: Where }[] = [];
  scanRecords(tree, loc, objId, recType, keyBeg, keyEnd, asof, (node, i) => {
    out.push({ leaf: node.leaf(i), where: leafWhere(node, i) });
  });
  return out;
}

/** The one visible version of an exact record identity as of `asof`, or undefined. */
export function findRecord(tree: BTree, loc: number, objId: bigint, recType: number, key: bigint, asof: bigint): { leaf: LeafElm; where: Where } | undefined {
  let hit: { leaf: LeafElm; where: Where } | undefined;
  scanRecords(tree, loc, objId, recType, key, key, asof, (node, i) => {
    hit = { leaf: decodeLeafElm(node.dv, node.elmAt(i)), where: leafWhere(node, i) };
    return false;
  });
  return hit;
}

/*
 * Data CRC verdicts. A record's payload is checked the first time it is read; after that, while
 * the volume set's cache mirrors the media and nothing has been written through it (writeGen),
 * the same (data_offset, data_len, data_crc) is known good and re-reads skip the CRC. The key
 * includes length and CRC, so a leaf that points other bytes at the same offset is checked anew.
 * Bounded: the oldest verdicts go first.
 */
const VERDICTS_MAX = 1 << 16;
/** Payloads shorter than this are cheaper to checksum than to look up. */
const VERDICT_MIN_LEN = 1024;

interface Verdicts {
  gen: number;
  /** data_offset -> data_crc * 2^17 + data_len (both exact in a double: < 2^49). */
  map: Map<bigint, number>;
}
const verdicts = new WeakMap<VolumeSet, Verdicts>();

function verdictsOf(vs: VolumeSet): Verdicts | undefined {
  const cache = vs.cache;
  if (!cache.mirrorsDevices) return undefined; // a write overlay is in front: check every time
  let v = verdicts.get(vs);
  if (!v) {
    v = { gen: cache.writeGen, map: new Map() };
    verdicts.set(vs, v);
  } else if (v.gen !== cache.writeGen) {
    v.gen = cache.writeGen;
    v.map.clear();
  }
  return v;
}

/** Whether the payload (dataOffset, len, crc) was already found to match its CRC. */
export function dataVerdictKnown(vs: VolumeSet, dataOffset: bigint, len: number, crc: number): boolean {
  if (len < VERDICT_MIN_LEN) return false;
  const v = verdictsOf(vs);
  return v !== undefined && v.map.get(dataOffset) === crc * 131072 + len;
}

/** Remember that the payload (dataOffset, len, crc) matched its CRC. */
export function rememberDataVerdict(vs: VolumeSet, dataOffset: bigint, len: number, crc: number): void {
  if (len < VERDICT_MIN_LEN) return;
  const v = verdictsOf(vs);
  if (!v) return;
  if (v.map.size >= VERDICTS_MAX && !v.map.has(dataOffset)) v.map.delete(v.map.keys().next().value as bigint);
  v.map.set(dataOffset, crc * 131072 + len);
}

/**
 * Check a payload's CRC (leaf rules: INODE records cover 112 bytes) unless its verdict is known;
 * throws CrcMismatchError at `where`.
 */
export function checkPayloadCrc(vs: VolumeSet, recType: number, dataOffset: bigint, dataCrc: number, b: Uint8Array, where: Where): void {
  if (dataVerdictKnown(vs, dataOffset, b.length, dataCrc)) return;
  const v = vs.version;
  if (recordDataCrcVerdict(recType, b, dataCrc, v) === null) {
    throw new CrcMismatchError({ ...where, field: 'data_crc' }, recordDataCrc(recType, b, v), dataCrc, `record data CRC mismatch (${crcAlgFor(v)})`);
  }
  rememberDataVerdict(vs, dataOffset, b.length, dataCrc);
}

/**
 * The payload of a leaf: data_len bytes at data_offset (data_offset 0 = zero fill). Checks
 * data_len against the 64 KiB record limit and, when ctx.verifyData, the data CRC (INODE records:
 * first 112 bytes only). The result may be a view into the buffer cache: do not modify it.
 */
export function readPayload(ctx: FsContext, leaf: LeafElm, where: Where): Uint8Array {
  const len = leaf.dataLen;
  if (len < 0 || len > HAMMER_XBUFSIZE) throw new BadFieldError(`data_len ${len} out of range 0..65536`, { ...where, field: 'data_len' });
  if (len === 0) return new Uint8Array(0);
  if (leaf.dataOffset === 0n) return new Uint8Array(len);
  const b = ctx.vs.read(leaf.dataOffset, len, { structure: 'record data', hammerOff: leaf.dataOffset });
  if (ctx.verifyData) checkPayloadCrc(ctx.vs, leaf.recType, leaf.dataOffset, leaf.dataCrc, b, where);
  return b;
}
