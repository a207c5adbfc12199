// FileReader / HammerFs.readInto (the read hot path) against the content-v7 oracle: reads into
// dirty caller buffers at offsets, sequential reads that continue the cursor (also when they
// arrive slightly out of order, as FUSE read-ahead does), holes, CRC damage inside a run of
// back-to-back records, and the data CRC verdicts per volume set.
import * as fs from 'node:fs';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openVolumeSet, type VolumeSet } from '../../src/volume/volume-set.js';
import { HammerFs, type Inode } from '../../src/fs/index.js';
import { CrcMismatchError } from '../../src/errors.js';
import { imagePaths, goldenJson, copyImage, flipByte } from '../helpers/images.js';

interface MEntry { type: string; size: number; sha256?: string; data_records?: number }
const M = goldenJson('content-v7.manifest.json');
const latest: string = M.generations[M.generations.length - 1].tid;
const cur: Record<string, MEntry> = M.trees[latest]['0'];
const files = Object.entries(cur).filter(([, e]) => e.type === 'file').sort((a, b) => b[1].size - a[1].size);
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

let vs: VolumeSet;
let hfs: HammerFs;
beforeAll(() => {
  vs = openVolumeSet(imagePaths('content-v7'));
  hfs = HammerFs.open(vs);
});
afterAll(() => vs.close());

describe('FileReader', () => {
  it('reads into a dirty buffer at an offset, touching only the bytes it reports', () => {
    for (const [p, e] of [files[0], files.find(([q]) => q.startsWith('/sparse/'))!]) {
      const ino = hfs.stat(p);
      const buf = new Uint8Array(e.size + 64).fill(0xa5);
      expect(hfs.readInto(ino, 0, e.size + 1000, buf, 32)).toBe(e.size);
      expect(sha(buf.subarray(32, 32 + e.size))).toBe(e.sha256);
      expect(buf.subarray(0, 32).every((x) => x === 0xa5)).toBe(true);
      expect(buf.subarray(32 + e.size).every((x) => x === 0xa5)).toBe(true);
      expect(hfs.readInto(ino, e.size, 10, buf, 0)).toBe(0);
      expect(() => hfs.readInto(ino, 0, e.size, new Uint8Array(10))).toThrow();
    }
  });

  it('sequential reads continue the cursor (also out of order by a request), and match whole reads', () => {
    const [p, e] = files[0];
    const ino: Inode = hfs.stat(p);
    const whole = hfs.read(ino, 0, e.size);
    expect(sha(whole)).toBe(e.sha256);
    // Requests of 128 KiB, every other pair swapped (what several FUSE threads deliver).
    const chunk = 128 * 1024;
    const order: number[] = [];
    for (let off = 0; off < e.size; off += chunk) order.push(off);
    for (let i = 0; i + 1 < order.length; i += 4) [order[i], order[i + 1]] = [order[i + 1], order[i]];
    const readers = [hfs.reader(ino), hfs.reader(ino)];
    const out = new Uint8Array(e.size).fill(0x5a);
    const before = hfs.tree.nodesRead;
    let seeks = 0;
    for (const off of order) {
      const r = readers.find((x) => x.continues(off)) ?? readers.sort((a, b) => a.position - b.position)[0];
      if (!r.continues(off)) seeks++;
      r.readInto(off, chunk, out, off);
    }
    expect(sha(out)).toBe(e.sha256);
    // Only the first request of each reader descends from the root.
    expect(seeks).toBeLessThanOrEqual(2);
    const depthReads = hfs.tree.nodesRead - before;
    expect(depthReads).toBeLessThan(order.length * 2);
  });

  it('a flipped byte inside a run of back-to-back records fails with the leaf that owns it; a fresh set sees it, other files read', () => {
    const copy = copyImage('content-v7');
    try {
      const [p, e] = files[0];
      let v = openVolumeSet(copy.paths, { lock: 'none' });
      const f = HammerFs.open(v);
      const recs = f.dataRecords(f.stat(p));
      expect(recs.length).toBeGreaterThan(4);
      const rec = recs[3];
      const pos = v.locate(rec.dataOffset).pos + 1000;
      // Read once: the verdicts are cached in this set.
      expect(sha(f.read(f.stat(p), 0, e.size))).toBe(e.sha256);
      v.close();
      flipByte(copy.paths[0], pos, 0x10);
      v = openVolumeSet(copy.paths, { lock: 'none' });
      try {
        const g = HammerFs.open(v);
        const ino = g.stat(p);
        let err: unknown;
        try {
          g.read(ino, 0, e.size);
        } catch (x) {
          err = x;
        }
        expect(err).toBeInstanceOf(CrcMismatchError);
        expect((err as CrcMismatchError).where.structure).toBe('B-Tree leaf element');
        expect((err as CrcMismatchError).where.field).toBe('data_crc');
        // Bytes before the damaged record still read; a read of only part of it still fails.
        const before = Number(rec.offset);
        expect(sha(g.read(ino, 0, before))).toBe(sha(hfs.read(hfs.stat(p), 0, before)));
        expect(() => g.read(ino, before + 10, 20)).toThrow(CrcMismatchError);
        const [q, qe] = files[1];
        expect(sha(g.read(g.stat(q), 0, qe.size))).toBe(qe.sha256);
      } finally {
        v.close();
      }
    } finally {
      copy.cleanup();
    }
  });
});
