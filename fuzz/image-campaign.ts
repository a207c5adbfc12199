/**
 * Mutated real images. Each run changes a few bytes of one piece of *live* metadata of a real
 * image (found by walking the pristine image: the volume header, freemap layer1/layer2 entries in
 * use, B-Tree nodes, leaf payloads), through an in-memory overlay on the unchanged image file,
 * and then runs what the tools run: open + info, the full cursor iteration with every payload read
 * and CRC-checked, the `show` walk, and a directory/file traversal of every PFS through the
 * filesystem view.
 *
 * Each operation must return or throw a HammerError, in bounded time. Beyond that, where the
 * damage is covered by a CRC the answer must be right: a changed node or covered payload byte
 * makes every operation that reads it fail (or `show` flag it), and any operation that succeeds
 * returns exactly what it returns on the pristine image. Header damage has no CRC to catch it
 * (newfs leaves vol_crc 0), so there only "no crash, no hang" is checked.
 */
import { HammerError, BadFieldError, CrcMismatchError, type Where } from '../src/errors.js';
import { openDevice, type BlockDevice } from '../src/io/device.js';
import { DeviceFilter } from '../src/io/device-filter.js';
import { FaultDevice } from '../src/io/memory-device.js';
import { readVolumeHeader, assembleVolumeSet, VolumeSet } from '../src/volume/volume-set.js';
import { forEachBigBlock, layer1Entries, zoneUsage } from '../src/volume/freemap.js';
import { BTree } from '../src/btree/btree.js';
import { Cursor } from '../src/btree/cursor.js';
import { walkBTree } from '../src/btree/walk.js';
import { HammerFs, type Inode } from '../src/fs/index.js';
import { listPfs } from '../src/fs/pfs.js';
import { planMirrorRead, writeMirrorStream } from '../src/mirror/mirror-read.js';
import { MirrorStreamWriter } from '../src/mirror/stream-writer.js';
import { crc32 } from '../src/ondisk/crc.js';
import { recordDataCrcVerdict } from '../src/ondisk/inode-data.js';
import {
  HAMMER_BLOCKMAP_UNAVAIL, HAMMER_LAYER1_BYTES, HAMMER_LAYER2_BYTES, HAMMER_BTREE_NODE_SIZE, HAMMER_MIN_KEY,
  HAMMER_MAX_KEY, HAMMER_MAX_TID, HAMMER_RECTYPE_INODE, HAMMER_INODE_CRCSIZE, HAMMER_XBUFSIZE,
  HAMMER_VOLUME_HEADER_SIZE, HAMMER_BTREE_TYPE_LEAF, HAMMER_ZONE_UNDO_INDEX, HAMMER_ZONE_FREEMAP_INDEX, HAMMER_BIGBLOCK_SIZE,
} from '../src/ondisk/constants.js';
import { Rng } from './mutate.js';
import { collectNodeOffsets } from './samples.js';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** A read-only device showing a few changed bytes over a real image. */
export class OverlayDevice extends DeviceFilter {
  readonly changes = new Map<number, number>();
  override readInto(buf: Uint8Array, pos: number): void {
    this.inner.readInto(buf, pos);
    for (const [p, v] of this.changes) if (p >= pos && p < pos + buf.length) buf[p - pos] = v;
  }
}

export type Region = 'header' | 'layer1' | 'layer2' | 'node' | 'payload';
interface Target {
  region: Region;
  pos: number; // device byte
  len: number;
  /** Bytes of [pos, pos+covered) are protected by a CRC the readers check. */
  covered: number;
}

const MIN = { localization: 0, objId: HAMMER_MIN_KEY, recType: 0, key: HAMMER_MIN_KEY, createTid: 1n, deleteTid: 0n, objType: 0, btype: 0 };
const MAX = { localization: 0xffffffff, objId: HAMMER_MAX_KEY, recType: 0xffff, key: HAMMER_MAX_KEY, createTid: HAMMER_MAX_TID, deleteTid: 0n, objType: 0, btype: 0 };

