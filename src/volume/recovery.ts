/**
 * UNDO recovery, stage 1 (spec/UNDO.md §5.1): roll an interrupted commit back by copying the
 * logged old bytes over the metadata, newest record first, then write the root volume header
 * (last) with next_offset = the true end of the range. Runs on raw buffers before anything
 * reads the B-Tree.
 *
 * Stage 1 also arms stage 2 (REDO, §5.2): the newest REDO SYNC met while walking backwards gives
 * the offset where REDO replay must begin. Stage 2 re-executes fsync'ed file writes through the
 * filesystem writer, which lives above this layer (src/fs/write/redo.ts); it plugs itself in
 * with registerRedoStage() and recoverUndo() runs it right after stage 1. While REDO records are
 * present the range stays open (first_offset kept) until stage 2 has committed its work, so a
 * crash during stage 2 replays everything again; stage 2 closes the FIFO at the end. Without a
 * registered stage 2 the range is left open for whoever can replay it.
 */
import { BadFieldError, IoError } from '../errors.js';
import {
  HAMMER_BUFSIZE, HAMMER_ZONE_RAW_BUFFER_INDEX, HAMMER_ZONE_RAW_VOLUME_INDEX, HAMMER_ZONE_UNDO_INDEX,
  HAMMER_VOLUME_HEADER_SIZE, HAMMER_REDO_SYNC,
} from '../ondisk/constants.js';
import { encodeVolumeHeader, sealVolumeHeader, decodeVolumeHeader } from '../ondisk/volume-header.js';
import { sealBlockmapEntry } from '../ondisk/blockmap.js';
import { shortOffset, volOf, zoneOf, encodeOffset } from '../ondisk/offset.js';
import { hex64 } from '../ondisk/int64.js';
import type { WritableBlockDevice } from '../io/device.js';
import { fifoSize, fifoSpan, recordEndingAt, scanActiveRange } from './undo-fifo.js';
import type { WritableVolumeSet } from './writable-volume-set.js';

/** What REDO recovery (stage 2) did; produced by the registered stage (src/fs/write/redo.ts). */
export interface RedoReport {
  /** False when nothing was replayed on purpose: no REDO SYNC, or the scan was aborted. */
  ran: boolean;
  /** redo_offset of the SYNC that armed the stage (zone-3 offset), or null. */
  extOffset: bigint | null;
  /** True when ext_offset lay before first_offset (the extended range was scanned backwards). */
  extended: boolean;
  /** Bytes of FIFO scanned before first_offset. */
  extBytes: number;
  /** TERM_WRITE / TERM_TRUNC records collected in the extended range. */
  termsCollected: number;
  writes: number;
  truncs: number;
  /** WRITE/TRUNC records executed, skipped because a TERM said they were committed, or failed. */
  replayed: number;
  skipped: number;
  failed: number;
  bytesWritten: number;
  /** Transactions committed by the replay. */
  commits: number;
  /** Why REDO was not (completely) replayed, if so. */
  aborted: string | null;
  ops: RedoOpReport[];
  /** True when `ops` was cut short (it lists at most a few thousand records). */
  opsTruncated: boolean;
  warnings: string[];
}
export interface RedoOpReport {
  /** Zone-3 offset of the REDO record. */
  fifoOffset: bigint;
  seq: number;
  kind: 'write' | 'trunc';
  objId: bigint;
  localization: number;
  /** WRITE: file offset; TRUNC: new size. */
  offset: bigint;
  bytes: number;
  action: 'replayed' | 'skipped' | 'failed';
  reason?: string;
}

/** Stage 2: called by recoverUndo() after stage 1 when the range held REDO records. */
export type RedoStage = (vs: WritableVolumeSet, stage1: RecoveryResult) => RedoReport;
let redoStage: RedoStage | null = null;
/** Plug in REDO recovery (src/fs/write/redo.ts does this when it is loaded). */
export function registerRedoStage(fn: RedoStage | null): void {
  redoStage = fn;
}
export function redoStageRegistered(): boolean {
  return redoStage !== null;
}

export interface RecoverOptions {
  /** Run the registered REDO stage after stage 1 (default true). */
  redo?: boolean;
}

