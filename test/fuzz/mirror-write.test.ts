// mirror-write of hostile streams (fuzz/mirror-write-target.ts): real short streams apply into a
// new slave PFS; records that claim another PFS's localization, or lie about their keys, land in
// the target PFS or are refused, and never change anything outside it or write outside the volume.
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { HammerError } from '../../src/errors.js';
import { mirrorWriteTarget } from '../../fuzz/mirror-write-target.js';
import { InvariantError, tolerate } from '../../fuzz/targets.js';
import { loadSamples } from '../../fuzz/samples.js';
import { imagePaths } from '../helpers/images.js';

const seeds = mirrorWriteTarget.seeds(loadSamples(path.dirname(imagePaths('content-v7')[0]), ['content-v7']));

/** Byte positions of the REC records of a stream. */
function recPositions(b: Uint8Array): number[] {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: number[] = [];
  for (let p = 0; p + 16 <= b.length;) {
    if ((dv.getUint32(p + 12, true) & 0xff) === 1) out.push(p);
    p += (dv.getUint32(p + 8, true) + 7) & ~7;
  }
  return out;
}

describe('mirror-write of hostile streams', () => {
  it('real streams apply into the new slave', () => {
    expect(seeds.length).toBeGreaterThan(3);
    for (const s of seeds.slice(0, 4)) mirrorWriteTarget.run(s);
  });

  const lies: [string, (dv: DataView, leaf: number) => void][] = [
    ['records claiming PFS 0 (the root inode)', (dv, l) => { dv.setUint32(l + 0x24, 0x00000001, true); dv.setBigInt64(l, 1n, true); }],
    ['records claiming PFS 1', (dv, l) => dv.setUint32(l + 0x24, (1 << 16) | (dv.getUint32(l + 0x24, true) & 0xffff), true)],
    ['records with create_tid 0 and delete_tid below it', (dv, l) => { dv.setBigUint64(l + 0x10, 0n, true); dv.setBigUint64(l + 0x18, 1n, true); }],
    ['records with a data_len past the record', (dv, l) => dv.setInt32(l + 0x38, 60000, true)],
    ['records whose keys go backwards', (dv, l) => dv.setBigInt64(l, -5n, true)],
  ];
  for (const [what, edit] of lies) {
    it(`${what}: typed result, nothing outside the target changes`, () => {
      for (const s of seeds.slice(0, 3)) {
        const b = s.slice();
        const dv = new DataView(b.buffer);
        for (const p of recPositions(b)) edit(dv, p + 16);
        const r = tolerate(() => mirrorWriteTarget.run(b)); // record CRCs are resealed by the target
        expect(r).not.toBeInstanceOf(InvariantError);
        if (r !== undefined) expect(r).toBeInstanceOf(HammerError);
      }
    });
  }
});
