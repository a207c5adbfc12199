// Shared pieces of the mirror tests: run a mirror-read into memory, collect a parsed stream with
// copied payloads, list a PFS's leaves straight from the tree, and patch leaves of an image copy.
import * as fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BTree } from '../../src/btree/btree.js';
import { forEachLeaf } from '../../src/btree/cursor.js';
import { openVolumeSet, type VolumeSet } from '../../src/volume/volume-set.js';
import { cmpBaseElm, type BaseElm, type LeafElm } from '../../src/ondisk/btree-elm.js';
import { sealBtreeNode } from '../../src/ondisk/btree-node.js';
import { HAMMER_MREC_TYPE_REC, HAMMER_MREC_TYPE_PASS, HAMMER_MREC_TYPE_SKIP } from '../../src/ondisk/constants.js';
import { MemorySink, MirrorStreamWriter } from '../../src/mirror/stream-writer.js';
import { planMirrorRead, writeMirrorStream, type MirrorReadOptions, type MirrorReadRunOptions, type MirrorReadPlan, type MirrorReadReport } from '../../src/mirror/mirror-read.js';
import { parseMirrorStream, type BatchInfo, type MirrorStreamSummary } from '../../src/mirror/stream-reader.js';
import type { HammerError } from '../../src/errors.js';

export const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/tools/cli.js');

export interface Ctx {
  vs: VolumeSet;
  tree: BTree;
}
export function openCtx(paths: string[]): Ctx {
  const vs = openVolumeSet(paths);
  return { vs, tree: new BTree(vs) };
}

export interface RunResult {
  bytes: Uint8Array;
  plan: MirrorReadPlan;
  report: MirrorReadReport;
}
export function mirrorReadToMemory(ctx: Ctx, o: MirrorReadOptions, r: MirrorReadRunOptions = {}): RunResult {
  const plan = planMirrorRead(ctx, o);
  const sink = new MemorySink();
  const w = new MirrorStreamWriter(sink, { bufferBytes: 1 << 17 });
  const report = writeMirrorStream(ctx, plan, w, r);
  return { bytes: sink.bytes(), plan, report };
}

/** A bulk record as collected (payload copied). */
export type Got =
  | { type: 'REC'; flags: number; leaf: LeafElm; payload: Uint8Array; batch: number; pos: number }
  | { type: 'PASS'; leaf: LeafElm; batch: number; pos: number }
  | { type: 'SKIP'; beg: BaseElm; end: BaseElm; batch: number; pos: number };

export interface Collected {
  bulk: Got[];
  batches: { info: BatchInfo; end: number | 'abort' }[];
  problems: HammerError[];
  summary: MirrorStreamSummary;
  terms: number;
}

export function collect(bytes: Uint8Array, report = true): Collected {
  const out: Collected = { bulk: [], batches: [], problems: [], summary: undefined as never, terms: 0 };
  out.summary = parseMirrorStream(bytes, {
    batchBegin: (b) => void out.batches.push({ info: { ...b }, end: -1 }),
    bulk: (r, pos, b) => {
      if (r.type === HAMMER_MREC_TYPE_REC) out.bulk.push({ type: 'REC', flags: r.flags, leaf: r.leaf, payload: r.payload.slice(), batch: b.index, pos });
      else if (r.type === HAMMER_MREC_TYPE_PASS) out.bulk.push({ type: 'PASS', leaf: r.leaf, batch: b.index, pos });
      else if (r.type === HAMMER_MREC_TYPE_SKIP) out.bulk.push({ type: 'SKIP', beg: r.skipBeg, end: r.skipEnd, batch: b.index, pos });
    },
    batchEnd: (b, how) => void (out.batches[out.batches.length - 1].end = how),
    batchAbort: () => void (out.batches[out.batches.length - 1].end = 'abort'),
    term: () => void out.terms++,
    problem: (e) => void out.problems.push(e),
  }, { report });
  return out;
}

/** Every leaf of a PFS, straight from the tree (no mirror code), in key order. */
export function pfsLeaves(ctx: Ctx, pfsId: number): LeafElm[] {
  const out: LeafElm[] = [];
  const beg: BaseElm = { localization: pfsId << 16, objId: -(1n << 63n), recType: 0, key: -(1n << 63n), createTid: 1n, deleteTid: 0n, objType: 0, btype: 0 };
  const end: BaseElm = { localization: ((pfsId << 16) | 0xffff) >>> 0, objId: (1n << 63n) - 1n, recType: 0xffff, key: (1n << 63n) - 1n, createTid: 0xffffffffffffffffn, deleteTid: 0n, objType: 0, btype: 0 };
  forEachLeaf(ctx.tree, beg, end, (n, i) => void out.push(n.leaf(i)));
  return out;
}

export const keyOf = (l: BaseElm) => `${l.localization}/${l.objId}/${l.recType}/${l.key}/${l.createTid}`;
export const inRange = (k: BaseElm, beg: BaseElm, end: BaseElm) => cmpBaseElm(k, beg) >= 0 && cmpBaseElm(k, end) < 0;

/**
 * Patch the leaf element `index` of node `nodeOff` in an image copy: `patch` edits the 64 element
 * bytes; the node CRC is resealed so only the intended damage remains.
 */
export function patchLeaf(paths: string[], nodeOff: bigint, index: number, patch: (dv: DataView, at: number) => void): void {
  const vs = openVolumeSet(paths, { lock: 'none' });
  const loc = vs.locate(nodeOff, 4096);
  const version = vs.version;
  const file = vs.volumes[loc.vol].device.path;
  vs.close();
  const fd = fs.openSync(file, 'r+');
  try {
    const b = new Uint8Array(4096);
    fs.readSync(fd, b, 0, 4096, loc.pos);
    const dv = new DataView(b.buffer);
    patch(dv, 64 + index * 64);
    sealBtreeNode(b, 0, version);
    fs.writeSync(fd, b, 0, 4096, loc.pos);
  } finally {
    fs.closeSync(fd);
  }
}

/** Overwrite bytes at a zone offset of an image copy (data damage). */
export function patchBytes(paths: string[], off: bigint, edit: (b: Uint8Array) => void, len: number): void {
  const vs = openVolumeSet(paths, { lock: 'none' });
  const loc = vs.locate(off, len);
  const file = vs.volumes[loc.vol].device.path;
  vs.close();
  const fd = fs.openSync(file, 'r+');
  try {
    const b = new Uint8Array(len);
    fs.readSync(fd, b, 0, len, loc.pos);
    edit(b);
    fs.writeSync(fd, b, 0, len, loc.pos);
  } finally {
    fs.closeSync(fd);
  }
}

export interface Cli {
  code: number;
  stdout: Buffer;
  stderr: string;
}
/** Run the built CLI synchronously, optionally feeding stdin. */
export function cli(args: string[], input?: Uint8Array): Cli {
  const r = spawnSync(process.execPath, [CLI, ...args], { input, maxBuffer: 256 << 20, timeout: 120_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: String(r.stderr) };
}
