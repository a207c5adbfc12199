// Deterministic write workloads and a model of what the tree must hold, shared by the write
// tests and the crash harness.
import { BTree } from '../../src/btree/btree.js';
import { Cursor } from '../../src/btree/cursor.js';
import { insertLeaf, markDeleted, deleteLeaf, writeRecordData, recordDataCrc } from '../../src/btree/modify.js';
import type { LeafElm, BaseElm } from '../../src/ondisk/btree-elm.js';
import { HAMMER_MAX_KEY, HAMMER_MIN_KEY, HAMMER_RECTYPE_DATA, HAMMER_OBJTYPE_REGFILE, HAMMER_MAX_TID } from '../../src/ondisk/constants.js';
import type { VolumeSet } from '../../src/volume/volume-set.js';
import type { WritableVolumeSet } from '../../src/volume/writable-volume-set.js';

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const keyStr = (e: BaseElm) => `${e.localization >>> 0}:${e.objId}:${e.recType}:${e.key}:${e.createTid}`;

/** What the tree must hold: key -> element fields that matter. */
export type Model = Map<string, LeafElm>;

export const MIN_KEY: BaseElm = { localization: 0, objId: HAMMER_MIN_KEY, recType: 0, key: HAMMER_MIN_KEY, createTid: 1n, deleteTid: 0n, objType: 0, btype: 0 };
export const MAX_KEY: BaseElm = { localization: 0xffffffff, objId: HAMMER_MAX_KEY, recType: 0xffff, key: HAMMER_MAX_KEY, createTid: HAMMER_MAX_TID, deleteTid: 0n, objType: 0, btype: 0 };

/** Every leaf element in key order, read with the Cursor. */
export function readAll(vs: VolumeSet): LeafElm[] {
  const tree = new BTree(vs);
  const c = new Cursor(tree, { end: MAX_KEY });
  c.seek(MIN_KEY);
  const out: LeafElm[] = [];
  while (c.next() === 'elm') out.push(c.leaf());
  return out;
}

export function modelOf(vs: VolumeSet): Model {
  const m: Model = new Map();
  for (const e of readAll(vs)) m.set(keyStr(e), e);
  return m;
}

/** Differences between the tree and a model (empty = equal), payload CRCs included. */
export function compareWithModel(vs: VolumeSet, model: Model, checkData = true): string[] {
  const out: string[] = [];
  const elms = readAll(vs);
  if (elms.length !== model.size) out.push(`tree has ${elms.length} records, model ${model.size}`);
  for (const e of elms) {
    const m = model.get(keyStr(e));
    if (!m) {
      out.push(`unexpected record ${keyStr(e)}`);
      if (out.length > 10) break;
      continue;
    }
    if (m.deleteTid !== e.deleteTid || m.dataOffset !== e.dataOffset || m.dataLen !== e.dataLen || m.dataCrc !== e.dataCrc) {
      out.push(`record ${keyStr(e)} differs`);
    }
    if (checkData && e.dataLen > 0 && e.recType === HAMMER_RECTYPE_DATA) {
      const crc = recordDataCrc(vs.version, e.recType, vs.read(e.dataOffset, e.dataLen));
      if (crc !== e.dataCrc) out.push(`record ${keyStr(e)} payload CRC mismatch`);
    }
    if (out.length > 10) break;
  }
  return out;
}

export interface WorkloadOptions {
  inserts: number;
  marks?: number;
  deletes?: number;
  /** Payload sizes: mostly small (zone 11), some 16 KiB (zone 10). */
  bigEvery?: number;
  objIds?: number;
}

/**
 * One transaction of random inserts (with payloads), delete-marks and physical deletes.
 * Returns the model as it must be once the transaction is committed; the input model is not
 * changed. Does not commit.
 */
export function applyWorkload(vs: WritableVolumeSet, rng: () => number, model: Model, o: WorkloadOptions): Model {
  const tree = new BTree(vs);
  const tx = vs.tx ?? vs.begin();
  const next = new Map(model);
  const objIds = o.objIds ?? 400;
  for (let i = 0; i < o.inserts; i++) {
    const big = o.bigEvery && i % o.bigEvery === o.bigEvery - 1;
    const len = big ? 16384 : 16 + Math.floor(rng() * 600);
    const data = new Uint8Array(len);
    for (let j = 0; j < len; j += 7) data[j] = Math.floor(rng() * 256);
    const objId = 0x10000n + BigInt(Math.floor(rng() * objIds));
    const key = BigInt(Math.floor(rng() * 1e9)) * 16384n;
    const base = { localization: 0x00000002, objId, recType: HAMMER_RECTYPE_DATA, key, createTid: tx.tid };
    if (next.has(keyStr({ ...base, deleteTid: 0n, objType: 0, btype: 0 }))) continue;
    const d = writeRecordData(tx, HAMMER_RECTYPE_DATA, data);
    const elm: LeafElm = { ...base, deleteTid: 0n, objType: HAMMER_OBJTYPE_REGFILE, btype: 0x52, createTs: tx.ts, deleteTs: 0, ...d };
    insertLeaf(tx, tree, elm);
    next.set(keyStr(elm), elm);
  }
  const live = () => [...next.values()].filter((e) => e.deleteTid === 0n && e.createTid !== tx.tid && e.recType === HAMMER_RECTYPE_DATA);
  if (o.marks) {
    const cands = live();
    for (let i = 0; i < o.marks && cands.length; i++) {
      const e = cands.splice(Math.floor(rng() * cands.length), 1)[0];
      markDeleted(tx, tree, e);
      next.set(keyStr(e), { ...e, deleteTid: tx.tid, deleteTs: tx.ts });
    }
  }
  if (o.deletes) {
    const cands = [...next.values()].filter((e) => e.recType === HAMMER_RECTYPE_DATA);
    for (let i = 0; i < o.deletes && cands.length; i++) {
      const e = cands.splice(Math.floor(rng() * cands.length), 1)[0];
      deleteLeaf(tx, tree, e);
      next.delete(keyStr(e));
    }
  }
  return next;
}

/** Physically delete every record of a contiguous key range (empties whole leaves). */
export function deleteRange(vs: WritableVolumeSet, model: Model, from: number, to: number): Model {
  const tree = new BTree(vs);
  const tx = vs.tx ?? vs.begin();
  const next = new Map(model);
  const sorted = readAll(vs).filter((e) => e.recType === HAMMER_RECTYPE_DATA);
  for (const e of sorted.slice(from, to)) {
    deleteLeaf(tx, tree, e);
    next.delete(keyStr(e));
  }
  return next;
}