/** Open a volume set over devices exactly as openVolumeSet does after opening the files. */
export function openOnDevices(devs: BlockDevice[]): VolumeSet {
  return new VolumeSet(assembleVolumeSet(devs.map((device) => ({ device, header: readVolumeHeader(device) }))), 8 << 20);
}

/** Where the live metadata of a (single-volume) image is. */
export function metadataTargets(vs: VolumeSet): Target[] {
  const t: Target[] = [{ region: 'header', pos: 0, len: HAMMER_VOLUME_HEADER_SIZE, covered: 0 }];
  for (const l1 of layer1Entries(vs)) {
    if (l1.entry.physOffset === HAMMER_BLOCKMAP_UNAVAIL) continue;
    t.push({ region: 'layer1', pos: vs.locate(l1.z2).pos, len: HAMMER_LAYER1_BYTES, covered: 0 });
  }
  forEachBigBlock(vs, (b) => {
    if (b.entry.zone !== 0) t.push({ region: 'layer2', pos: vs.locate(b.l2Z2).pos, len: HAMMER_LAYER2_BYTES, covered: 0 });
  });
  const tree = new BTree(vs);
  for (const off of collectNodeOffsets(tree)) {
    t.push({ region: 'node', pos: vs.locate(off).pos, len: HAMMER_BTREE_NODE_SIZE, covered: HAMMER_BTREE_NODE_SIZE });
    const n = tree.node(off);
    if (n.type !== HAMMER_BTREE_TYPE_LEAF) continue;
    for (let i = 0; i < n.count; i++) {
      const l = n.leaf(i);
      if (l.dataLen <= 0 || l.dataOffset === 0n) continue;
      const len = Math.min(l.dataLen, 4096);
      t.push({ region: 'payload', pos: vs.locate(l.dataOffset).pos, len, covered: l.recType === HAMMER_RECTYPE_INODE ? HAMMER_INODE_CRCSIZE : len });
    }
  }
  return t;
}

/* ---- the operations ---- */

function info(vs: VolumeSet): string {
  const z = zoneUsage(vs);
  return `${vs.root.label}|${vs.fsidString}|${vs.root.nextTid}|${z.map((u) => `${u.zone}:${u.bigBlocks}:${u.bytesUsed}`).join(',')}`;
}

/** Every leaf element in key order with its payload read and CRC-checked. */
function iterate(vs: VolumeSet): string {
  const tree = new BTree(vs);
  const c = new Cursor(tree, { end: MAX });
  c.seek(MIN);
  let h = 0, n = 0;
  while (c.next() === 'elm') {
    const node = c.node, at = c.elmAt;
    h = crc32(node.bytes.subarray(at - node.at, at - node.at + 64), h);
    n++;
    const l = c.leaf();
    const where: Where = { structure: 'record data', hammerOff: l.dataOffset, index: c.index };
    if (l.dataLen < 0 || l.dataLen > HAMMER_XBUFSIZE) throw new BadFieldError(`data_len ${l.dataLen} out of range`, where);
    if (l.dataLen === 0 || l.dataOffset === 0n) continue;
    const d = vs.read(l.dataOffset, l.dataLen, where);
    if (recordDataCrcVerdict(l.recType, d, l.dataCrc, vs.version) === null) throw new CrcMismatchError(where, 0, l.dataCrc, 'record data CRC mismatch');
    h = crc32(d.subarray(0, l.recType === HAMMER_RECTYPE_INODE ? HAMMER_INODE_CRCSIZE : d.length), h);
  }
  return `${n}:${h}`;
}

function show(vs: VolumeSet): { bad: number; text: string } {
  const s = walkBTree(new BTree(vs), { checkData: true });
  return { bad: s.badNodes + s.badElms + s.badRecords, text: `${s.nodes}/${s.elms}/${s.badNodes}/${s.badElms}/${s.badRecords}` };
}

