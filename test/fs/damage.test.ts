// Damaged records give typed errors naming the record, never TypeError/RangeError: a flipped byte
// in file data (data CRC) and in an inode payload, on a private copy of content-v7. With verifyData off the bytes are returned as stored.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openVolumeSet, type VolumeSet } from '../../src/volume/volume-set.js';
import { HammerFs } from '../../src/fs/index.js';
import { CrcMismatchError, HammerError } from '../../src/errors.js';
import { copyImage, goldenJson, flipByte } from '../helpers/images.js';

const M = goldenJson('content-v7.manifest.json');
const LAST = M.generations[M.generations.length - 1].tid;
let img: ReturnType<typeof copyImage>;

/** Flip one byte at HAMMER offset `off` of the copy. */
function flip(vs: VolumeSet, off: bigint): void {
  const loc = vs.locate(off);
  flipByte(img.paths[loc.vol], loc.pos, 0x5a);
}

beforeAll(() => {
  img = copyImage('content-v7');
});
afterAll(() => img.cleanup());

describe('damaged payloads', () => {
  it('file data and inode payload: typed errors with a location', () => {
    const file = Object.entries(M.trees[LAST]['0']).find(([p, m]: [string, any]) => m.type === 'file' && m.size > 20000 && p.startsWith('/level-1/'))![0];
    let vs = openVolumeSet(img.paths);
    let h = HammerFs.open(vs);
    const ino = h.stat(file);
    const rec = h.dataRecords(ino)[1];
    const inoOff = ino.dataOffset;
    vs.close();

    flip(openVolumeSet(img.paths), rec.dataOffset + 100n);
    vs = openVolumeSet(img.paths);
    h = HammerFs.open(vs);
    const e1 = (() => {
      try {
        h.read(h.stat(file), 0, Number(ino.size));
      } catch (e) {
        return e;
      }
    })();
    expect(e1).toBeInstanceOf(CrcMismatchError);
    expect((e1 as CrcMismatchError).where.hammerOff).toBeDefined();
    // verification off: the stored (damaged) bytes come back
    const raw = HammerFs.open(vs, { verifyData: false });
    expect(raw.read(raw.stat(file), 0, Number(ino.size)).length).toBe(Number(ino.size));
    vs.close();

    flip(openVolumeSet(img.paths), inoOff + 8n);
    vs = openVolumeSet(img.paths);
    h = HammerFs.open(vs);
    expect(() => h.stat(file)).toThrow(HammerError);
    expect(() => h.stat(file)).toThrow(CrcMismatchError);
    vs.close();
  });
});
