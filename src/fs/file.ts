/**
 * File data as of a TID (spec/RECORDS.md §4). DATA records (PFS<<16|MISC, obj_id, DATA) are keyed
 * by their *end* offset: a record covers [key - data_len, key). So the records touching
 * [off, off+len) are those with off < key < off + len + 64 KiB (a record is at most 64 KiB), and a
 * range scan starts at key off+1 (as the kernel's range lookups do). No record = hole = zeros;
 * data_offset 0 with data_len > 0 = zeros; bytes past inode.size are not file data.
 *
 * Hot path (FUSE reads, cat, extract). A FileReader copies record payloads straight from the
 * device into the caller's buffer: payloads that lie back to back on the media (a file written
 * in one go) are read with one device read per run, nothing is copied twice, and file data does
 * not pass through (or evict) the buffer cache. A reader that is asked for the range right after
 * the previous one continues its B-Tree cursor instead of seeking from the root again. Each
 * payload's CRC is checked once per volume set (records.ts keeps the verdicts).
 */
import { BadFieldError, CrcMismatchError, type Where } from '../errors.js';
import { Cursor } from '../btree/cursor.js';
import { ELM, makeKey } from '../ondisk/btree-elm.js';
import { HAMMER_MAX_KEY, HAMMER_RECTYPE_DATA, HAMMER_XBUFSIZE, LE } from '../ondisk/constants.js';
import { recordDataCrc, recordDataCrcVerdict } from '../ondisk/inode-data.js';
import { crcAlgFor } from '../ondisk/crc.js';
import { toSafeNumber } from '../ondisk/int64.js';
import type { Inode } from './inode.js';
import {
  collectRecords, dataVerdictKnown, elmVisible, locMisc, rememberDataVerdict, type FsContext,
} from './records.js';

/** One DATA record as a reader sees it. */
export interface DataRecord {
  /** File offset of the first byte (key - data_len). */
  offset: bigint;
  length: number;
  /** End offset (the B-Tree key). */
  key: bigint;
  dataOffset: bigint;
  createTid: bigint;
  deleteTid: bigint;
  createTs: number;
  deleteTs: number;
}

function fileSize(ino: Inode): number {
  return toSafeNumber(ino.size, { structure: `inode ${ino.objId.toString(16)} in PFS ${ino.pfs}`, field: 'size' });
}

/**
 * A read that starts at most this far past where the previous one ended still continues the
 * cursor, stepping over the records in between (a few dozen elements) instead of descending from
 * the root: FUSE serves the kernel's read-ahead on several threads, so consecutive requests of
 * one sequential reader reach us slightly out of order.
 */
const SKIP_MAX = 4 << 20;

/** A visible DATA element seen past the end of one read that may still hold bytes of the next. */
interface Carried {
  key: bigint;
  len: number;
  dataOffset: bigint;
  dataCrc: number;
  nodeOff: bigint;
  index: number;
}

/** A record whose CRC is checked once the run holding it has been read. */
interface Check {
  outAt: number;
  len: number;
  dataOffset: bigint;
  dataCrc: number;
  nodeOff: bigint;
  index: number;
}

/**
 * Reads one file as of one TID into caller buffers. Sequential use (each read starting where the
 * previous one ended) continues the B-Tree cursor; any other read seeks afresh. Not safe to keep
 * across writes to the volume set: it notices writes made through its cache (writeGen) and
 * seeks again, and never continues while a write overlay is in front of the cache.
 */
export class FileReader {
  readonly size: number;
  private cursor: Cursor | null = null;
  private cursorDone = false;
  /** Elements already taken from the cursor that lie past the previous read's end. */
  private carry: Carried[] = [];
  private lastEnd = -1;
  private gen = -1;
  private readonly loc: number;
  /** A whole record for partial reads of not-yet-checked payloads (allocated on first need). */
  private scratch: Uint8Array | null = null;
  // Pending run: device bytes [runPos, runPos + runLen) of volume runVol go to out[runOut...].
  private runVol = -1;
  private runPos = 0;
  private runLen = 0;
  private runOut = 0;
  private runWhere: Where | null = null;
  private checks: Check[] = [];
  private nChecks = 0;
  // Per-read state (valid during readInto).
  private out: Uint8Array = new Uint8Array(0);
  private outBase = 0;
  private start = 0;
  private end = 0;
  private filled = 0;

