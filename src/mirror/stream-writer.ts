/**
 * Mirror stream writer: encodes records straight into one reusable buffer and hands full buffers
 * to a ByteSink (a file descriptor, or memory in tests). REC and PASS records are built from the
 * raw 64 leaf bytes of a cached B-Tree node, so mirror-read never decodes a leaf to send it.
 *
 * Records are laid end to end at 8-byte boundaries with zeroed pad (spec/MIRROR.md §b).
 */
import * as fs from 'node:fs';
import { IoError } from '../errors.js';
import {
  LE, HAMMER_MREC_TYPE_REC, HAMMER_MREC_TYPE_PFSD, HAMMER_MREC_TYPE_UPDATE, HAMMER_MREC_TYPE_SYNC,
  HAMMER_MREC_TYPE_SKIP, HAMMER_MREC_TYPE_PASS, HAMMER_MREC_TYPE_TERM, HAMMER_MREC_TYPE_IDLE,
  HAMMER_PFS_DATA_SIZE, HAMMER_BTREE_ELM_SIZE, HAMMER_MRECF_CRC_ERROR,
} from '../ondisk/constants.js';
import {
  MREC_REC, MREC_PFSD, MREC_UPDATE, MREC_SKIP, MREC_REC_HEAD_SIZE, MREC_PASS_SIZE, MREC_PFSD_SIZE, MREC_UPDATE_SIZE,
  MREC_SKIP_SIZE, MREC_BARE_SIZE, MREC_MAX_PADDED, MREC_PFSD_VERSION,
  headDoAlign, writeMRecordHead, sealMRecord, encodeMRecordInto, type MRecord,
} from '../ondisk/mrecord.js';
import { ELM, encodeBaseElm, type BaseElm } from '../ondisk/btree-elm.js';
import { setU64 } from '../ondisk/int64.js';

/** Where encoded bytes go. write() receives a view that is reused afterwards: copy to keep. */
export interface ByteSink {
  write(b: Uint8Array): void;
}

/**
 * A file descriptor. Retries short writes, and EAGAIN on a non-blocking pipe (stdout handed over
 * by a parent in non-blocking mode) by sleeping a millisecond, so writeSync never loses bytes.
 */
export class FdSink implements ByteSink {
  private readonly nap = new Int32Array(new SharedArrayBuffer(4));
  constructor(readonly fd: number, readonly name = `fd ${fd}`) {}
  write(b: Uint8Array): void {
    let off = 0;
    while (off < b.length) {
      try {
        off += fs.writeSync(this.fd, b, off, b.length - off);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') {
          Atomics.wait(this.nap, 0, 0, 1);
          continue;
        }
        if (code === 'EPIPE') throw new IoError('output pipe closed by the reader', { structure: 'mirror stream output', path: this.name });
        throw new IoError(`write failed: ${(e as Error).message}`, { structure: 'mirror stream output', path: this.name }, { cause: e });
      }
    }
  }
}

/** Collects everything in memory (tests, round trips). */
export class MemorySink implements ByteSink {
  private chunks: Uint8Array[] = [];
  length = 0;
  write(b: Uint8Array): void {
    this.chunks.push(b.slice());
    this.length += b.length;
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.length);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    this.chunks = [out];
    return out;
  }
}

/** Counts by record kind, as mirror-read reports them. */
export interface MirrorStreamCounts {
  rec: number;
  pass: number;
  skip: number;
  pfsd: number;
  sync: number;
  idle: number;
  term: number;
  update: number;
  /** REC records sent flagged CRC_ERROR | DATA_CRC_BAD. */
  crcError: number;
  /** Payload bytes carried by REC records. */
  payloadBytes: number;
}

export const emptyCounts = (): MirrorStreamCounts => ({ rec: 0, pass: 0, skip: 0, pfsd: 0, sync: 0, idle: 0, term: 0, update: 0, crcError: 0, payloadBytes: 0 });

export interface MirrorStreamWriterOptions {
  /** Bytes buffered before a write to the sink (default 1 MiB; at least one maximal record). */
  bufferBytes?: number;
}

export class MirrorStreamWriter {
  private readonly buf: Uint8Array;
  private readonly dv: DataView;
  private fill = 0;
  /** Bytes handed to the sink plus bytes buffered: the stream offset of the next record. */
  bytesWritten = 0;
  readonly counts = emptyCounts();

  constructor(
    private readonly sink: ByteSink,
    o: MirrorStreamWriterOptions = {},
  ) {
    const size = Math.max(o.bufferBytes ?? 1 << 20, MREC_MAX_PADDED);
    this.buf = new Uint8Array(size);
    this.dv = new DataView(this.buf.buffer);
  }

  /** Reserve room for `padded` bytes and return the position to encode at. */
  private room(padded: number): number {
    if (this.fill + padded > this.buf.length) this.flush();
    return this.fill;
  }
  private commit(at: number, recSize: number): void {
    const padded = sealMRecord(this.buf, this.dv, at, recSize);
    this.fill = at + padded;
    this.bytesWritten += padded;
  }

  /** Any decoded record, re-encoded (mirror-dump round trips, hand-built streams). */
  record(r: MRecord): void {
    const at = this.room(MREC_MAX_PADDED);
    const padded = encodeMRecordInto(r, this.buf, this.dv, at);
    this.fill = at + padded;
    this.bytesWritten += padded;
    this.countType(r.type, r.type === HAMMER_MREC_TYPE_REC ? r.flags : 0, r.type === HAMMER_MREC_TYPE_REC ? r.payload.length : 0);
  }

