/**
 * Mirror stream reader: one incremental parser over a byte stream (a pipe or a file) that
 * validates every record and the batch framing, and drives a table of callbacks. Two consumers
 * share it: mirror-dump (prints / verifies) and mirror-write (applies one batch per transaction:
 * open at batchBegin, apply each bulk record, commit at batchEnd when the batch ends with SYNC,
 * roll back at batchAbort or when the reader throws).
 *
 * Stream grammar (spec/MIRROR.md §c.1, §c.3, §c.5):
 *
 *   stream := batch* TERM            (a two-way mirror-stream never sends TERM)
 *   batch  := PFSD#1 PFSD#2 bulk* (SYNC | IDLE)
 *   bulk   := REC | PASS | SKIP
 *
 * PFSD#1 tells the target who the source is; PFSD#2 carries this batch's TID window in its
 * sync_beg_tid / sync_end_tid. SYNC means "the target may now set sync_end_tid"; IDLE means the
 * batch had no work. TERM right after a PFSD, or in place of SYNC/IDLE, ends the stream (the
 * latter is a batch interrupted by `hammer mirror-read -t`; its records must not be committed).
 *
 * Memory is bounded: records are parsed in place in the pushed chunks; only a record that
 * straddles two chunks is copied, into one buffer of the largest legal record size.
 *
 * Problems come in two severities:
 *  - fatal (always thrown): the bytes cannot be cut into records — bad signature, byte-swapped
 *    stream, rec_size out of range, stream ending inside a record or inside a batch, empty input;
 *  - readable (thrown, or with `report: true` passed to handler.problem and parsing goes on):
 *    record CRC mismatch, unknown type or wrong size for a type, payload data CRC mismatch,
 *    records out of their place in the grammar, keys going backwards inside a batch, no TERM.
 * Every error carries the stream byte offset of the record (Where.streamPos).
 */
import * as fs from 'node:fs';
import { MirrorStreamError, type HammerError, type Where } from '../errors.js';
import {
  HAMMER_MREC_HEADSIZE, HAMMER_MREC_TYPE_REC, HAMMER_MREC_TYPE_PFSD, HAMMER_MREC_TYPE_UPDATE,
  HAMMER_MREC_TYPE_SYNC, HAMMER_MREC_TYPE_SKIP, HAMMER_MREC_TYPE_PASS, HAMMER_MREC_TYPE_TERM,
  HAMMER_MREC_TYPE_IDLE, HAMMER_MRECF_CRC_ERROR, HAMMER_MRECF_DATA_CRC_BAD, HAMMER_MRECF_NODATA,
} from '../ondisk/constants.js';
import {
  MREC_MAX_PADDED, MREC_PFSD_VERSION, MREC_TYPE_NAMES, checkMRecordHead, decodeMRecord, headDoAlign, mrecordKey,
  type MRecord, type MRecBulk, type MRecPfsd, type MRecBare, type MRecordType,
} from '../ondisk/mrecord.js';
import { decodePfsData, type PfsData } from '../ondisk/pfs-data.js';
import { cmpBaseElm, type BaseElm } from '../ondisk/btree-elm.js';
import { recordDataCrcVerdict } from '../ondisk/inode-data.js';
import { uuidEqual } from '../ondisk/uuid.js';
import { hex64 } from '../ondisk/int64.js';

/** One batch as the stream announced it. */
export interface BatchInfo {
  /** 0-based batch number in the stream. */
  index: number;
  /** Stream offset of PFSD #1. */
  pos: number;
  pfsd1: PfsData;
  pfsd2: PfsData;
  /** PFSD #2's version word (1 in every DragonFly release). */
  pfsdVersion: number;
  /** The batch's TID window as PFSD #2 states it: sync_beg_tid .. sync_end_tid. */
  tidBeg: bigint;
  tidEnd: bigint;
  /** Bulk records seen so far in this batch. */
  bulkRecords: number;
}