  constructor(
    private readonly ctx: FsContext,
    readonly ino: Inode,
    readonly asof: bigint,
  ) {
    this.size = fileSize(ino);
    this.loc = locMisc(ino.pfs);
  }

  /**
   * Whether a read at `pos` would continue the current cursor (no descent from the root): it
   * starts at, or a little after, where the previous read ended.
   */
  continues(pos: number): boolean {
    const cache = this.ctx.vs.cache;
    return this.cursor !== null && pos >= this.lastEnd && pos - this.lastEnd <= SKIP_MAX && this.gen === cache.writeGen && cache.mirrorsDevices;
  }

  /** Where the previous read ended (-1 before the first, or after a failed one). */
  get position(): number {
    return this.lastEnd;
  }

  /**
   * Copy file bytes [pos, pos+len) into out[outOff...] (clipped to the file size); returns the
   * number of bytes copied. Holes and zero-fill records are written as zeros. Throws
   * CrcMismatchError / BadFieldError / IoError on damage, leaving `out` partly written.
   */
  readInto(pos: number, len: number, out: Uint8Array, outOff = 0): number {
    if (!Number.isSafeInteger(pos) || !Number.isSafeInteger(len) || pos < 0 || len < 0) {
      throw new BadFieldError('bad read offset or length', { structure: 'read request' });
    }
    const start = Math.min(pos, this.size);
    const end = Math.min(this.size, pos + len);
    if (end <= start) return 0;
    if (!Number.isInteger(outOff) || outOff < 0 || outOff + (end - start) > out.length) {
      throw new BadFieldError(`${end - start} bytes do not fit the destination`, { structure: 'read request' });
    }
    this.out = out;
    this.outBase = outOff;
    this.start = start;
    this.end = end;
    this.filled = start;
    try {
      this.scan();
      this.flushRun();
      if (this.filled < end) out.fill(0, outOff + this.filled - start, outOff + end - start);
    } catch (e) {
      // Whatever state the scan was in, the next read starts from a fresh seek.
      this.cursor = null;
      this.lastEnd = -1;
      this.runLen = 0;
      this.nChecks = 0;
      throw e;
    } finally {
      this.out = EMPTY;
    }
    this.lastEnd = end;
    return end - start;
  }

  private scan(): void {
    const { ctx, start, end } = this;
    const cache = ctx.vs.cache;
    // Keys up to `limit` may hold bytes below `end` (a record is at most 64 KiB).
    const limit = BigInt(end + HAMMER_XBUFSIZE - 1);
    const endKey = BigInt(end);
    const sequential = this.continues(start);
    const startKey = BigInt(start);
    let carry = this.carry;
    if (!sequential) {
      this.cursor = new Cursor(ctx.tree, {
        end: makeKey({ localization: this.loc, objId: this.ino.objId, recType: HAMMER_RECTYPE_DATA, key: HAMMER_MAX_KEY, createTid: 0n }),
      });
      this.cursor.seek(makeKey({ localization: this.loc, objId: this.ino.objId, recType: HAMMER_RECTYPE_DATA, key: BigInt(start + 1), createTid: 1n }));
      this.cursorDone = false;
      this.gen = cache.writeGen;
      carry = [];
    }
    const next: Carried[] = [];
    // Carried elements come first: they precede everything still in the cursor.
    for (let k = 0; k < carry.length; k++) {
      const e = carry[k];
      if (e.key <= startKey) continue; // ends before this read (a skipped gap)
      if (e.key > limit) {
        for (; k < carry.length; k++) next.push(carry[k]);
        this.carry = next;
        return;
      }
      this.apply(e.key, e.len, e.dataOffset, e.dataCrc, e.nodeOff, e.index);
      if (e.key > endKey) next.push(e);
    }
    this.carry = next;
    if (this.cursorDone) return;
    const c = this.cursor!;
    const asof = this.asof;
    for (;;) {
      if (c.next() !== 'elm') {
        this.cursorDone = true;
        return;
      }
      const node = c.node;
      const i = c.index;
      const dv = node.dv;
      const at = node.elmAt(i);
      if (!elmVisible(dv, at, asof)) continue;
      const key = dv.getBigInt64(at + ELM.key, LE);
      if (key <= startKey) continue; // ends before this read (a skipped gap)
      const len = dv.getInt32(at + ELM.dataLen, LE);
      const dataOffset = dv.getBigUint64(at + ELM.dataOffset, LE);
      const dataCrc = dv.getUint32(at + ELM.dataCrc, LE);
      if (key > limit) {
        next.push({ key, len, dataOffset, dataCrc, nodeOff: node.offset, index: i });
        return;
      }
      this.apply(key, len, dataOffset, dataCrc, node.offset, i);
      if (key > endKey) next.push({ key, len, dataOffset, dataCrc, nodeOff: node.offset, index: i });
    }
  }

