// Lays UNDO/REDO FIFO records down the way a DragonFly kernel does (spec/UNDO.md §2.4, §2.6):
// consecutive sequence numbers, no record across a 512-byte sector, REDO WRITE payloads split
// into records that fit a sector, SYNC records pointing back at the oldest REDO still needed.
// Positions are FIFO byte offsets (zone-3 offset without the zone bits).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FifoWriter, fifoOff, fifoSize, scanActiveRange } from '../../src/volume/undo-fifo.js';
import { encodeRedo, encodeUndo, fifoRecordCrc, undoRecordSize } from '../../src/ondisk/fifo.js';
import { crcAlgFor } from '../../src/ondisk/crc.js';
import {
  HAMMER_REDO_WRITE, HAMMER_REDO_TRUNC, HAMMER_REDO_TERM_WRITE, HAMMER_REDO_TERM_TRUNC, HAMMER_REDO_SYNC,
  HAMMER_ZONE_UNDO_INDEX, HAMMER_FIFO_REDO_HEAD_SIZE, HAMMER_FIFO_TAIL_SIZE, HAMMER_UNDO_ALIGN,
} from '../../src/ondisk/constants.js';
import { shortOffset } from '../../src/ondisk/offset.js';
import { setFifoRange } from '../../src/volume/recovery.js';
import type { WritableVolumeSet } from '../../src/volume/writable-volume-set.js';

/** Largest WRITE payload one REDO record can carry at a sector start. */
export const REDO_MAX_PAYLOAD = HAMMER_UNDO_ALIGN - HAMMER_FIFO_REDO_HEAD_SIZE - HAMMER_FIFO_TAIL_SIZE;

export function tmpDir(tag: string): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `hammerfs-redo-${tag}-`));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export interface LoggedRecord {
  pos: number;
  seq: number;
  size: number;
}

export class KernelLog {
  readonly w: FifoWriter;
  readonly records: LoggedRecord[] = [];
  /** REDO records laid down, by kind. */
  readonly count = { write: 0, trunc: 0, term: 0, sync: 0 };
  /** Where the log started (the FIFO's clean first_offset unless given). */
  readonly start: number;

  constructor(
    readonly vs: WritableVolumeSet,
    o: { at?: number; seq?: number } = {},
  ) {
    const bm = vs.root.blockmap[HAMMER_ZONE_UNDO_INDEX];
    const size = fifoSize(vs);
    const scan = scanActiveRange(vs, shortOffset(bm.firstOffset) % size, shortOffset(bm.nextOffset) % size);
    this.start = o.at ?? scan.last;
    this.w = new FifoWriter(vs, this.start, o.seq ?? scan.nextSeq);
  }

  get pos(): number {
    return this.w.pos;
  }
  get seq(): number {
    return this.w.seq;
  }

  private redo(flags: number, objId: bigint, offset: bigint, payload: Uint8Array, localization: number, dataBytes = payload.length): number {
    const size = HAMMER_FIFO_REDO_HEAD_SIZE + ((payload.length + 7) & ~7) + HAMMER_FIFO_TAIL_SIZE;
    const version = this.vs.version;
    const seq = this.w.seq;
    const at = this.w.append(size, (s) => {
      const rec = encodeRedo({ objId, offset, flags, localization, reserved01: 0, reserved02: 0n, payload }, s, version);
      if (dataBytes !== payload.length) {
        // TERM records carry the length of the committed range but no payload
        const dv = new DataView(rec.buffer, rec.byteOffset, rec.length);
        dv.setInt32(32, dataBytes, true);
        dv.setUint32(12, fifoRecordCrc(rec, crcAlgFor(version)), true);
      }
      return rec;
    });
    this.records.push({ pos: at, seq, size });
    return at;
  }

  /** A write() the kernel logged: one REDO WRITE per sector-sized piece. Returns the first record's position. */
  write(objId: bigint, offset: number, data: Uint8Array, localization = 0): number {
    let first = -1;
    for (let done = 0; done < data.length || done === 0; ) {
      // a record starting mid-sector carries what fits in the sector's remainder (the kernel's
      // split); with no room for any payload the sector is closed by a PAD first
      const room = this.w.room() - HAMMER_FIFO_REDO_HEAD_SIZE - HAMMER_FIFO_TAIL_SIZE;
      const n = Math.min(data.length - done, room > 0 ? room : REDO_MAX_PAYLOAD);
      const at = this.redo(HAMMER_REDO_WRITE, objId, BigInt(offset + done), data.subarray(done, done + n), localization);
      this.count.write++;
      if (first < 0) first = at;
      done += n;
      if (data.length === 0) break;
    }
    return first;
  }
  trunc(objId: bigint, size: number, localization = 0): number {
    this.count.trunc++;
    return this.redo(HAMMER_REDO_TRUNC, objId, BigInt(size), new Uint8Array(0), localization);
  }
  /** The flush committed the data record [offset, offset+bytes) (the kernel logs its base offset). */
  termWrite(objId: bigint, offset: number, bytes = 16384, localization = 0): number {
    this.count.term++;
    return this.redo(HAMMER_REDO_TERM_WRITE, objId, BigInt(offset), new Uint8Array(0), localization, bytes);
  }
  termTrunc(objId: bigint, size: number, localization = 0): number {
    this.count.term++;
    return this.redo(HAMMER_REDO_TERM_TRUNC, objId, BigInt(size), new Uint8Array(0), localization);
  }
  /** REDO SYNC: replay must begin at FIFO position `from`. */
  sync(from: number): number {
    this.count.sync++;
    return this.redo(HAMMER_REDO_SYNC, 0n, fifoOff(from), new Uint8Array(0), 0);
  }
  /** UNDO of `old` bytes at zone-2 offset `off` (split like the kernel: at most one sector each). */
  undo(off: bigint, old: Uint8Array): void {
    const version = this.vs.version;
    for (let done = 0; done < old.length; ) {
      if (this.w.room() < 48) this.w.ensureRoom(HAMMER_UNDO_ALIGN);
      const n = Math.min(old.length - done, this.w.room() - 40);
      const payload = old.subarray(done, done + n);
      const at = off + BigInt(done);
      const seq = this.w.seq;
      const pos = this.w.append(undoRecordSize(n), (s) => encodeUndo(at, payload, s, version));
      this.records.push({ pos, seq, size: undoRecordSize(n) });
      done += n;
    }
  }
  /** Write the FIFO buffers out (a PAD closes the current sector, as the kernel leaves it). */
  flush(): void {
    this.w.padTail();
    this.w.writeOut();
    this.vs.sync();
  }
  /** The crash: the header says [first, next) (next is only advisory from version 4 on). */
  crash(first: number, next: number = first): void {
    this.flush();
    setFifoRange(this.vs, first, next);
  }
}

export const pattern = (n: number, seed: number): Uint8Array => {
  const b = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
};