/** Names, types, sizes and content CRCs of everything reachable in every PFS (bounded). */
function traverse(vs: VolumeSet): string {
  const root = HammerFs.open(vs);
  const out: string[] = [];
  let budget = 5000;
  for (const p of root.listPfs()) {
    if (p.deleted) continue;
    let fs: HammerFs;
    try {
      fs = root.view({ pfs: p.id });
    } catch (e) {
      if (e instanceof HammerError) { out.push(`pfs${p.id}:${e.code}`); continue; }
      throw e;
    }
    const seen = new Set<bigint>();
    const walk = (dir: Inode, prefix: string, depth: number) => {
      if (seen.has(dir.objId) || depth > 64) return;
      seen.add(dir.objId);
      for (const e of fs.entries(dir)) {
        if (--budget < 0) return;
        const name = `${prefix}/${e.nameStr}`;
        const ino = fs.inode(e.objId);
        if (!ino) { out.push(`${name}:missing`); continue; }
        if (ino.type === 'dir') { out.push(`${name}/`); walk(ino, name, depth + 1); continue; }
        let c = 0;
        if (ino.type === 'file') for (const chunk of fs.stream(ino)) c = crc32(chunk, c);
        else if (ino.type === 'symlink') c = crc32(fs.readlink(ino));
        out.push(`${name}:${ino.type}:${ino.size}:${c}`);
      }
    };
    walk(fs.root(), `pfs${p.id}`, 0);
  }
  return String(crc32(Buffer.from(out.join('\n'))));
}

/**
 * mirror-read of every PFS into a hashing sink: the stream's CRC and how many records went out
 * flagged CRC_ERROR (mirror-read flags unreadable payloads instead of failing, as lh1 does).
 */
function mirror(vs: VolumeSet): string {
  const ctx = { vs, tree: new BTree(vs) };
  let h = 0, crcErrors = 0;
  const sink = { write: (b: Uint8Array) => { h = crc32(b, h); } };
  for (const p of listPfs({ ...ctx, verifyData: true })) {
    if (p.deleted) continue;
    const w = new MirrorStreamWriter(sink);
    crcErrors += writeMirrorStream(ctx, planMirrorRead(ctx, { pfsId: p.id }), w).crcErrors;
    w.flush();
  }
  return `${h}:${crcErrors}`;
}

export const OPS = { info, iterate, show, traverse, mirror } as const;
export type OpName = keyof typeof OPS;

export interface OpResult {
  ok: boolean;
  value?: string;
  error?: HammerError;
  ms: number;
}

/** Run one operation on a fresh volume set over the devices; non-HammerErrors propagate. */
export function runOp(devs: BlockDevice[], op: OpName): OpResult {
  const t0 = performance.now();
  try {
    const vs = openOnDevices(devs);
    let value: string;
    if (op === 'show') {
      const s = show(vs);
      value = s.text + (s.bad ? ':bad' : '');
    } else value = OPS[op](vs);
    return { ok: true, value, ms: performance.now() - t0 };
  } catch (e) {
    if (e instanceof HammerError) return { ok: false, error: e, ms: performance.now() - t0 };
    throw e;
  }
}

export interface Campaign {
  image: string;
  devs: OverlayDevice[];
  inner: BlockDevice[];
  targets: Target[];
  pristine: Record<OpName, OpResult>;
  close(): void;
}

export function prepareCampaign(imageDir: string, image: string): Campaign {
  const inner = [openDevice(path.join(imageDir, `${image}.img`), { lock: 'none' })];
  const devs = inner.map((d) => new OverlayDevice(d));
  const vs = openOnDevices(devs);
  const targets = metadataTargets(vs);
  const pristine = {} as Record<OpName, OpResult>;
  for (const op of Object.keys(OPS) as OpName[]) pristine[op] = runOp(devs, op);
  return { image, devs, inner, targets, pristine, close: () => inner.forEach((d) => d.close()) };
}

export interface RunReport {
  region: Region;
  changed: { pos: number; from: number; to: number }[];
  results: Record<OpName, OpResult>;
  /** Violations of the correctness rules (empty = fine). */
  problems: string[];
}

