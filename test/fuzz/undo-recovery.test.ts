// UNDO recovery on hostile FIFO contents (fuzz/undo-target.ts): the seeds really roll records
// back, and records that point outside the volume, past the header or at another volume are
// refused with a HammerError before anything is written. Every write of every run must land in
// the volume header or the buffer area.
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { HammerError } from '../../src/errors.js';
import { encodeUndo, encodePad } from '../../src/ondisk/fifo.js';
import { undoTarget } from '../../fuzz/undo-target.js';
import * as undo from '../../fuzz/undo-target.js';
import { tolerate } from '../../fuzz/targets.js';
import { loadSamples } from '../../fuzz/samples.js';
import { imagePaths } from '../helpers/images.js';

const seeds = undoTarget.seeds(loadSamples(path.dirname(imagePaths('demo-v7')[0]), ['demo-v7']));

/** An input holding one UNDO record (seq 8, right after newfs's DUMMY 7) and a PAD. */
function one(undoOffset: bigint, payload: Uint8Array): Uint8Array {
  const rec = encodeUndo(undoOffset, payload, 8, 7);
  const b = new Uint8Array(4 + 512);
  new DataView(b.buffer).setUint32(0, 4096 + 512, true);
  b.set(rec, 4);
  b.set(encodePad(512 - rec.length), 4 + rec.length);
  return b;
}

describe('UNDO recovery on hostile FIFOs', () => {
  it('the seeds roll back 1, 2 and 3 records', () => {
    expect(seeds.length).toBe(3);
    seeds.forEach((s, i) => {
      undoTarget.run(s);
      expect(undo.lastRecovery?.undone).toBe(i + 1);
    });
  });

  const lies: [string, bigint][] = [
    ['a zone-2 offset past the end of the buffer area', (2n << 60n) | 0x0000000fff000000n],
    ['a zone-2 offset on volume 5', (2n << 60n) | (5n << 52n) | 0x1000n],
    ['volume header bytes past the header (zone 1, byte 1900 + 64)', (1n << 60n) | 1900n],
    ['a zone-8 target (UNDO only restores zone 2 and headers)', (8n << 60n) | 0x21000000n],
    ['a record crossing a 16 KiB buffer', (2n << 60n) | 0x1003fe0n],
  ];
  for (const [what, off] of lies) {
    it(`refuses ${what}`, () => {
      const r = tolerate(() => undoTarget.run(one(off, new Uint8Array(64).fill(0x5a))));
      expect(r).toBeInstanceOf(HammerError);
      expect(undo.lastRecovery).toBeNull();
    });
  }
});
