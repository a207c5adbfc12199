// The mrecord codec and the stream reader against hand-built DragonFly-format records and against
// our own streams of content-v7: field decoding, CRC-32 (never CRC-32C), every rejection with its
// stream byte offset, the batch framing callbacks, chunked input, byte flips and truncations at
// every position, and parse -> re-encode giving back the same bytes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import CRC32C from 'crc-32/crc32c.js';
import fc from 'fast-check';
import { imagePaths } from '../helpers/images.js';
import { HammerError, MirrorStreamError, UnsupportedByteOrderError } from '../../src/errors.js';
import {
  decodeMRecord, encodeMRecord, checkMRecordHead, mrecordCrc, headDoAlign, MREC_MAX_PADDED, type MRecord,
} from '../../src/ondisk/mrecord.js';
import { crc32 } from '../../src/ondisk/crc.js';
import { HAMMER_MRECF_CRC_ERROR, HAMMER_MRECF_NODATA, HAMMER_MREC_TYPE_SYNC, HAMMER_MREC_TYPE_IDLE } from '../../src/ondisk/constants.js';
import { MemorySink, MirrorStreamWriter } from '../../src/mirror/stream-writer.js';
import { MirrorStreamReader, parseMirrorStream, type MirrorStreamHandler } from '../../src/mirror/stream-reader.js';
import { mrec, T, leafBody, skipBody, pfsdBody, updateBody, concat, dragonflyStream, SIG } from './hand-built.js';
import { openCtx, mirrorReadToMemory, collect, type Ctx } from './helpers.js';

const dvOf = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
const decode = (b: Uint8Array, pos = 0) => decodeMRecord(dvOf(b), 0, pos);
function errOf(fn: () => unknown): HammerError {
  try {
    fn();
  } catch (e) {
    if (e instanceof HammerError) return e;
    throw e;
  }
  throw new Error('no error thrown');
}

/** Zero the pad bytes of a stream whose record starts are known. */
function zeroPads(bytes: Uint8Array, starts: number[]): Uint8Array {
  const out = bytes.slice();
  const dv = dvOf(out);
  for (const s of starts) {
    const size = dv.getUint32(s + 8, true);
    out.fill(0, s + size, s + headDoAlign(size));
  }
  return out;
}

/** Event log of a parse, for comparing runs. */
function eventLog(bytes: Uint8Array, feed: (r: MirrorStreamReader) => void): string[] {
  const log: string[] = [];
  const h: MirrorStreamHandler = {
    record: (r, pos, size) => void log.push(`rec ${r.type} @${pos} ${size}`),
    batchBegin: (b) => void log.push(`begin ${b.index} @${b.pos} ${b.tidBeg.toString(16)}..${b.tidEnd.toString(16)}`),
    bulk: (r, pos) => void log.push(`bulk ${r.type} @${pos} ${r.type === 1 ? Buffer.from(r.payload).toString('hex') : ''}`),
    batchEnd: (b, how, pos) => void log.push(`end ${b.index} ${how} @${pos}`),
    batchAbort: (b, why, pos) => void log.push(`abort ${b.index} @${pos}`),
    term: (pos) => void log.push(`term @${pos}`),
  };
  const r = new MirrorStreamReader(h);
  feed(r);
  const s = r.end();
  log.push(`summary ${s.records} ${s.bytes} ${s.batches} ${s.synced} ${s.idle} ${s.problems}`);
  void bytes;
  return log;
}