  private countType(t: number, flags: number, payload: number): void {
    const c = this.counts;
    switch (t) {
      case HAMMER_MREC_TYPE_REC: c.rec++; c.payloadBytes += payload; if (flags & HAMMER_MRECF_CRC_ERROR) c.crcError++; break;
      case HAMMER_MREC_TYPE_PASS: c.pass++; break;
      case HAMMER_MREC_TYPE_SKIP: c.skip++; break;
      case HAMMER_MREC_TYPE_PFSD: c.pfsd++; break;
      case HAMMER_MREC_TYPE_SYNC: c.sync++; break;
      case HAMMER_MREC_TYPE_IDLE: c.idle++; break;
      case HAMMER_MREC_TYPE_TERM: c.term++; break;
      case HAMMER_MREC_TYPE_UPDATE: c.update++; break;
    }
  }

  /**
   * REC from a raw leaf element at (dv, at): the 64 bytes are copied as they are, except that
   * delete_tid is written as 0 when `clearDeleteTid` (deleted after the batch's tid_end).
   * `payload` is data_len bytes (zeros for a zero-fill leaf). flags: CRC_ERROR | DATA_CRC_BAD for
   * a payload that failed its CRC on the source.
   */
  recFromLeaf(dv: DataView, at: number, payload: Uint8Array, flags: number, clearDeleteTid: boolean): void {
    const recSize = MREC_REC_HEAD_SIZE + payload.length;
    const o = this.room(headDoAlign(recSize));
    writeMRecordHead(this.dv, o, recSize, (HAMMER_MREC_TYPE_REC | flags) >>> 0);
    this.copyLeaf(dv, at, o + MREC_REC.leaf);
    if (clearDeleteTid) setU64(this.dv, o + MREC_REC.leaf + ELM.deleteTid, 0n);
    this.buf.set(payload, o + MREC_REC.payload);
    this.commit(o, recSize);
    this.counts.rec++;
    this.counts.payloadBytes += payload.length;
    if (flags & HAMMER_MRECF_CRC_ERROR) this.counts.crcError++;
  }

  /** PASS from a raw leaf element: copied verbatim (delete_tid is not cleared), no payload. */
  passFromLeaf(dv: DataView, at: number): void {
    const o = this.room(headDoAlign(MREC_PASS_SIZE));
    writeMRecordHead(this.dv, o, MREC_PASS_SIZE, HAMMER_MREC_TYPE_PASS);
    this.copyLeaf(dv, at, o + MREC_REC.leaf);
    this.commit(o, MREC_PASS_SIZE);
    this.counts.pass++;
  }

  private copyLeaf(dv: DataView, at: number, to: number): void {
    const src = new Uint8Array(dv.buffer, dv.byteOffset + at, HAMMER_BTREE_ELM_SIZE);
    this.buf.set(src, to);
  }

  skip(beg: BaseElm, end: BaseElm): void {
    const o = this.room(MREC_SKIP_SIZE);
    writeMRecordHead(this.dv, o, MREC_SKIP_SIZE, HAMMER_MREC_TYPE_SKIP);
    encodeBaseElm(beg, this.dv, o + MREC_SKIP.skipBeg);
    encodeBaseElm(end, this.dv, o + MREC_SKIP.skipEnd);
    this.commit(o, MREC_SKIP_SIZE);
    this.counts.skip++;
  }

  /** PFSD with the 292 raw bytes of hammer_pseudofs_data. */
  pfsd(pfsd: Uint8Array, version = MREC_PFSD_VERSION): void {
    const o = this.room(headDoAlign(MREC_PFSD_SIZE));
    writeMRecordHead(this.dv, o, MREC_PFSD_SIZE, HAMMER_MREC_TYPE_PFSD);
    this.dv.setUint32(o + MREC_PFSD.version, version, LE);
    this.dv.setUint32(o + MREC_PFSD.reserved, 0, LE);
    this.buf.fill(0, o + MREC_PFSD.pfsd, o + MREC_PFSD.pfsd + HAMMER_PFS_DATA_SIZE);
    this.buf.set(pfsd.subarray(0, HAMMER_PFS_DATA_SIZE), o + MREC_PFSD.pfsd);
    this.commit(o, MREC_PFSD_SIZE);
    this.counts.pfsd++;
  }

  update(tid: bigint): void {
    const o = this.room(MREC_UPDATE_SIZE);
    writeMRecordHead(this.dv, o, MREC_UPDATE_SIZE, HAMMER_MREC_TYPE_UPDATE);
    setU64(this.dv, o + MREC_UPDATE.tid, tid);
    this.commit(o, MREC_UPDATE_SIZE);
    this.counts.update++;
  }

  private bare(t: number): void {
    const o = this.room(MREC_BARE_SIZE);
    writeMRecordHead(this.dv, o, MREC_BARE_SIZE, t);
    this.commit(o, MREC_BARE_SIZE);
    this.countType(t, 0, 0);
  }
  sync(): void { this.bare(HAMMER_MREC_TYPE_SYNC); }
  idle(): void { this.bare(HAMMER_MREC_TYPE_IDLE); }
  term(): void { this.bare(HAMMER_MREC_TYPE_TERM); }

  /** Hand buffered bytes to the sink. */
  flush(): void {
    if (this.fill > 0) this.sink.write(this.buf.subarray(0, this.fill));
    this.fill = 0;
  }
}