export type BatchEndType = typeof HAMMER_MREC_TYPE_SYNC | typeof HAMMER_MREC_TYPE_IDLE;

/**
 * Callbacks. Records passed in are views into the parser's input: valid only during the call
 * (copy payloads to keep them).
 */
export interface MirrorStreamHandler {
  /** Every record that decoded, in stream order, before the framing callbacks. */
  record?(r: MRecord, pos: number, recSize: number): void;
  /** PFSD #2 arrived: a batch starts. */
  batchBegin?(b: BatchInfo): void;
  bulk?(r: MRecBulk, pos: number, b: BatchInfo): void;
  /** SYNC (commit; the target's sync_end_tid becomes b.tidEnd) or IDLE (nothing to commit). */
  batchEnd?(b: BatchInfo, how: BatchEndType, pos: number): void;
  /** The batch will not be completed (TERM before SYNC, a new PFSD, truncation, an error). */
  batchAbort?(b: BatchInfo, reason: string, pos: number): void;
  term?(pos: number): void;
  /** With `report: true`: a readable problem; parsing continues after it. */
  problem?(e: HammerError): void;
}

export interface MirrorStreamReaderOptions {
  /** Pass readable problems to handler.problem and go on (mirror-dump --verify). Default: throw. */
  report?: boolean;
  /** Check REC payloads against their leaf data_crc (CRC-32C or CRC-32), as lh1 does. Default true. */
  checkDataCrc?: boolean;
}

export interface MirrorStreamSummary {
  bytes: number;
  records: number;
  byType: Record<string, number>;
  batches: number;
  synced: number;
  idle: number;
  aborted: number;
  terminated: boolean;
  problems: number;
  /** REC records flagged CRC_ERROR / DATA_CRC_BAD by the source. */
  crcErrorRecords: number;
  /** REC records carrying the NODATA flag (a --nodata stream: it cannot be applied). */
  nodataRecords: number;
  payloadBytes: number;
}

type State = 'pfsd1' | 'pfsd2' | 'bulk';

const where = (pos: number, field?: string): Where => (field ? { structure: 'mirror stream', streamPos: pos, field } : { structure: 'mirror stream', streamPos: pos });

export class MirrorStreamReader {
  private readonly pend = new Uint8Array(MREC_MAX_PADDED);
  private readonly pendDv = new DataView(this.pend.buffer);
  private pendLen = 0;
  private pendNeed = 0;
  /** Stream offset of the first byte not yet consumed as part of a complete record. */
  private pos = 0;
  private state: State = 'pfsd1';
  private pfsd1?: { rec: PfsData; pos: number };
  private batch?: BatchInfo;
  private lastKey?: BaseElm;
  private batchIndex = 0;
  private terminated = false;
  private ended = false;
  private readonly report: boolean;
  private readonly checkData: boolean;
  readonly summary: MirrorStreamSummary = {
    bytes: 0, records: 0, byType: {}, batches: 0, synced: 0, idle: 0, aborted: 0, terminated: false,
    problems: 0, crcErrorRecords: 0, nodataRecords: 0, payloadBytes: 0,
  };

  constructor(
    private readonly h: MirrorStreamHandler,
    o: MirrorStreamReaderOptions = {},
  ) {
    this.report = o.report ?? false;
    this.checkData = o.checkDataCrc ?? true;
  }

  /** Stream offset up to which complete records have been parsed. */
  get position(): number {
    return this.pos;
  }

  /** Feed the next bytes of the stream. Throws on a fatal problem (after batchAbort). */
  push(chunk: Uint8Array): void {
    if (this.ended) throw new MirrorStreamError('data pushed after end()', where(this.pos));
    try {
      this.pushInner(chunk);
    } catch (e) {
      this.abortBatch(e instanceof Error ? e.message : String(e), this.pos);
      throw e;
    }
  }