describe('mrecord codec', () => {
  it('decodes every type of a hand-built record and re-encodes it byte for byte (pad zeroed)', () => {
    const k = { lo: 0x00020002, obj: -5n, rt: 0x10, key: 0x7000n, ctid: 0x100000001n, dtid: 0x100000009n, ot: 2 };
    const p = Uint8Array.from({ length: 21 }, (_, i) => i);
    const cases: [Uint8Array, (r: MRecord) => void][] = [
      [mrec(T.REC, leafBody(k, p)), (r) => {
        expect(r.type).toBe(1);
        if (r.type !== 1) return;
        expect(r.leaf.objId).toBe(-5n);
        expect(r.leaf.localization).toBe(0x00020002);
        expect(r.leaf.deleteTid).toBe(0x100000009n);
        expect(r.leaf.dataLen).toBe(21);
        expect([...r.payload]).toEqual([...p]);
      }],
      [mrec(T.PASS, leafBody(k)), (r) => expect(r.type === 6 && r.leaf.createTid).toBe(0x100000001n)],
      [mrec(T.SKIP, skipBody(k, { ...k, obj: 7n })), (r) => expect(r.type === 5 && [r.skipBeg.objId, r.skipEnd.objId]).toEqual([-5n, 7n])],
      [mrec(T.PFSD, pfsdBody({ syncEnd: 0x123456789n, version: 1 })), (r) => expect(r.type === 2 && [r.version, r.pfsd.length]).toEqual([1, 292])],
      [mrec(T.UPDATE, updateBody(0xfedcba9876543210n)), (r) => expect(r.type === 3 && r.tid).toBe(0xfedcba9876543210n)],
      [mrec(T.SYNC), (r) => expect(r.type).toBe(4)],
      [mrec(T.TERM), (r) => expect(r.type).toBe(7)],
      [mrec(T.IDLE), (r) => expect(r.type).toBe(8)],
      [mrec(T.REC | HAMMER_MRECF_CRC_ERROR | 0x40000000, leafBody(k, p)), (r) => expect(r.flags >>> 0).toBe(0xc0000000)],
    ];
    for (const [bytes, check] of cases) {
      const r = decode(bytes);
      check(r);
      expect(Buffer.from(encodeMRecord(r)).equals(Buffer.from(bytes))).toBe(true);
    }
    // sizes on the wire: PFSD 316 + 4 pad, SKIP 96, PASS 80, SYNC 16, UPDATE 24
    expect([mrec(T.PFSD, pfsdBody({ syncEnd: 1n })).length, mrec(T.SKIP, skipBody(k, k)).length, mrec(T.PASS, leafBody(k)).length, mrec(T.SYNC).length, mrec(T.UPDATE, updateBody(1n)).length]).toEqual([320, 96, 80, 16, 24]);
  });

  it('rec_crc is CRC-32 (IEEE) over [8, rec_size): CRC-32C is rejected', () => {
    const body = leafBody({ lo: 0x10002, obj: 1n, rt: 0x10, key: 8n, ctid: 2n }, new Uint8Array(9).fill(3));
    const good = mrec(T.REC, body);
    const size = dvOf(good).getUint32(8, true);
    expect(mrecordCrc(good, 0, size)).toBe(crc32(good.subarray(8, size)));
    expect(mrecordCrc(good, 0, size)).toBe(dvOf(good).getUint32(4, true));
    const c = mrec(T.REC, body, { crc: CRC32C.buf(good.subarray(8, size)) >>> 0 });
    const e = errOf(() => decode(c, 4096));
    expect(e).toBeInstanceOf(MirrorStreamError);
    expect([e.where.field, e.where.streamPos]).toEqual(['rec_crc', 4096]);
  });

  it('rejects bad heads, types and sizes with the field and stream offset', () => {
    const sync = mrec(T.SYNC);
    const swapped = sync.slice();
    dvOf(swapped).setUint32(0, SIG, false); // big-endian host
    let e = errOf(() => checkMRecordHead(dvOf(swapped), 0, 320));
    expect(e).toBeInstanceOf(UnsupportedByteOrderError);
    expect(e.where.streamPos).toBe(320);
    const badSig = sync.slice();
    badSig[0] ^= 1;
    e = errOf(() => checkMRecordHead(dvOf(badSig), 0, 8));
    expect([e.constructor, e.where.field, e.where.streamPos]).toEqual([MirrorStreamError, 'signature', 8]);
    for (const size of [8, 320 + 65536 + 1]) {
      const b = sync.slice();
      dvOf(b).setUint32(8, size, true);
      expect(errOf(() => checkMRecordHead(dvOf(b), 0, 0)).where.field).toBe('rec_size');
    }
    const k = { lo: 0x10002, obj: 1n, rt: 0x10, key: 8n, ctid: 2n };
    const bad: [Uint8Array, string][] = [
      [mrec(9), 'type'],
      [mrec(0), 'type'],
      [mrec(T.SYNC | 0x100), 'type'], // undefined flag bits
      [mrec(T.SYNC | HAMMER_MRECF_CRC_ERROR), 'type'], // flags only on REC
      [mrec(T.SYNC, new Uint8Array(8)), 'rec_size'],
      [mrec(T.PFSD, new Uint8Array(304)), 'rec_size'], // old unpacked 320-byte PFSD
      [mrec(T.PASS, leafBody(k, new Uint8Array(8))), 'rec_size'],
      [mrec(T.REC, new Uint8Array(40)), 'rec_size'],
      [mrec(T.REC, leafBody(k, new Uint8Array(10), { dataLen: 11 })), 'data_len'],
      [mrec(T.REC, leafBody(k, new Uint8Array(0), { dataLen: -1 })), 'data_len'],
    ];
    for (const [b, field] of bad) {
      const err = errOf(() => decode(b, 24));
      expect(err).toBeInstanceOf(MirrorStreamError);
      expect([err.where.field, err.where.streamPos]).toEqual([field, 24]);
      expect(err.message).toContain('stream byte 24');
    }
    // CRC_ERROR and NODATA records are exempt from the data_len check
    expect(decode(mrec(T.REC | HAMMER_MRECF_CRC_ERROR, leafBody(k, new Uint8Array(0), { dataLen: 500 }))).type).toBe(1);
    expect(decode(mrec(T.REC | HAMMER_MRECF_NODATA, leafBody(k, new Uint8Array(0), { dataLen: 500 }))).type).toBe(1);
    expect(MREC_MAX_PADDED).toBe(65856);
  });
});

