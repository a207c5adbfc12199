/**
 * The UNDO/REDO FIFO as a sequence of records (spec/UNDO.md): positions are byte offsets from
 * the start of zone 3 (0 .. FIFO size), translated through vol0_undo_array. Shared by recovery
 * (stage-1 scan), the transaction's UNDO writer and show-undo.
 */
import { BadFieldError } from '../errors.js';
import {
  HAMMER_BUFSIZE, HAMMER_HEAD_SIGNATURE, HAMMER_HEAD_TYPE_PAD, HAMMER_ZONE_UNDO_INDEX, HAMMER_UNDO_ALIGN,
  HAMMER_FIFO_TAIL_SIZE, LE,
} from '../ondisk/constants.js';
import { decodeFifoRecord, encodeDummy, encodePad, fifoRecordProblem, type FifoRecord } from '../ondisk/fifo.js';
import { encodeOffset, shortOffset } from '../ondisk/offset.js';
import type { VolumeSet } from './volume-set.js';

/** Zone-3 encoded offset of a FIFO position. */
export const fifoOff = (pos: number): bigint => encodeOffset(HAMMER_ZONE_UNDO_INDEX, 0, pos);

/** FIFO size in bytes (vol0_blockmap[3].alloc_offset without the zone bits). */
export function fifoSize(vs: VolumeSet): number {
  return shortOffset(vs.root.blockmap[HAMMER_ZONE_UNDO_INDEX].allocOffset);
}

export interface ScannedRecord {
  pos: number;
  size: number;
  rec: FifoRecord | null;
  /** Why the bytes at pos are not a valid record (rec is null then). */
  problem: string | null;
}

/** Parse the record starting at `pos` (head first). */
export function recordAt(vs: VolumeSet, pos: number): ScannedRecord {
  const off = fifoOff(pos);
  const { buf, at } = vs.buffer(off, 8, { structure: 'UNDO FIFO', hammerOff: off });
  const problem = fifoRecordProblem(buf.bytes, at, HAMMER_BUFSIZE, vs.version);
  if (problem) return { pos, size: 0, rec: null, problem };
  const rec = decodeFifoRecord(buf.bytes, at, { structure: 'UNDO FIFO', hammerOff: off });
  return { pos, size: rec.head.size, rec, problem: null };
}

/**
 * Parse the record that ends at `end` (0 < end <= size), found through its tail as recovery's
 * backward walk does; an 8-byte PAD has no tail and is recognised by its head signature there.
 */
export function recordEndingAt(vs: VolumeSet, end: number): ScannedRecord {
  const off = fifoOff(end - HAMMER_FIFO_TAIL_SIZE);
  const { buf, at } = vs.buffer(off, HAMMER_FIFO_TAIL_SIZE, { structure: 'UNDO FIFO', hammerOff: off });
  const sig = buf.dv.getUint16(at, LE);
  let size: number;
  if (sig === HAMMER_HEAD_SIGNATURE && buf.dv.getUint16(at + 2, LE) === HAMMER_HEAD_TYPE_PAD && buf.dv.getUint32(at + 4, LE) === 8) size = 8;
  else size = buf.dv.getUint32(at + 4, LE);
  // A record never crosses a 16 KiB buffer, so its start lies in the same buffer as its tail.
  const bufStart = end - HAMMER_FIFO_TAIL_SIZE - ((end - HAMMER_FIFO_TAIL_SIZE) % HAMMER_BUFSIZE);
  if (size < 8 || size % 8 !== 0 || end - size < bufStart) return { pos: end, size: 0, rec: null, problem: `bad tail size ${size}` };
  const r = recordAt(vs, end - size);
  if (r.rec && r.size !== size) return { pos: end - size, size: 0, rec: null, problem: 'tail size does not match head' };
  return r;
}

export interface Stage1Scan {
  /** Sequence number of the last real record before `first` (null if none could be found). */
  seq0: number | null;
  /** End of the active range found by the sequence scan (FIFO position). */
  last: number;
  /** Next sequence number a writer must use. */
  nextSeq: number;
}

const wrap = (p: number, size: number) => (p >= size ? p - size : p);