export interface RecoveryResult {
  /** True when the FIFO range was empty and nothing was changed. */
  clean: boolean;
  first: number;
  last: number;
  /** UNDO records applied. */
  undone: number;
  /** Bytes restored. */
  bytes: number;
  redoRecords: number;
  /** redo_offset of the newest REDO SYNC met (stage 2 would start there), if any. */
  redoSyncOffset: bigint | null;
  /** Sequence number the next writer must use. */
  nextSeq: number;
  /** Sequence number of the last record before `first` (stage 2 counts down from it). */
  seq0: number | null;
  /** What stage 2 did (null: not run — clean FIFO, no REDO records, or no stage registered). */
  redo: RedoReport | null;
}

/** Stage-1 recovery on a set opened for writing. Idempotent; a clean FIFO is left untouched. */
export function recoverUndo(vs: WritableVolumeSet, o: RecoverOptions = {}): RecoveryResult {
  const bm = vs.root.blockmap[HAMMER_ZONE_UNDO_INDEX];
  const size = fifoSize(vs);
  const w = { structure: 'UNDO FIFO', volNo: 0, path: vs.volumes[0].device.path };
  if (bm.firstOffset > bm.allocOffset || bm.nextOffset > bm.allocOffset) {
    throw new BadFieldError(`UNDO first/next offset beyond the FIFO end ${hex64(bm.allocOffset)}`, { ...w, hammerOff: bm.firstOffset });
  }
  if (zoneOf(bm.firstOffset) !== HAMMER_ZONE_UNDO_INDEX || zoneOf(bm.nextOffset) !== HAMMER_ZONE_UNDO_INDEX) {
    throw new BadFieldError('UNDO first/next offset is not a zone-3 offset', { ...w, hammerOff: bm.firstOffset });
  }
  let first = shortOffset(bm.firstOffset);
  const next = shortOffset(bm.nextOffset);
  if (first === size) first = 0;
  const scan = scanActiveRange(vs, first, next === size ? 0 : next);
  const last = scan.last;
  const res: RecoveryResult = { clean: true, first, last, undone: 0, bytes: 0, redoRecords: 0, redoSyncOffset: null, nextSeq: scan.nextSeq, seq0: scan.seq0, redo: null };
  const span = fifoSpan(first, last, size);
  if (span === 0) return res;
  if (span > size) throw new IoError('UNDO range larger than the FIFO', w);
  res.clean = false;

  // Restored bytes collect in per-buffer copies; headers are patched as raw bytes.
  const bufs = new Map<string, { vol: number; pos: number; bytes: Uint8Array }>();
  const headers = new Map<number, Uint8Array>();
  const headerBytes = (vol: number) => {
    let h = headers.get(vol);
    if (!h) {
      if (!vs.volumes[vol]) throw new BadFieldError(`UNDO names volume ${vol}, which is not in this set`, w);
      h = vs.volumes[vol].device.read(0, HAMMER_VOLUME_HEADER_SIZE);
      headers.set(vol, h);
    }
    return h;
  };
  let p = last;
  let walked = 0;
  while (p !== first) {
    const r = recordEndingAt(vs, p === 0 ? size : p);
    if (!r.rec) throw new IoError(`UNDO FIFO damaged inside the active range (${r.problem})`, { ...w, hammerOff: encodeOffset(3, 0, p) });
    walked += r.size;
    if (walked > span) throw new IoError('UNDO backward walk overran the active range', w);
    if (r.rec.kind === 'undo') {
      const u = r.rec.undo;
      const zone = zoneOf(u.undoOffset);
      const rel = Number(u.undoOffset & BigInt(HAMMER_BUFSIZE - 1));
      if (rel + u.dataBytes > HAMMER_BUFSIZE) throw new IoError('UNDO record crosses a 16 KiB buffer', { ...w, hammerOff: u.undoOffset });
      if (zone === HAMMER_ZONE_RAW_BUFFER_INDEX) {
        const base = u.undoOffset - BigInt(rel);
        const loc = vs.locate(base, HAMMER_BUFSIZE, { structure: 'UNDO target', hammerOff: u.undoOffset });
        const k = `${loc.vol}:${loc.pos}`;
        let b = bufs.get(k);
        if (!b) {
          b = { vol: loc.vol, pos: loc.pos, bytes: vs.volumes[loc.vol].device.read(loc.pos, HAMMER_BUFSIZE) };
          bufs.set(k, b);
        }
        b.bytes.set(u.payload, rel);
      } else if (zone === HAMMER_ZONE_RAW_VOLUME_INDEX) {
        const h = headerBytes(volOf(u.undoOffset));
        if (rel + u.dataBytes > HAMMER_VOLUME_HEADER_SIZE) throw new IoError('UNDO of volume header bytes past the header', { ...w, hammerOff: u.undoOffset });
        h.set(u.payload, rel);
      } else {
        throw new IoError(`UNDO record targets zone ${zone}`, { ...w, hammerOff: u.undoOffset });
      }
      res.undone++;
      res.bytes += u.dataBytes;
    } else if (r.rec.kind === 'redo') {
      res.redoRecords++;
      if (res.redoSyncOffset === null && r.rec.redo.flags === HAMMER_REDO_SYNC) res.redoSyncOffset = r.rec.redo.offset;
    }
    p = r.pos;
  }
  for (const b of bufs.values()) (vs.volumes[b.vol].device as WritableBlockDevice).write(b.pos, b.bytes);
  vs.sync();
  // Other volumes' headers first, the root header (which closes the range) last.
  for (const [vol, h] of headers) {
    if (vol === 0) continue;
    const hd = decodeVolumeHeader(h, { structure: 'volume header', volNo: vol });
    const enc = encodeVolumeHeader(hd);
    sealVolumeHeader(enc, hd.version);
    vs.writeHeaderBytes(vol, enc);
  }
  vs.sync();
  const h0 = decodeVolumeHeader(headerBytes(0), { structure: 'volume header', volNo: 0 });
  const ub = h0.blockmap[HAMMER_ZONE_UNDO_INDEX];
  // The kernel leaves first_offset in place so that its REDO stage can still read the range,
  // and the flush that ends stage 2 closes it. Without REDO records there is nothing for stage 2
  // to do and the range is closed here; with them it stays open until stage 2 has committed.
  ub.firstOffset = encodeOffset(HAMMER_ZONE_UNDO_INDEX, 0, res.redoRecords ? first : last);
  ub.nextOffset = encodeOffset(HAMMER_ZONE_UNDO_INDEX, 0, last);
  sealBlockmapEntry(ub, h0.version);
  // TIDs are never reused after a rollback: keep the newest next_tid the media has seen.
  if (vs.root.nextTid > h0.nextTid) h0.nextTid = vs.root.nextTid;
  const enc0 = encodeVolumeHeader(h0);
  sealVolumeHeader(enc0, h0.version);
  vs.writeHeaderBytes(0, enc0);
  vs.sync();
  vs.reloadHeaders();
  if (res.redoRecords && o.redo !== false) {
    if (redoStage) res.redo = redoStage(vs, res);
    else if (res.redoSyncOffset !== null) {
      // a library caller that never loaded the REDO stage: the range stays open, but the next
      // commit will close it, so say what is at stake
      vs.warnings.push({
        code: 'W_REDO_NOT_REPLAYED',
        message: 'the UNDO FIFO holds REDO records (fsync\'ed writes) that were not replayed: load src/fs/write/redo.js before opening, or run `hammerfs replay-undo`, before committing anything',
        where: { ...w, hammerOff: res.redoSyncOffset },
      });
    }
  }
  return res;
}

