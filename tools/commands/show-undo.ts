/**
 * hammerfs show-undo: the UNDO/REDO FIFO record by record, like hammer(8) show-undo — the
 * volume summary, then one line per record from zone-3 offset 0 to the FIFO end, ` >` marking
 * first_offset and ` <` next_offset. --json: NDJSON, one object per record (64-bit values as
 * "0x%016x"). --active: only the records of the active (uncommitted) range, found by the same
 * sequence scan recovery uses.
 */
import type { CommandModule } from 'yargs';
import { withVolumes, openReadOnly, run, type CommonArgs } from '../common.js';
import { Output, printNdjson } from '../output.js';
import { printVolumeSummary, volumeSummary } from '../format/header.js';
import {
  HAMMER_HEAD_TYPE_PAD, HAMMER_HEAD_TYPE_DUMMY, HAMMER_HEAD_TYPE_UNDO, HAMMER_HEAD_TYPE_REDO, HAMMER_UNDO_ALIGN,
  HAMMER_ZONE_UNDO_INDEX, LE,
} from '../../src/ondisk/constants.js';
import { hex64, hex32, u64, i64 } from '../../src/ondisk/int64.js';
import { shortOffset } from '../../src/ondisk/offset.js';
import { fifoOff, fifoSize, fifoSpan, scanActiveRange } from '../../src/volume/undo-fifo.js';

interface Args extends CommonArgs {
  active?: boolean;
}

export const showUndoCommand: CommandModule<object, Args> = {
  command: 'show-undo',
  describe: 'list the UNDO/REDO FIFO records (hammer show-undo); --json prints NDJSON',
  builder: (y) => withVolumes(y).option('active', { type: 'boolean', default: false, describe: 'only the active (not yet committed) range' }),
  handler: run<Args>((a) => {
    const vs = openReadOnly(a, { warnings: !a.json });
    try {
      const bm = vs.root.blockmap[HAMMER_ZONE_UNDO_INDEX];
      const size = fifoSize(vs);
      const first = shortOffset(bm.firstOffset), next = shortOffset(bm.nextOffset);
      let from = 0, count = size;
      if (a.active) {
        const scan = scanActiveRange(vs, first % size, next % size);
        from = first % size;
        count = fifoSpan(from, scan.last, size);
      }
      const o = new Output();
      if (!a.json) printVolumeSummary(o, volumeSummary(vs));
      let pos = from;
      let done = 0;
      while (done < count) {
        const off = fifoOff(pos);
        // 8 bytes always fit (records are 8-aligned); an 8-byte PAD may end its 16 KiB buffer
        const { buf, at } = vs.buffer(off, 8, { structure: 'UNDO FIFO', hammerOff: off });
        const dv = buf.dv;
        const type = dv.getUint16(at + 2, LE), sz = dv.getUint32(at + 4, LE);
        const seq = at + 12 <= buf.bytes.length ? dv.getUint32(at + 8, LE) : 0;
        const room = HAMMER_UNDO_ALIGN - (pos % HAMMER_UNDO_ALIGN);
        const illegal = sz % 8 !== 0 || sz === 0 || sz > room;
        const marks = (pos === first ? ' >' : '') + (pos === next ? ' <' : '');
        if (a.json) {
          const r: Record<string, unknown> = { offset: off, type: typeName(type), size: sz };
          if (type !== HAMMER_HEAD_TYPE_PAD) r.seq = seq;
          if (type === HAMMER_HEAD_TYPE_UNDO && !illegal) { r.undoOffset = u64(dv, at + 16); r.bytes = dv.getInt32(at + 24, LE); }
          if (type === HAMMER_HEAD_TYPE_REDO && !illegal) {
            r.redoOffset = u64(dv, at + 24); r.bytes = dv.getInt32(at + 32, LE); r.objId = i64(dv, at + 16);
            r.flags = dv.getUint32(at + 36, LE); r.localization = dv.getUint32(at + 40, LE);
          }
          if (pos === first) r.first = true;
          if (pos === next) r.next = true;
          if (illegal) r.illegal = true;
          printNdjson(r, o);
        } else {
          let s = `${hex64(off)} `;
          if (type === HAMMER_HEAD_TYPE_PAD) s += `PAD(${sz})`;
          else if (type === HAMMER_HEAD_TYPE_DUMMY) s += `DUMMY(${sz})\tseq=${hex32(seq)}`;
          else if (type === HAMMER_HEAD_TYPE_UNDO) s += `UNDO(${sz})\tseq=${hex32(seq)} offset=${hex64(u64(dv, at + 16))} bytes=${dv.getInt32(at + 24, LE)}`;
          else if (type === HAMMER_HEAD_TYPE_REDO) {
            s += `REDO(${sz})\tseq=${hex32(seq)} offset=${hex64(u64(dv, at + 24))} bytes=${dv.getInt32(at + 32, LE)} objid=${hex64(i64(dv, at + 16))} flags=${hex32(dv.getUint32(at + 36, LE))} lo=${hex32(dv.getUint32(at + 40, LE))}`;
          } else s += `${type.toString(16).padStart(4, '0')}(${sz})\tseq=${hex32(seq)}`;
          o.line(s + marks);
          if (illegal) o.line('Illegal size field, skipping to next boundary');
        }
        const step = illegal ? room : sz;
        pos += step;
        done += step;
        if (pos >= size) pos -= size;
      }
      o.flush();
    } finally {
      vs.close();
    }
  }),
};

function typeName(t: number): string {
  switch (t) {
    case HAMMER_HEAD_TYPE_PAD: return 'PAD';
    case HAMMER_HEAD_TYPE_DUMMY: return 'DUMMY';
    case HAMMER_HEAD_TYPE_UNDO: return 'UNDO';
    case HAMMER_HEAD_TYPE_REDO: return 'REDO';
    default: return `0x${t.toString(16).padStart(4, '0')}`;
  }
}
