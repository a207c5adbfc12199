/**
 * UNDO recovery, stage 1 (spec/UNDO.md §5.1): roll an interrupted commit back by copying the
 * logged old bytes over the metadata, newest record first, then close the FIFO range in the
 * root volume header (written last; the range is closed: first_offset = next_offset = end, unless
 * it holds REDO records). Runs on raw buffers before anything reads the B-Tree.
 * REDO records are tolerated (skipped); the newest REDO SYNC is reported because only a
 * filesystem layer could replay REDO (stage 2) — this library never writes REDO records.
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
}

/** Stage-1 recovery on a set opened for writing. Idempotent; a clean FIFO is left untouched. */
export function recoverUndo(vs: WritableVolumeSet): RecoveryResult {
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
  const res: RecoveryResult = { clean: true, first, last, undone: 0, bytes: 0, redoRecords: 0, redoSyncOffset: null, nextSeq: scan.nextSeq };
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
  // and the next flush closes it. We never replay REDO, so the range is closed here — unless it
  // holds REDO records, which a later kernel mount must still be able to replay.
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
  return res;
}