/**
 * Set the root header's UNDO FIFO pointers (positions in the FIFO) and write the header. The
 * UNDO blockmap entry is never covered by UNDO, so this needs no transaction; REDO recovery uses
 * it to close the FIFO when its replay committed nothing (and tests to stage a crash).
 */
export function setFifoRange(vs: WritableVolumeSet, first: number, next: number): void {
  if (vs.tx) throw new BadFieldError('UNDO FIFO pointers cannot move while a transaction is open', { structure: 'UNDO FIFO', volNo: 0 });
  const size = fifoSize(vs);
  if (first < 0 || first >= size || next < 0 || next >= size || first % 8 || next % 8) {
    throw new BadFieldError(`UNDO FIFO range ${first}..${next} outside the FIFO`, { structure: 'UNDO FIFO', volNo: 0, path: vs.volumes[0].device.path });
  }
  const h = vs.root;
  const ub = h.blockmap[HAMMER_ZONE_UNDO_INDEX];
  ub.firstOffset = encodeOffset(HAMMER_ZONE_UNDO_INDEX, 0, first);
  ub.nextOffset = encodeOffset(HAMMER_ZONE_UNDO_INDEX, 0, next);
  sealBlockmapEntry(ub, h.version);
  const enc = encodeVolumeHeader(h);
  h.crc = sealVolumeHeader(enc, h.version);
  h.raw = enc.slice(0, HAMMER_VOLUME_HEADER_SIZE);
  vs.writeHeaderBytes(0, enc);
  vs.sync();
}