describe('stream reader on a hand-built DragonFly-format stream', () => {
  const { bytes, starts } = dragonflyStream();

  it('drives the batch callbacks: 3 batches (SYNC, IDLE, SYNC), repeated record, garbage pads', () => {
    const log = eventLog(bytes, (r) => r.push(bytes));
    const frames = log.filter((l) => !l.startsWith('rec ') && !l.startsWith('bulk '));
    expect(frames).toEqual([
      `begin 0 @0 1..100000150`, `end 0 ${HAMMER_MREC_TYPE_SYNC} @${starts[7]}`,
      `begin 1 @${starts[8]} 100000151..100000151`, `end 1 ${HAMMER_MREC_TYPE_IDLE} @${starts[10]}`,
      `begin 2 @${starts[11]} 100000152..100000200`, `end 2 ${HAMMER_MREC_TYPE_SYNC} @${starts[16]}`,
      `term @${starts[17]}`,
      `summary 18 ${bytes.length} 3 2 1 0`,
    ]);
    const bulk = log.filter((l) => l.startsWith('bulk '));
    expect(bulk.map((l) => l.split(' ').slice(0, 3).join(' '))).toEqual(
      [2, 3, 4, 5, 6, 13, 14, 15].map((i) => `bulk ${dvOf(bytes).getUint32(starts[i] + 12, true)} @${starts[i]}`),
    );
    // the repeated REC carries the same payload both times
    expect(bulk[0].split(' ')[3]).toBe(bulk[1].split(' ')[3]);
  });

  it('gives the same events whatever the chunking (every split point, and byte by byte)', () => {
    const whole = eventLog(bytes, (r) => r.push(bytes));
    for (let cut = 1; cut < bytes.length; cut += 3) {
      expect(eventLog(bytes, (r) => { r.push(bytes.subarray(0, cut)); r.push(bytes.subarray(cut)); })).toEqual(whole);
    }
    expect(eventLog(bytes, (r) => { for (let i = 0; i < bytes.length; i++) r.push(bytes.subarray(i, i + 1)); })).toEqual(whole);
  });

  it('parse -> re-encode gives back the stream with pad bytes zeroed', () => {
    const sink = new MemorySink();
    const w = new MirrorStreamWriter(sink);
    parseMirrorStream(bytes, { record: (r) => w.record(r) });
    w.flush();
    expect(Buffer.from(sink.bytes()).equals(Buffer.from(zeroPads(bytes, starts)))).toBe(true);
  });

  it('every single flipped byte is caught at its record (pad bytes excepted)', () => {
    const whole = eventLog(bytes, (r) => r.push(bytes));
    const dv = dvOf(bytes);
    let caught = 0;
    for (let i = 0; i < bytes.length; i++) {
      const rec = starts.filter((s) => s <= i).pop()!;
      const size = dv.getUint32(rec + 8, true);
      const bad = bytes.slice();
      bad[i] ^= 0x40;
      if (i >= rec + size) {
        // pad: ignored on read
        expect(eventLog(bad, (r) => r.push(bad))).toEqual(whole);
        continue;
      }
      const e = errOf(() => parseMirrorStream(bad, {}));
      expect(e.where.streamPos, `flip at ${i}`).toBe(rec);
      caught++;
    }
    expect(caught).toBeGreaterThan(bytes.length * 0.9);
  });

  it('every truncation is rejected with an offset at or before the cut', () => {
    for (let len = 0; len < bytes.length; len++) {
      const e = errOf(() => parseMirrorStream(bytes.subarray(0, len), {}));
      expect(e).toBeInstanceOf(MirrorStreamError);
      expect(e.where.streamPos!).toBeLessThanOrEqual(len);
      const boundary = [starts[8], starts[11], starts[17]].includes(len);
      if (starts.includes(len) && len > 0) expect(e.where.field).toBe(boundary ? 'framing' : 'truncated');
    }
  });

  it('a truncated pad is an alignment error', () => {
    const last = starts[2];
    const size = dvOf(bytes).getUint32(last + 8, true);
    const e = errOf(() => parseMirrorStream(bytes.subarray(0, last + size), {}));
    expect([e.where.field, e.where.streamPos]).toEqual(['alignment', last]);
  });
});