  /** Put the part of one record that lies in [start, end) into out. */
  private apply(key: bigint, len: number, dataOffset: bigint, dataCrc: number, nodeOff: bigint, index: number): void {
    if (len <= 0 || len > HAMMER_XBUFSIZE) {
      throw new BadFieldError(`DATA record data_len ${len} out of range 1..65536`, { structure: 'B-Tree leaf element', hammerOff: nodeOff, index, field: 'data_len' });
    }
    const { start, end } = this;
    const recEnd = Number(key); // key <= end + 64 KiB here, so it is a safe integer
    const recBeg = recEnd - len;
    const from = Math.max(recBeg, start);
    const to = Math.min(recEnd, end);
    if (from >= to) return;
    const out = this.out;
    const o = this.outBase - start; // out index of file offset f is o + f
    const appends = from === this.filled;
    if (!appends) this.flushRun(); // overlapping or out-of-order records: keep key order's last-wins
    if (from > this.filled) out.fill(0, o + this.filled, o + from);
    if (to > this.filled) this.filled = to;
    if (dataOffset === 0n) {
      // zero-fill record
      this.flushRun();
      out.fill(0, o + from, o + to);
      return;
    }
    const vs = this.ctx.vs;
    const where: Where = { structure: 'record data', hammerOff: dataOffset };
    const loc = vs.locate(dataOffset, len, where);
    const verify = this.ctx.verifyData && !dataVerdictKnown(vs, dataOffset, len, dataCrc);
    if (from === recBeg && to === recEnd) {
      // Whole record: joins the pending run when it continues it on the media and in out.
      if (!(this.runLen > 0 && loc.vol === this.runVol && loc.pos === this.runPos + this.runLen && o + from === this.runOut + this.runLen)) {
        this.flushRun();
        this.runVol = loc.vol;
        this.runPos = loc.pos;
        this.runOut = o + from;
        this.runWhere = where;
      }
      if (verify) {
        let ck = this.checks[this.nChecks];
        if (!ck) ck = this.checks[this.nChecks] = { outAt: 0, len: 0, dataOffset: 0n, dataCrc: 0, nodeOff: 0n, index: 0 };
        ck.outAt = o + from;
        ck.len = len;
        ck.dataOffset = dataOffset;
        ck.dataCrc = dataCrc;
        ck.nodeOff = nodeOff;
        ck.index = index;
        this.nChecks++;
      }
      this.runLen += len;
      return;
    }
    this.flushRun();
    if (!verify) {
      vs.readPhysInto(loc.vol, loc.pos + (from - recBeg), to - from, out, o + from, where);
      return;
    }
    // Part of a record whose CRC is not known yet: the CRC covers the whole payload.
    const s = this.scratch ?? (this.scratch = new Uint8Array(HAMMER_XBUFSIZE));
    vs.readPhysInto(loc.vol, loc.pos, len, s, 0, where);
    const rec = s.subarray(0, len);
    this.checkCrc(rec, dataOffset, dataCrc, nodeOff, index);
    out.set(rec.subarray(from - recBeg, to - recBeg), o + from);
  }