  private pushInner(chunk: Uint8Array): void {
    let off = 0;
    const n = chunk.length;
    if (this.pendLen > 0) {
      off = this.fillPending(chunk, 0);
      if (this.pendLen > 0) return; // still incomplete: the chunk was used up
    }
    const dv = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    while (n - off >= HAMMER_MREC_HEADSIZE) {
      const recSize = checkMRecordHead(dv, off, this.pos);
      const padded = headDoAlign(recSize);
      if (n - off < padded) break;
      this.onRecord(dv, off, recSize);
      this.pos += padded;
      off += padded;
    }
    if (off < n) {
      this.pend.set(chunk.subarray(off), 0);
      this.pendLen = n - off;
      this.pendNeed = this.pendLen >= HAMMER_MREC_HEADSIZE ? headDoAlign(checkMRecordHead(this.pendDv, 0, this.pos)) : 0;
    }
  }

  /** Complete the straddling record from chunk[off..]; returns the offset after what was used. */
  private fillPending(chunk: Uint8Array, off: number): number {
    if (this.pendLen < HAMMER_MREC_HEADSIZE) {
      const take = Math.min(HAMMER_MREC_HEADSIZE - this.pendLen, chunk.length - off);
      this.pend.set(chunk.subarray(off, off + take), this.pendLen);
      this.pendLen += take;
      off += take;
      if (this.pendLen < HAMMER_MREC_HEADSIZE) return off;
      this.pendNeed = headDoAlign(checkMRecordHead(this.pendDv, 0, this.pos));
    }
    const take = Math.min(this.pendNeed - this.pendLen, chunk.length - off);
    this.pend.set(chunk.subarray(off, off + take), this.pendLen);
    this.pendLen += take;
    off += take;
    if (this.pendLen < this.pendNeed) return off;
    this.onRecord(this.pendDv, 0, this.pendDv.getUint32(8, true));
    this.pos += this.pendNeed;
    this.pendLen = 0;
    this.pendNeed = 0;
    return off;
  }

  /**
   * The input ended. Throws for a stream cut inside a record or a batch, or an empty one; reports
   * a stream that stops at a batch boundary without TERM. Returns the summary.
   */
  end(): MirrorStreamSummary {
    if (this.ended) return this.summary;
    this.ended = true;
    if (this.pendLen > 0) {
      const recSize = this.pendLen >= HAMMER_MREC_HEADSIZE ? this.pendDv.getUint32(8, true) : 0;
      const inPad = recSize > 0 && this.pendLen >= recSize;
      const e = new MirrorStreamError(
        inPad
          ? `stream ends inside the 8-byte alignment pad of the last record (${this.pendLen} of ${this.pendNeed} bytes)`
          : `stream cut short inside a record (${this.pendLen} of ${this.pendNeed || HAMMER_MREC_HEADSIZE} bytes present)`,
        where(this.pos, inPad ? 'alignment' : 'truncated'),
      );
      this.abortBatch(`stream cut short`, this.pos);
      throw e;
    }
    if (this.summary.records === 0) throw new MirrorStreamError('empty stream: no records', where(0, 'truncated'));
    if (this.state !== 'pfsd1') {
      const what = this.state === 'bulk' ? `inside batch ${this.batch?.index ?? '?'} (no SYNC or IDLE)` : 'after the first PFSD of a batch';
      this.abortBatch('stream cut short', this.pos);
      throw new MirrorStreamError(`stream cut short ${what}`, where(this.pos, 'truncated'));
    }
    if (!this.terminated) this.problem(new MirrorStreamError('stream ends without a TERM record (cut at a batch boundary?)', where(this.pos, 'framing')));
    return this.summary;
  }

  private problem(e: HammerError): void {
    this.summary.problems++;
    if (this.report && this.h.problem) this.h.problem(e);
    else {
      this.abortBatch(e.detail, e.where.streamPos ?? this.pos);
      throw e;
    }
  }