/**
 * Sequence number of the last real (non-PAD) record ending at FIFO position `pos`, walking back
 * over PADs for at most `maxSteps` records (wrapping at the FIFO start); null if none is found.
 */
function seqBefore(vs: VolumeSet, pos: number, size: number, maxSteps: number): number | null {
  let p = pos === 0 ? size : pos;
  for (let steps = 0; steps < maxSteps; steps++) {
    const r = recordEndingAt(vs, p);
    if (!r.rec) return null;
    if (r.rec.kind !== 'pad') return r.rec.head.seq;
    p = r.pos === 0 ? size : r.pos;
  }
  return null;
}

/**
 * Stage-1 scan (UNDO.md §5.1): find seq0 behind `first`, then follow consecutive sequence
 * numbers forward; the end of the last in-sequence record is the true end of the active range.
 * Versions < 4 have no sequence numbers: the header's next_offset is authoritative.
 */
export function scanActiveRange(vs: VolumeSet, first: number, next: number): Stage1Scan {
  const size = fifoSize(vs);
  // seq0: walk back over PADs (at most one 16 KiB buffer's worth).
  const seq0 = seqBefore(vs, first, size, HAMMER_BUFSIZE / 8);
  if (vs.version < 4 || seq0 === null) {
    // Without a sequence anchor, trust the header (as versions < 4 always do).
    let nextSeq = seq0 === null ? 0 : (seq0 + 1) >>> 0;
    if (seq0 === null) {
      const r = recordAt(vs, first);
      if (r.rec && r.rec.kind !== 'pad') nextSeq = r.rec.head.seq >>> 0;
    }
    return { seq0, last: next, nextSeq };
  }
  let expected = (seq0 + 1) >>> 0;
  let pos = first;
  let end = first;
  let scanned = 0;
  while (scanned < size) {
    const r = recordAt(vs, pos);
    if (!r.rec) break;
    if (r.rec.kind !== 'pad') {
      if (r.rec.head.seq !== expected) break;
      expected = (expected + 1) >>> 0;
    }
    scanned += r.size;
    pos = wrap(pos + r.size, size);
    if (r.rec.kind !== 'pad') end = pos;
    if (pos === first) break;
  }
  return { seq0, last: end, nextSeq: expected };
}

/**
 * Cheap check for an interrupted commit, for read-only opens: does the record at first_offset
 * (after any PADs) continue the sequence of the record before it? That is exactly when the
 * stage-1 scan would find a non-empty range, without walking the whole range. Versions < 4
 * compare the header pointers. Reads at most two 16 KiB buffers; a FIFO too damaged to tell
 * counts as clean (the read path does not depend on it).
 */
export function fifoIsDirty(vs: VolumeSet): boolean {
  const bm = vs.root.blockmap[HAMMER_ZONE_UNDO_INDEX];
  if (bm.allocOffset === 0n || bm.firstOffset > bm.allocOffset || bm.nextOffset > bm.allocOffset) return false;
  const size = fifoSize(vs);
  if (size <= 0) return false;
  const first = shortOffset(bm.firstOffset) % size;
  const next = shortOffset(bm.nextOffset) % size;
  if (vs.version < 4) return first !== next;
  try {
    const seq0 = seqBefore(vs, first, size, HAMMER_UNDO_ALIGN / 8);
    if (seq0 === null) return first !== next;
    let pos = first;
    for (let steps = 0; steps < HAMMER_UNDO_ALIGN / 8; steps++) {
      const r = recordAt(vs, pos);
      if (!r.rec) return false;
      if (r.rec.kind !== 'pad') return r.rec.head.seq === ((seq0 + 1) >>> 0);
      pos = wrap(pos + r.size, size);
    }
    return false;
  } catch {
    return false;
  }
}

/** FIFO position of a zone-3 offset, or null if it is not one inside the FIFO. */
export function fifoPosition(vs: VolumeSet, off: bigint): number | null {
  if (off >> 60n !== BigInt(HAMMER_ZONE_UNDO_INDEX)) return null;
  const size = fifoSize(vs);
  const p = shortOffset(off);
  if (p > size || p % 8 !== 0) return null;
  return p === size ? 0 : p;
}