/** Mutate one live structure (1..4 byte changes), run every operation, check the rules. */
export function mutatedRun(c: Campaign, rng: Rng): RunReport {
  const dev = c.devs[0];
  dev.changes.clear();
  // Region first, then a structure in it: otherwise the ~1300 payloads would drown the 27 nodes.
  const regions = [...new Set(c.targets.map((x) => x.region))];
  const region = rng.pick(regions);
  const t = rng.pick(c.targets.filter((x) => x.region === region));
  const changed: RunReport['changed'] = [];
  const k = 1 + rng.below(4);
  const orig = c.inner[0].read(t.pos, t.len);
  for (let i = 0; i < k; i++) {
    let off: number;
    if (t.region === 'header' && rng.chance(0.6)) off = rng.below(264); // the fields, not the arrays
    else if (t.region === 'payload' && t.covered < t.len && rng.chance(0.8)) off = rng.below(t.covered);
    else off = rng.below(t.len);
    const p = t.pos + off;
    const cur = dev.changes.get(p) ?? orig[off];
    let v: number;
    const m = rng.below(10);
    if (m < 6) v = cur ^ (1 << rng.below(8));
    else if (m < 8) v = rng.below(256);
    else v = 0;
    dev.changes.set(p, v);
  }
  for (const [p, v] of dev.changes) if (v !== orig[p - t.pos]) changed.push({ pos: p, from: orig[p - t.pos], to: v });
  const results = {} as Record<OpName, OpResult>;
  for (const op of Object.keys(OPS) as OpName[]) results[op] = runOp(c.devs, op);
  const problems: string[] = [];
  const coveredHit = changed.some((ch) => ch.pos - t.pos < t.covered);
  if (t.region !== 'header') {
    // Below the header every answer that comes back must be the pristine one.
    for (const op of ['iterate', 'traverse'] as OpName[]) {
      const r = results[op];
      if (r.ok && r.value !== c.pristine[op].value) problems.push(`${op} returned a wrong answer after ${t.region} damage`);
    }
    const m = results.mirror;
    if (m.ok && m.value !== c.pristine.mirror.value && m.value!.endsWith(':0')) problems.push(`mirror-read returned a different stream after ${t.region} damage without flagging a record`);
    if (coveredHit && results.iterate.ok) problems.push(`iterate did not notice CRC-covered ${t.region} damage`);
    if (coveredHit && results.show.ok && !results.show.value!.endsWith(':bad')) problems.push(`show did not flag CRC-covered ${t.region} damage`);
    if (!coveredHit && (t.region === 'layer1' || t.region === 'layer2') && !results.iterate.ok) {
      problems.push(`iterate failed after freemap-only damage: ${results.iterate.error?.message}`);
    }
  }
  for (const op of Object.keys(OPS) as OpName[]) if (results[op].ms > 20000) problems.push(`${op} took ${Math.round(results[op].ms)} ms`);
  dev.changes.clear();
  return { region: t.region, changed, results, problems };
}

/** The campaign `npm run fuzz -- --images N` runs and the report counts. */
export function runImageCampaign(imageDir: string, o: { runs: number; seed: number; images?: string[] }) {
  const images = o.images ?? ['content-v7', 'demo-v7'];
  const rng = new Rng(o.seed);
  const outcomes: Record<string, number> = {};
  const byRegion: Record<string, number> = {};
  const findings: string[] = [];
  let flips = 0, maxMs = 0, maxHeapMb = 0, runs = 0;
  for (const image of images) {
    const c = prepareCampaign(imageDir, image);
    try {
      const n = Math.ceil(o.runs / images.length);
      for (let r = 0; r < n; r++) {
        let rep: RunReport;
        try {
          rep = mutatedRun(c, rng);
        } catch (e) {
          findings.push(`${image}: non-HammerError ${e instanceof Error ? e.stack?.split('\n').slice(0, 3).join(' | ') : e}`);
          continue;
        }
        runs++;
        flips += rep.changed.length;
        byRegion[rep.region] = (byRegion[rep.region] ?? 0) + 1;
        for (const [op, res] of Object.entries(rep.results)) {
          const key = `${op}:${res.ok ? 'ok' : res.error!.code}`;
          outcomes[key] = (outcomes[key] ?? 0) + 1;
          if (res.ms > maxMs) maxMs = res.ms;
        }
        for (const p of rep.problems) findings.push(`${image} ${rep.region} ${JSON.stringify(rep.changed)}: ${p}`);
        const heap = process.memoryUsage().heapUsed / 2 ** 20;
        if (heap > maxHeapMb) maxHeapMb = heap;
      }
    } finally {
      c.close();
    }
  }
  return { runs, flips, outcomes, byRegion, findings, maxMs: Math.round(maxMs), maxHeapMb: Math.round(maxHeapMb) };
}