  private abortBatch(reason: string, pos: number): void {
    if (this.batch) {
      const b = this.batch;
      this.batch = undefined;
      this.summary.aborted++;
      this.h.batchAbort?.(b, reason, pos);
    }
  }

  private onRecord(dv: DataView, at: number, recSize: number): void {
    const pos = this.pos;
    const s = this.summary;
    s.records++;
    s.bytes = pos + headDoAlign(recSize);
    let r: MRecord;
    try {
      r = decodeMRecord(dv, at, pos);
    } catch (e) {
      if (!(e instanceof MirrorStreamError) || !this.report) throw e;
      this.problem(e);
      // A record whose CRC failed but that still decodes keeps the framing in step.
      if (e.where.field !== 'rec_crc') return;
      try {
        r = decodeMRecord(dv, at, pos, { checkCrc: false });
      } catch (e2) {
        if (e2 instanceof MirrorStreamError) this.problem(e2);
        else throw e2;
        return;
      }
    }
    const name = MREC_TYPE_NAMES[r.type as MRecordType];
    s.byType[name] = (s.byType[name] ?? 0) + 1;
    this.h.record?.(r, pos, recSize);
    this.frame(r, pos);
  }

  private frame(r: MRecord, pos: number): void {
    switch (r.type) {
      case HAMMER_MREC_TYPE_UPDATE:
        this.problem(new MirrorStreamError('UPDATE record in a forward stream (UPDATE flows from target to source)', where(pos, 'framing')));
        return;
      case HAMMER_MREC_TYPE_PFSD:
        if (this.state === 'bulk') {
          this.problem(new MirrorStreamError(`batch ${this.batch?.index} has no SYNC or IDLE before the next PFSD`, where(pos, 'framing')));
          this.abortBatch('next batch began without SYNC/IDLE', pos);
          this.state = 'pfsd1';
        }
        if (this.state === 'pfsd1') {
          this.pfsd1 = { rec: this.decodePfsd(r, pos), pos };
          this.state = 'pfsd2';
          this.terminated = false;
        } else {
          this.beginBatch(r, pos);
        }
        return;
      case HAMMER_MREC_TYPE_TERM:
        if (this.state === 'bulk') this.abortBatch('TERM before SYNC/IDLE (interrupted batch)', pos);
        this.state = 'pfsd1';
        this.terminated = true;
        this.summary.terminated = true;
        this.h.term?.(pos);
        return;
      case HAMMER_MREC_TYPE_SYNC:
      case HAMMER_MREC_TYPE_IDLE: {
        if (this.state !== 'bulk' || !this.batch) {
          this.problem(new MirrorStreamError(`${MREC_TYPE_NAMES[r.type]} outside a batch`, where(pos, 'framing')));
          this.state = 'pfsd1';
          return;
        }
        const b = this.batch;
        this.batch = undefined;
        this.state = 'pfsd1';
        if (r.type === HAMMER_MREC_TYPE_SYNC) this.summary.synced++;
        else this.summary.idle++;
        this.h.batchEnd?.(b, (r as MRecBare).type as BatchEndType, pos);
        return;
      }
      default:
        this.bulkRecord(r, pos);
    }
  }

  private decodePfsd(r: MRecPfsd, pos: number): PfsData {
    return decodePfsData(r.pfsd, { structure: 'mirror stream PFSD', streamPos: pos });
  }

  private beginBatch(r: MRecPfsd, pos: number): void {
    const p2 = this.decodePfsd(r, pos);
    const p1 = this.pfsd1!;
    if (r.version !== MREC_PFSD_VERSION) {
      this.problem(new MirrorStreamError(`PFSD version ${r.version}, expected ${MREC_PFSD_VERSION}`, where(pos, 'version')));
    }
    if (!uuidEqual(p1.rec.sharedUuid, p2.sharedUuid)) {
      this.problem(new MirrorStreamError('the two PFSD records of a batch name different shared UUIDs', where(pos, 'shared_uuid')));
    }
    this.batch = {
      index: this.batchIndex++, pos: p1.pos, pfsd1: p1.rec, pfsd2: p2, pfsdVersion: r.version,
      tidBeg: p2.syncBegTid, tidEnd: p2.syncEndTid, bulkRecords: 0,
    };
    this.summary.batches++;
    this.lastKey = undefined;
    this.state = 'bulk';
    this.h.batchBegin?.(this.batch);
  }