/** Bytes in [first, last) going forward with wrap-around. */
export function fifoSpan(first: number, last: number, size: number): number {
  return last >= first ? last - first : size - first + last;
}

/**
 * Assembles FIFO buffers for one commit: records are laid down from `pos`, never across a
 * 512-byte sector (a PAD fills the rest of a sector first); a buffer entered at its first byte is
 * formatted as 32 DUMMY sectors whose seq = (seq XOR 0x40000000) + i, so stale sectors can never
 * continue the live sequence. Nothing reaches the media until writeOut().
 */
export class FifoWriter {
  readonly size: number;
  private bufs = new Map<number, Uint8Array>();
  written = 0;
  records = 0;
  constructor(
    private readonly vs: VolumeSet,
    public pos: number,
    public seq: number,
  ) {
    this.size = fifoSize(vs);
    if (pos % 8 !== 0 || pos >= this.size) throw new BadFieldError(`UNDO append point ${pos} is not inside the FIFO`, { structure: 'UNDO FIFO', hammerOff: fifoOff(pos) });
  }
  /** Bytes left in the current 512-byte sector. */
  room(): number {
    return HAMMER_UNDO_ALIGN - (this.pos % HAMMER_UNDO_ALIGN);
  }
  private bufferFor(pos: number): Uint8Array {
    const base = pos - (pos % HAMMER_BUFSIZE);
    let b = this.bufs.get(base);
    if (!b) {
      if (pos === base) {
        b = new Uint8Array(HAMMER_BUFSIZE);
        const s0 = (this.seq ^ 0x40000000) >>> 0;
        for (let i = 0; i < HAMMER_BUFSIZE / HAMMER_UNDO_ALIGN; i++) {
          b.set(encodeDummy(HAMMER_UNDO_ALIGN, (s0 + i) >>> 0, this.vs.version), i * HAMMER_UNDO_ALIGN);
        }
      } else {
        b = this.vs.read(fifoOff(base), HAMMER_BUFSIZE).slice();
      }
      this.bufs.set(base, b);
    }
    return b;
  }
  private put(rec: Uint8Array): void {
    const b = this.bufferFor(this.pos);
    b.set(rec, this.pos % HAMMER_BUFSIZE);
    this.written += rec.length;
    this.pos = wrap(this.pos + rec.length, this.size);
  }
  /** Pad to the sector end when `need` bytes do not fit in it. */
  ensureRoom(need: number): void {
    const room = this.room();
    if (need > room) this.put(encodePad(room));
  }
  /** Append a record built by `make(seq)` (UNDO/REDO/DUMMY); returns its FIFO position. */
  append(size: number, make: (seq: number) => Uint8Array): number {
    if (size > HAMMER_UNDO_ALIGN) throw new BadFieldError(`FIFO record of ${size} bytes exceeds a sector`, { structure: 'UNDO FIFO' });
    this.ensureRoom(size);
    this.bufferFor(this.pos);
    const at = this.pos;
    const rec = make(this.seq);
    this.seq = (this.seq + 1) >>> 0;
    this.records++;
    this.put(rec);
    return at;
  }
  /** Fill the rest of the current sector with a PAD (not counted: the append point stays). */
  padTail(): void {
    const room = this.room();
    if (room === HAMMER_UNDO_ALIGN) return;
    const b = this.bufferFor(this.pos);
    b.set(encodePad(room), this.pos % HAMMER_BUFSIZE);
  }
  /** Write every assembled buffer to its volume (no fsync). */
  writeOut(): void {
    for (const [base, bytes] of this.bufs) {
      const loc = this.vs.locate(fifoOff(base), HAMMER_BUFSIZE, { structure: 'UNDO FIFO', hammerOff: fifoOff(base) });
      const dev = this.vs.volumes[loc.vol].device as unknown as { write(pos: number, d: Uint8Array): void };
      dev.write(loc.pos, bytes);
      this.vs.cache.update(loc.vol, loc.pos, bytes);
    }
  }
}
