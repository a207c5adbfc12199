/**
 * UNDO recovery on hostile FIFO contents: the one place where bytes read from the media decide
 * where the tool writes. The input is laid over the UNDO FIFO of demo-v7 from sector 8 on (after
 * newfs's DUMMY record with seq 7) with the header's first_offset there and next_offset taken from
 * the input's first four bytes; then the set is opened for writing, which runs recovery, on a
 * device that keeps writes in memory and records them.
 *
 * Invariants: value or HammerError, and every write lands in the volume header (bytes 0..1927) or
 * inside the buffer area [vol_buf_beg, vol_buf_end): never the boot area, the memory log, or past
 * the end.
 */
import * as path from 'node:path';
import * as os from 'node:os';
import { openDevice, type BlockDevice, type WritableBlockDevice } from '../src/io/device.js';
import { CowDevice } from '../src/io/device-filter.js';
import { WritableVolumeSet } from '../src/volume/writable-volume-set.js';
import { encodeUndo, encodePad, encodeDummy, fifoRecordCrc } from '../src/ondisk/fifo.js';
import { VOL, decodeVolumeHeader } from '../src/ondisk/volume-header.js';
import { HAMMER_VOLUME_HEADER_SIZE, HAMMER_ZONE_UNDO_INDEX, HAMMER_BLOCKMAP_ENTRY_SIZE } from '../src/ondisk/constants.js';
import { InvariantError, type FuzzTarget } from './targets.js';
import type { Samples } from './samples.js';

/** Writable view of a read-only image: writes stay in memory (16 KiB pages) and are logged. */
export class WriteOverlay extends CowDevice {
  constructor(inner: BlockDevice) {
    super(inner, 16384);
  }
}

/** What the last run's recovery did (tests check the seeds really exercise it). */
export let lastRecovery: WritableVolumeSet['recovery'] = null;

interface Ctx { inner: BlockDevice; header: Uint8Array; fifoPos: number }
let ctx: Ctx | undefined;
const FIRST = 8 * 512;

function context(dir?: string): Ctx {
  if (ctx) return ctx;
  const d = dir ?? process.env.HAMMERFS_IMAGE_CACHE ?? path.join(os.tmpdir(), 'hammerfs-images');
  const inner = openDevice(path.join(d, 'demo-v7.img'), { lock: 'none' });
  const header = inner.read(0, HAMMER_VOLUME_HEADER_SIZE);
  const h = decodeVolumeHeader(header, { structure: 'volume header' });
  // FIFO position 0 is the start of the first UNDO big-block (vol0_undo_array[0], zone 2).
  const fifoPos = h.bufBeg + Number(h.undoArray[0] & 0x000fffffffffffffn);
  ctx = { inner, header, fifoPos };
  return ctx;
}

/** Seeds: UNDO records (seq 8, 9, ...) each in its own sector, restoring real bytes. */
function seeds(): Uint8Array[] {
  const c = context();
  const h = decodeVolumeHeader(c.header, { structure: 'volume header' });
  const root = h.btreeRoot & 0x0fffffffffffffffn; // zone-8 -> zone-2 by replacing the zone nibble
  const z2root = (2n << 60n) | root;
  const recs = [
    encodeUndo(z2root + 64n, new Uint8Array(64).fill(0xab), 8, h.version),
    encodeUndo((1n << 60n) | BigInt(VOL.label), new TextEncoder().encode('UNDONE\0\0'), 9, h.version),
    encodeUndo(z2root, c.inner.read(h.bufBeg + Number(root & 0x000fffffffffffffn), 128), 10, h.version),
  ];
  const out: Uint8Array[] = [];
  for (let n = 1; n <= recs.length; n++) {
    const b = new Uint8Array(4 + n * 512);
    new DataView(b.buffer).setUint32(0, FIRST + n * 512, true);
    // As a writer lays them: one record per sector, a PAD to the sector's end.
    for (let i = 0; i < n; i++) {
      b.set(recs[i], 4 + i * 512);
      b.set(encodePad(512 - recs[i].length), 4 + i * 512 + recs[i].length);
    }
    out.push(b);
  }
  return out;
}

/**
 * A copy of the FIFO bytes with every record's CRC recomputed, so that a mutated target offset or
 * length reaches recovery instead of dying at the CRC check (which the fifo target covers).
 */
function resealed(b: Uint8Array): Uint8Array {
  const o = b.slice();
  const dv = new DataView(o.buffer);
  let p = 0;
  while (p + 16 <= o.length) {
    const sig = dv.getUint16(p, true), type = dv.getUint16(p + 2, true), size = dv.getUint32(p + 4, true);
    const ok = sig === 0xc84e && size >= 16 && size % 8 === 0 && p + size <= o.length && (p % 512) + size <= 512;
    if (!ok) {
      p = (Math.floor(p / 512) + 1) * 512;
      continue;
    }
    if (type !== 0x8040) dv.setUint32(p + 12, fifoRecordCrc(o.subarray(p, p + size), 'crc32c'), true);
    p += size;
  }
  return o;
}

export const undoTarget: FuzzTarget = {
  name: 'undo-recovery',
  covers: 'open for writing on a hostile UNDO FIFO (record CRCs resealed after mutation): recovery scan (seq numbers, PAD/tails), record checks, and where the restored bytes are written',
  maxLen: 4 + 16384,
  seeds: (s: Samples) => {
    context(s.dir);
    return seeds();
  },
  run(input) {
    const c = context();
    const dev = new WriteOverlay(c.inner);
    const hdr = c.header.slice();
    const dv = new DataView(hdr.buffer);
    const next = input.length >= 4 ? new DataView(input.buffer, input.byteOffset, 4).getUint32(0, true) % (1 << 20) : FIRST;
    const bm = VOL.blockmap + HAMMER_ZONE_UNDO_INDEX * HAMMER_BLOCKMAP_ENTRY_SIZE;
    dv.setBigUint64(bm + 8, (3n << 60n) | BigInt(FIRST), true); // first_offset
    dv.setBigUint64(bm + 16, (3n << 60n) | BigInt(next & ~7), true); // next_offset
    dev.write(0, hdr);
    if (input.length > 4) dev.write(c.fifoPos + FIRST, resealed(input.subarray(4)));
    // newfs's DUMMY records carry consecutive sequence numbers, so a scan that reaches them would
    // follow all 512 MiB of them (linear, ~10 s: real, bounded, not what this target is about).
    // A sector with an out-of-sequence DUMMY right after the input keeps every run short.
    const brk = FIRST + Math.ceil(Math.max(0, input.length - 4) / 512) * 512;
    dev.write(c.fifoPos + brk, encodeDummy(512, 0x7fff0000, 7));
    dev.writes.length = 0;
    const h = decodeVolumeHeader(hdr, { structure: 'volume header' });
    lastRecovery = null;
    try {
      const vs = WritableVolumeSet.fromDevices([dev]);
      lastRecovery = vs.recovery;
      vs.close();
    } finally {
      for (const w of dev.writes) {
        const inHeader = w.pos >= 0 && w.pos + w.len <= HAMMER_VOLUME_HEADER_SIZE;
        const inBuffers = w.pos >= h.bufBeg && w.pos + w.len <= h.bufEnd;
        if (!inHeader && !inBuffers) throw new InvariantError(`recovery wrote ${w.len} bytes at device byte 0x${w.pos.toString(16)}, outside the header and the buffer area`);
      }
    }
  },
};