  /** Read the pending run with one device read, then check the CRCs of the records in it. */
  private flushRun(): void {
    if (this.runLen === 0) return;
    const len = this.runLen;
    this.runLen = 0;
    this.ctx.vs.readPhysInto(this.runVol, this.runPos, len, this.out, this.runOut, this.runWhere!);
    const n = this.nChecks;
    this.nChecks = 0;
    for (let k = 0; k < n; k++) {
      const ck = this.checks[k];
      this.checkCrc(this.out.subarray(ck.outAt, ck.outAt + ck.len), ck.dataOffset, ck.dataCrc, ck.nodeOff, ck.index);
    }
  }

  private checkCrc(b: Uint8Array, dataOffset: bigint, dataCrc: number, nodeOff: bigint, index: number): void {
    const vs = this.ctx.vs;
    const v = vs.version;
    if (recordDataCrcVerdict(HAMMER_RECTYPE_DATA, b, dataCrc, v) === null) {
      throw new CrcMismatchError(
        { structure: 'B-Tree leaf element', hammerOff: nodeOff, index, field: 'data_crc' },
        recordDataCrc(HAMMER_RECTYPE_DATA, b, v), dataCrc, `record data CRC mismatch (${crcAlgFor(v)})`,
      );
    }
    rememberDataVerdict(vs, dataOffset, b.length, dataCrc);
  }
}

const EMPTY = new Uint8Array(0);

/**
 * Copy file bytes [offset, offset+length) as of `asof` (clipped to the inode's size) into
 * out[outOff...]; returns the count. Holes read as zeros.
 */
export function readFileInto(ctx: FsContext, ino: Inode, offset: number, length: number, asof: bigint, out: Uint8Array, outOff = 0): number {
  if (offset < 0 || length < 0) throw new BadFieldError('negative read offset or length', { structure: 'read request' });
  return new FileReader(ctx, ino, asof).readInto(offset, length, out, outOff);
}

/**
 * Bytes [offset, offset+length) of the file as of `asof`, clipped to the inode's size. Returns a
 * new array (safe to modify). Throws CrcMismatchError / BadFieldError on damaged records.
 */
export function readFileRange(ctx: FsContext, ino: Inode, offset: number, length: number, asof: bigint): Uint8Array {
  const size = fileSize(ino);
  if (offset < 0 || length < 0) throw new BadFieldError('negative read offset or length', { structure: 'read request' });
  const start = Math.min(offset, size);
  const end = Math.min(size, offset + length);
  const out = new Uint8Array(Math.max(0, end - start));
  if (end > start) new FileReader(ctx, ino, asof).readInto(start, end - start, out, 0);
  return out;
}

/**
 * The whole file as of `asof` in chunks of at most `chunkSize` bytes (default 1 MiB): bounded
 * memory whatever the file size. Each chunk is a fresh array.
 */
export function* streamFile(ctx: FsContext, ino: Inode, asof: bigint, chunkSize = 1 << 20): Generator<Uint8Array> {
  const r = new FileReader(ctx, ino, asof);
  for (let off = 0; off < r.size; off += chunkSize) {
    const out = new Uint8Array(Math.min(chunkSize, r.size - off));
    r.readInto(off, out.length, out, 0);
    yield out;
  }
}

/**
 * DATA records of a file: the versions visible as of `asof`, or every stored version when `asof`
 * is undefined (history). Key order, then create_tid order.
 */
export function dataRecords(ctx: FsContext, ino: Pick<Inode, 'pfs' | 'objId'>, asof?: bigint): DataRecord[] {
  return collectRecords(ctx.tree, locMisc(ino.pfs), ino.objId, HAMMER_RECTYPE_DATA, -0x8000000000000000n, 0x7fffffffffffffffn, asof).map(({ leaf }) => ({
    offset: leaf.key - BigInt(leaf.dataLen), length: leaf.dataLen, key: leaf.key, dataOffset: leaf.dataOffset,
    createTid: leaf.createTid, deleteTid: leaf.deleteTid, createTs: leaf.createTs, deleteTs: leaf.deleteTs,
  }));
}