  private bulkRecord(r: MRecBulk, pos: number): void {
    if (this.state !== 'bulk' || !this.batch) {
      this.problem(new MirrorStreamError(`${MREC_TYPE_NAMES[r.type]} record outside a batch (expected ${this.state === 'pfsd1' ? 'PFSD or TERM' : 'the second PFSD'})`, where(pos, 'framing')));
      return;
    }
    const b = this.batch;
    const key = mrecordKey(r);
    // Keys never go backwards inside a batch: the target's delete sweep relies on it. Equal keys
    // are legal (a record re-sent after an interrupted MIRROR_READ call).
    if (this.lastKey && cmpBaseElm(key, this.lastKey) < 0) {
      this.problem(new MirrorStreamError(`${MREC_TYPE_NAMES[r.type]} key ${describeKey(key)} sorts before the previous record's ${describeKey(this.lastKey)}`, where(pos, 'order')));
    }
    this.lastKey = key;
    if (r.type === HAMMER_MREC_TYPE_REC) {
      const s = this.summary;
      if (r.flags & (HAMMER_MRECF_CRC_ERROR | HAMMER_MRECF_DATA_CRC_BAD)) s.crcErrorRecords++;
      else if (r.flags & HAMMER_MRECF_NODATA) s.nodataRecords++;
      else {
        s.payloadBytes += r.payload.length;
        const len = r.leaf.dataLen;
        if (this.checkData && len > 0 && r.leaf.dataOffset !== 0n) {
          // Volume version 7 rule: CRC-32C, or CRC-32 for records written by an older version.
          if (recordDataCrcVerdict(r.leaf.recType, r.payload.subarray(0, len), r.leaf.dataCrc, 7) === null) {
            this.problem(new MirrorStreamError(`REC payload does not match its data_crc 0x${(r.leaf.dataCrc >>> 0).toString(16).padStart(8, '0')} (obj ${hex64(r.leaf.objId)} key ${hex64(r.leaf.key)})`, where(pos, 'data_crc')));
          }
        }
      }
    }
    b.bulkRecords++;
    this.h.bulk?.(r, pos, b);
  }
}

function describeKey(k: BaseElm): string {
  return `lo=${(k.localization >>> 0).toString(16).padStart(8, '0')} obj=${hex64(k.objId)} rt=${k.recType.toString(16).padStart(2, '0')} key=${hex64(k.key)} tid=${hex64(k.createTid)}`;
}

/** Parse a whole in-memory stream. */
export function parseMirrorStream(bytes: Uint8Array, h: MirrorStreamHandler, o?: MirrorStreamReaderOptions): MirrorStreamSummary {
  const r = new MirrorStreamReader(h, o);
  r.push(bytes);
  return r.end();
}

/** Parse a stream from any async source of chunks (process.stdin, a ReadStream). */
export async function readMirrorStream(src: AsyncIterable<Uint8Array>, h: MirrorStreamHandler, o?: MirrorStreamReaderOptions): Promise<MirrorStreamSummary> {
  const r = new MirrorStreamReader(h, o);
  for await (const chunk of src) r.push(chunk);
  return r.end();
}

/** Parse a stream file (read in 1 MiB chunks). */
export function readMirrorStreamFile(path: string, h: MirrorStreamHandler, o?: MirrorStreamReaderOptions): Promise<MirrorStreamSummary> {
  return readMirrorStream(fs.createReadStream(path, { highWaterMark: 1 << 20 }), h, o);
}