/**
 * Write a sparse copy of a single-volume image holding only what the readers need: the volume
 * header area and every big-block owned by a zone other than UNDO (freemap, B-Tree, meta, data).
 * About 60 MiB for content-v7 instead of the 540 MiB a full copy writes (the UNDO FIFO), so tests
 * can put lies on disk for the CLI to find.
 */
export function sparseMetadataCopy(src: string, dst: string): void {
  const dev = openDevice(src, { lock: 'none' });
  try {
    const vs = openOnDevices([dev]);
    const out = fs.openSync(dst, 'w');
    try {
      fs.ftruncateSync(out, dev.size);
      const h = vs.volumes[0].header;
      fs.writeSync(out, dev.read(0, h.bufBeg), 0, h.bufBeg, 0);
      const blocks: number[] = [];
      forEachBigBlock(vs, (b) => {
        if (b.entry.zone !== 0 && b.entry.zone !== HAMMER_ZONE_UNDO_INDEX) blocks.push(vs.locate(b.block, 1).pos);
      });
      // The freemap's own big-blocks are zone 4 in layer2 too, but be explicit: copy layer1's block.
      blocks.push(vs.locate(vs.root.blockmap[HAMMER_ZONE_FREEMAP_INDEX].physOffset, 1).pos);
      const buf = new Uint8Array(1 << 20);
      for (const p of new Set(blocks)) {
        for (let o = 0; o < HAMMER_BIGBLOCK_SIZE; o += buf.length) {
          dev.readInto(buf, p + o);
          fs.writeSync(out, buf, 0, buf.length, p + o);
        }
      }
    } finally {
      fs.closeSync(out);
    }
  } finally {
    dev.close();
  }
}

/**
 * I/O faults: every operation is run once per read it makes on the pristine image, with that
 * read failing (EIO from a FaultDevice). Each run must end in a HammerError or, where the reader
 * tolerates the loss (show reports and goes on), a value; an answer from iterate/traverse/mirror
 * must still be the pristine one, since a failed read must never be taken for data.
 */
export function runFaultSweep(imageDir: string, image: string, o: { maxPerOp?: number; seed?: number } = {}) {
  const inner = openDevice(path.join(imageDir, `${image}.img`), { lock: 'none' });
  const rng = new Rng(o.seed ?? 1);
  let injected = 0, typedErrors = 0, tolerated = 0;
  const problems: string[] = [];
  try {
    const pristine = {} as Record<OpName, OpResult>;
    for (const op of Object.keys(OPS) as OpName[]) {
      const counter = new FaultDevice(inner, {});
      pristine[op] = runOp([counter], op);
      const reads = counter.reads;
      let which = Array.from({ length: reads }, (_, i) => i + 1);
      const max = o.maxPerOp ?? 40;
      if (which.length > max) which = Array.from({ length: max }, () => 1 + rng.below(reads));
      for (const n of which) {
        injected++;
        const r = runOp([new FaultDevice(inner, { failReadAt: n })], op);
        if (!r.ok) typedErrors++;
        else {
          tolerated++;
          if (op !== 'show' && op !== 'info' && r.value !== pristine[op].value) problems.push(`${op} with read ${n} failing returned a wrong answer`);
        }
      }
    }
  } finally {
    inner.close();
  }
  return { injected, typedErrors, tolerated, problems };
}
