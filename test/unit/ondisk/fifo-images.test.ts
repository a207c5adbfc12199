/**
 * The UNDO FIFO of the newfs images: every one of the 1,048,576 512-byte records passes the
 * structural/CRC check, decodes as a DUMMY with hdr_seq = slot, and re-encodes byte for byte
 * (encodeDummy) — sampled every 1021st record plus the first and last, CRC-32C (v7) and CRC-32 (v6).
 */
import { describe, expect, it } from 'vitest';
import { imagePaths, goldenJson } from '../../helpers/images.js';
import { openVolumeSet } from '../../../src/volume/volume-set.js';
import { fifoRecordProblem, decodeFifoRecord, encodeDummy, fifoRecordCrcVerdict } from '../../../src/ondisk/fifo.js';
import { HAMMER_ZONE_UNDO_INDEX, HAMMER_OFF_SHORT_MASK } from '../../../src/ondisk/constants.js';

describe.each(['demo-v7', 'v6'] as const)('UNDO FIFO of %s', (name) => {
  it('every record checks, decodes and (sampled) re-encodes', () => {
    const facts = goldenJson(`${name}.facts.json`);
    const vs = openVolumeSet(imagePaths(name));
    try {
      const bm = vs.root.blockmap[HAMMER_ZONE_UNDO_INDEX];
      const total = Number(bm.allocOffset & HAMMER_OFF_SHORT_MASK);
      const base = bm.allocOffset & ~HAMMER_OFF_SHORT_MASK;
      const CHUNK = 1 << 20;
      let n = 0;
      const samples: Record<number, string> = {};
      for (const s of facts.undo.samples) samples[s.index] = s.hdr_crc;
      for (let off = 0; off < total; off += CHUNK) {
        const loc = vs.locate(vs.toZone2(base + BigInt(off)), CHUNK);
        const chunk = vs.readRaw(loc.vol, loc.pos, CHUNK);
        for (let at = 0; at < CHUNK; at += 512, n++) {
          const p = fifoRecordProblem(chunk, at, CHUNK, vs.version);
          if (p !== null) throw new Error(`record ${n}: ${p}`);
          if (n % 1021 === 0 || n === total / 512 - 1 || samples[n]) {
            const rec = decodeFifoRecord(chunk, at, { structure: 'UNDO record' });
            expect(rec.kind).toBe('dummy');
            expect(rec.head.seq).toBe(n);
            const raw = chunk.subarray(at, at + 512);
            expect(Buffer.from(encodeDummy(512, n, vs.version)).equals(Buffer.from(raw))).toBe(true);
            expect(fifoRecordCrcVerdict(raw, vs.version)).toBe(vs.version >= 7 ? 'crc32c' : 'crc32');
            if (samples[n]) expect(rec.head.crc.toString(16).padStart(8, '0')).toBe(samples[n]);
          }
        }
      }
      expect(n).toBe(facts.undo.records);
    } finally {
      vs.close();
    }
  });
});
