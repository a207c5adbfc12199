/**
 * Fuzz targets for the mirror stream parsers (src/ondisk/mrecord.ts, src/mirror/stream-reader.ts).
 * Seeds are real streams that mirror-read produces from content-v7 (every PFS, small batches),
 * cut into short well-formed streams: PFSD, PFSD, a run of bulk records, SYNC, TERM.
 *
 * Invariants beyond "value or HammerError": an accepted record re-encodes to its own bytes, and
 * the stream reader gives the same result (summary or error) whatever the chunking of its input.
 */
import * as path from 'node:path';
import { HammerError } from '../src/errors.js';
import { openVolumeSet } from '../src/volume/volume-set.js';
import { BTree } from '../src/btree/btree.js';
import { checkMRecordHead, decodeMRecord, encodeMRecord, headDoAlign, mrecordSize } from '../src/ondisk/mrecord.js';
import { parseMirrorStream, MirrorStreamReader, type MirrorStreamSummary } from '../src/mirror/stream-reader.js';
import { planMirrorRead, writeMirrorStream } from '../src/mirror/mirror-read.js';
import { MirrorStreamWriter, MemorySink } from '../src/mirror/stream-writer.js';
import { listPfs } from '../src/fs/pfs.js';
import { HAMMER_MREC_TYPE_PFSD, HAMMER_MREC_TYPE_SYNC, HAMMER_MREC_TYPE_TERM, HAMMER_MREC_TYPE_IDLE } from '../src/ondisk/constants.js';
import { InvariantError, type FuzzTarget } from './targets.js';
import type { Samples } from './samples.js';

interface Cut {
  records: Uint8Array[]; // padded record bytes, stream order
  type: number[];
}

const cache = new Map<string, Cut[]>();

/** Real mirror-read streams of every PFS of content-v7, split into records. */
function realStreams(dir: string): Cut[] {
  const hit = cache.get(dir);
  if (hit) return hit;
  const vs = openVolumeSet([path.join(dir, 'content-v7.img')], { lock: 'none' });
  const out: Cut[] = [];
  try {
    const ctx = { vs, tree: new BTree(vs) };
    for (const p of listPfs({ ...ctx, verifyData: true })) {
      if (p.deleted) continue;
      const sink = new MemorySink();
      const w = new MirrorStreamWriter(sink);
      writeMirrorStream(ctx, planMirrorRead(ctx, { pfsId: p.id, batchBytes: 256 * 1024 }), w);
      w.flush();
      const bytes = sink.bytes();
      const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const cut: Cut = { records: [], type: [] };
      for (let at = 0; at < bytes.length;) {
        const size = headDoAlign(checkMRecordHead(dv, at, at));
        cut.records.push(bytes.slice(at, at + size));
        cut.type.push(dv.getUint32(at + 12, true) & 0xff);
        at += size;
      }
      out.push(cut);
    }
  } finally {
    vs.close();
  }
  cache.set(dir, out);
  return out;
}

const cat = (parts: Uint8Array[]) => {
  const n = parts.reduce((a, b) => a + b.length, 0);
  const o = new Uint8Array(n);
  let at = 0;
  for (const p of parts) { o.set(p, at); at += p.length; }
  return o;
};

/** Short well-formed streams: the first two PFSDs, `n` bulk records from a window, SYNC, TERM. */
function shortStreams(cuts: Cut[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const c of cuts) {
    const pfsd = c.records.filter((_, i) => c.type[i] === HAMMER_MREC_TYPE_PFSD).slice(0, 2);
    const sync = c.records.find((_, i) => c.type[i] === HAMMER_MREC_TYPE_SYNC || c.type[i] === HAMMER_MREC_TYPE_IDLE);
    const term = c.records.find((_, i) => c.type[i] === HAMMER_MREC_TYPE_TERM);
    if (pfsd.length < 2 || !sync || !term) continue;
    const bulk = c.records.filter((_, i) => c.type[i] !== HAMMER_MREC_TYPE_PFSD && c.type[i] !== HAMMER_MREC_TYPE_SYNC && c.type[i] !== HAMMER_MREC_TYPE_IDLE && c.type[i] !== HAMMER_MREC_TYPE_TERM);
    for (let s = 0; s < bulk.length; s += 97) {
      let run: Uint8Array[] = [];
      let size = 0;
      for (let i = s; i < bulk.length && run.length < 12 && size < 24 * 1024; i++) { run.push(bulk[i]); size += bulk[i].length; }
      out.push(cat([...pfsd, ...run, sync, term]));
      if (out.length > 40) return out;
    }
    out.push(cat([...pfsd, sync, term]));
  }
  return out;
}

const mrecord: FuzzTarget = {
  name: 'mrecord',
  covers: 'checkMRecordHead + decodeMRecord of one mirror record; encode(decode(x)) == x for accepted records',
  maxLen: 4096,
  seeds: (s: Samples) => realStreams(s.dir).flatMap((c) => c.records.filter((r) => r.length <= 4096).slice(0, 60)),
  run(input) {
    if (input.length < 16) return;
    const dv = new DataView(input.buffer, input.byteOffset, input.byteLength);
    const size = checkMRecordHead(dv, 0, 0);
    if (size > input.length) return;
    const r = decodeMRecord(dv, 0, 0);
    if (mrecordSize(r) !== size) throw new InvariantError(`decoded record re-encodes to ${mrecordSize(r)} bytes, not rec_size ${size}`);
    const again = encodeMRecord(r);
    for (let i = 16; i < size; i++) {
      if (again[i] !== input[i]) throw new InvariantError(`re-encoded record differs at byte ${i}`);
    }
  },
};

type Outcome = { summary?: MirrorStreamSummary; error?: string; thrown?: HammerError };
function parseWhole(b: Uint8Array, report: boolean): Outcome {
  try {
    return { summary: parseMirrorStream(b, {}, { report }) };
  } catch (e) {
    if (e instanceof HammerError) return { error: `${e.code} ${e.where.streamPos}`, thrown: e };
    throw e;
  }
}
function parseChunked(b: Uint8Array, report: boolean, step: number): Outcome {
  const r = new MirrorStreamReader({}, { report });
  try {
    for (let at = 0; at < b.length; at += step) r.push(b.subarray(at, Math.min(b.length, at + step)));
    return { summary: r.end() };
  } catch (e) {
    if (e instanceof HammerError) return { error: `${e.code} ${e.where.streamPos}` };
    throw e;
  }
}

const stream: FuzzTarget = {
  name: 'mirror-stream',
  covers: 'MirrorStreamReader (framing, batches, CRCs, key order) in report and strict mode; same result for any chunking',
  maxLen: 64 * 1024,
  seeds: (s: Samples) => shortStreams(realStreams(s.dir)),
  run(input) {
    let strict: HammerError | undefined;
    for (const report of [false, true]) {
      const { thrown, ...whole } = parseWhole(input, report);
      if (!report) strict = thrown;
      // Chunk sizes chosen from the input so that the fuzzer also varies them.
      const step = 1 + ((input[input.length >> 1] ?? 7) * 37) % 997;
      const chunked = parseChunked(input, report, step);
      const a = JSON.stringify(whole), b = JSON.stringify(chunked);
      if (a !== b) throw new InvariantError(`chunking changes the result (step ${step}): ${a.slice(0, 200)} vs ${b.slice(0, 200)}`);
    }
    // The strict verdict is the outcome (it steers the fuzzer's corpus).
    if (strict) throw strict;
  },
};

export const MIRROR_TARGETS: FuzzTarget[] = [mrecord, stream];