describe('stream reader: framing problems', () => {
  const k = (obj: bigint, ctid = 5n) => ({ lo: 0x10002, obj, rt: 0x10, key: 0n, ctid });
  const P1 = mrec(T.PFSD, pfsdBody({ syncEnd: 9n }));
  const P2 = mrec(T.PFSD, pfsdBody({ syncEnd: 9n }));
  const run = (parts: Uint8Array[]) => {
    const problems: HammerError[] = [];
    const aborts: string[] = [];
    const s = parseMirrorStream(concat(parts), { problem: (e) => void problems.push(e), batchAbort: (_b, why) => void aborts.push(why) }, { report: true });
    return { s, problems, fields: problems.map((p) => p.where.field), aborts };
  };

  it('a clean stream has no problems', () => {
    expect(run([P1, P2, mrec(T.PASS, leafBody(k(1n))), mrec(T.SYNC), mrec(T.TERM)]).problems).toEqual([]);
  });
  it('TERM in place of SYNC aborts the batch without a problem (mirror-read -t)', () => {
    const r = run([P1, P2, mrec(T.PASS, leafBody(k(1n))), mrec(T.TERM)]);
    expect(r.problems).toEqual([]);
    expect(r.aborts.length).toBe(1);
    expect(r.s.aborted).toBe(1);
  });
  it('reports keys going backwards, records outside a batch, UPDATE, a missing SYNC, PFSD version, no TERM', () => {
    expect(run([P1, P2, mrec(T.PASS, leafBody(k(2n))), mrec(T.PASS, leafBody(k(1n))), mrec(T.SYNC), mrec(T.TERM)]).fields).toEqual(['order']);
    expect(run([mrec(T.PASS, leafBody(k(2n))), P1, P2, mrec(T.SYNC), mrec(T.TERM)]).fields).toEqual(['framing']);
    expect(run([P1, P2, mrec(T.UPDATE, updateBody(3n)), mrec(T.SYNC), mrec(T.TERM)]).fields).toEqual(['framing']);
    const noSync = run([P1, P2, mrec(T.PASS, leafBody(k(1n))), P1, P2, mrec(T.SYNC), mrec(T.TERM)]);
    expect(noSync.fields).toEqual(['framing']);
    expect(noSync.aborts.length).toBe(1);
    expect(run([P1, mrec(T.PFSD, pfsdBody({ syncEnd: 9n, version: 2 })), mrec(T.SYNC), mrec(T.TERM)]).fields).toEqual(['version']);
    expect(run([P1, mrec(T.PFSD, pfsdBody({ syncEnd: 9n, shared: 0x33 })), mrec(T.SYNC), mrec(T.TERM)]).fields).toEqual(['shared_uuid']);
    expect(run([P1, P2, mrec(T.SYNC)]).fields).toEqual(['framing']);
    expect(run([mrec(T.SYNC), mrec(T.TERM)]).fields).toEqual(['framing']);
  });
  it('checks REC payloads against data_crc unless the source flagged them', () => {
    const badData = leafBody(k(1n), new Uint8Array(33).fill(7), { dataCrc: 0x1234 });
    expect(run([P1, P2, mrec(T.REC, badData), mrec(T.SYNC), mrec(T.TERM)]).fields).toEqual(['data_crc']);
    const r = run([P1, P2, mrec((T.REC | 0xc0000000) >>> 0, badData), mrec(T.SYNC), mrec(T.TERM)]);
    expect(r.problems).toEqual([]);
    expect(r.s.crcErrorRecords).toBe(1);
  });
  it('a bad record CRC is a readable problem in report mode and parsing goes on', () => {
    const r = run([P1, P2, mrec(T.PASS, leafBody(k(1n)), { crc: 'bad' }), mrec(T.PASS, leafBody(k(2n))), mrec(T.SYNC), mrec(T.TERM)]);
    expect(r.fields).toEqual(['rec_crc']);
    expect(r.s.records).toBe(6);
    expect(r.s.synced).toBe(1);
  });
  it('throw mode: the first problem throws after aborting the open batch', () => {
    const aborts: number[] = [];
    const e = errOf(() => parseMirrorStream(concat([P1, P2, mrec(T.PASS, leafBody(k(1n)), { crc: 'bad' })]), { batchAbort: (b) => void aborts.push(b.index) }));
    expect([e.where.field, e.where.streamPos]).toEqual(['rec_crc', 640]);
    expect(aborts).toEqual([0]);
  });
  it('empty input and garbage are fatal', () => {
    expect(errOf(() => parseMirrorStream(new Uint8Array(0), {})).where.field).toBe('truncated');
    expect(errOf(() => parseMirrorStream(new TextEncoder().encode('this is not a mirror stream at all'), {}, { report: true })).where.field).toBe('signature');
  });
});

describe('our own streams of content-v7', () => {
  let ctx: Ctx;
  beforeAll(() => {
    ctx = openCtx(imagePaths('content-v7'));
  });
  afterAll(() => ctx.vs.close());

  it('parse -> re-encode === the same bytes (full, incremental, several batches)', () => {
    for (const o of [{ pfsId: 0, batchBytes: 0 }, { pfsId: 0, since: 0x1000003edn, batchBytes: 0 }, { pfsId: 0, batchBytes: 300_000 }, { pfsId: 2 }]) {
      const { bytes } = mirrorReadToMemory(ctx, o);
      const sink = new MemorySink();
      const w = new MirrorStreamWriter(sink);
      const s = parseMirrorStream(bytes, { record: (r) => w.record(r) });
      w.flush();
      expect(s.problems).toBe(0);
      expect(Buffer.from(sink.bytes()).equals(Buffer.from(bytes))).toBe(true);
      // chunked like a pipe delivers it
      const r = new MirrorStreamReader({});
      for (let i = 0; i < bytes.length; i += 65536 - 7) r.push(bytes.subarray(i, i + 65536 - 7));
      expect(r.end().records).toBe(s.records);
    }
  });

  it('a flipped payload byte in a real stream is a data/record CRC problem at that record', () => {
    const { bytes } = mirrorReadToMemory(ctx, { pfsId: 1, batchBytes: 0 });
    const got = collect(bytes);
    const target = got.bulk.find((g) => g.type === 'REC' && g.payload.length > 1000)!;
    const bad = bytes.slice();
    bad[target.pos + 80 + 500] ^= 1;
    const e = errOf(() => parseMirrorStream(bad, {}));
    expect([e.where.field, e.where.streamPos]).toEqual(['rec_crc', target.pos]);
    const rep = collect(bad, true);
    expect(rep.problems.map((p) => p.where.field)).toEqual(['rec_crc', 'data_crc']);
    expect(rep.summary.synced).toBe(1);
  });
});

describe('stream reader: arbitrary damage never escapes as an untyped error', () => {
  const { bytes } = dragonflyStream();
  it('random flips, truncations and chunkings give a summary or a HammerError', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(bytes.length - 1), fc.integer({ min: 1, max: 255 })), { maxLength: 6 }),
        fc.nat(bytes.length),
        fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 8 }),
        fc.boolean(),
        (flips, cut, chunks, report) => {
          const b = bytes.slice(0, Math.max(cut, 1));
          for (const [i, x] of flips) if (i < b.length) b[i] ^= x;
          const r = new MirrorStreamReader({ problem: () => {} }, { report });
          try {
            let o = 0;
            let k = 0;
            while (o < b.length) {
              const n = chunks[k++ % chunks.length];
              r.push(b.subarray(o, o + n));
              o += n;
            }
            r.end();
          } catch (e) {
            if (!(e instanceof HammerError)) throw e;
            expect(e.where.streamPos).toBeLessThanOrEqual(b.length);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });
});
