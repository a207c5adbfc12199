// Allocator rules on a real image: 16-byte rounding, no <=16 KiB allocation crossing a 16 KiB
// buffer, no larger one crossing a big-block, append-only, zone ownership, counters; and the
// B-Tree separator rule a < s <= b.
import { test, expect } from 'vitest';
import * as fc from 'fast-check';
import { copyImage } from '../helpers/images.js';
import { openVolumeSetForWrite } from '../../src/volume/writable-volume-set.js';
import { makeSeparator, recordDataCrc, writeRecordData } from '../../src/btree/modify.js';
import { cmpBaseElm, type BaseElm } from '../../src/ondisk/btree-elm.js';
import { HAMMER_BIGBLOCK_SIZE, HAMMER_RECTYPE_INODE, HAMMER_RECTYPE_DATA } from '../../src/ondisk/constants.js';
import { zoneOf, bigBlockBase, toZone2 } from '../../src/ondisk/offset.js';
import { mulberry32, readAll } from './workload.js';

test('allocations follow the alignment, append-only and ownership rules', () => {
  const img = copyImage('demo-v7');
  try {
    const vs = openVolumeSetForWrite(img.paths);
    const tx = vs.begin();
    const rng = mulberry32(11);
    const free0 = vs.root.statFreebigblocks;
    const taken = new Map<bigint, number>(); // big-block -> bytes
    let last = new Map<number, bigint>();
    for (let i = 0; i < 1500; i++) {
      const zone = [9, 10, 11][i % 3];
      const bytes = zone === 10 ? 16384 * (1 + Math.floor(rng() * 4)) : 1 + Math.floor(rng() * 16384);
      const off = tx.alloc(zone, bytes);
      const n = (bytes + 15) & ~15;
      expect(zoneOf(off)).toBe(zone);
      expect(Number(off & 15n)).toBe(0);
      const inBuf = Number(off & 16383n);
      if (n <= 16384) expect(inBuf + n).toBeLessThanOrEqual(16384);
      const inBB = Number(off & BigInt(HAMMER_BIGBLOCK_SIZE - 1));
      expect(inBB + n).toBeLessThanOrEqual(HAMMER_BIGBLOCK_SIZE);
      const prev = last.get(zone);
      if (prev !== undefined && bigBlockBase(prev) === bigBlockBase(off)) expect(off > prev).toBe(true); // append-only
      last.set(zone, off);
      const bb = toZone2(bigBlockBase(off));
      taken.set(bb, (taken.get(bb) ?? 0) + n);
      const l2 = vs.freemapLookup(off).layer2;
      expect(l2.zone).toBe(zone);
      expect(l2.appendOff).toBeGreaterThanOrEqual(inBB + n);
    }
    // the big-blocks taken from the free pool are exactly the counter's difference
    const fresh = [...taken.keys()].filter((bb) => vs.freemapLookup(bb).layer2.bytesFree === HAMMER_BIGBLOCK_SIZE - taken.get(bb)!);
    expect(free0 - vs.root.statFreebigblocks).toBe(BigInt(fresh.length));
    tx.abort();
    vs.close();
  } finally {
    img.cleanup();
  }
});

const arbKey = fc.record({
  localization: fc.constantFrom(1, 2, 0x10001, 0x10002, 0xffff0002),
  objId: fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }),
  recType: fc.constantFrom(1, 0x10, 0x11, 0x15),
  key: fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }),
  createTid: fc.bigInt({ min: 1n, max: (1n << 64n) - 1n }),
}).map((k): BaseElm => ({ ...k, deleteTid: 0n, objType: 0, btype: 0 }));

test('separators lie strictly above the left half and at or below the right half', () => {
  fc.assert(fc.property(arbKey, arbKey, (x, y) => {
    const c = cmpBaseElm(x, y);
    if (c === 0) return;
    const [a, b] = c < 0 ? [x, y] : [y, x];
    const s = makeSeparator(a, b);
    expect(cmpBaseElm(a, s)).toBeLessThan(0);
    expect(cmpBaseElm(s, b)).toBeLessThanOrEqual(0);
  }), { numRuns: 2000 });
});

test('record payload CRCs match what newfs_hammer wrote (INODE covers 112 bytes)', () => {
  for (const name of ['demo-v7', 'v6'] as const) {
    const img = copyImage(name);
    try {
      const vs = openVolumeSetForWrite(img.paths);
      for (const e of readAll(vs)) {
        const data = vs.read(e.dataOffset, e.dataLen);
        expect(recordDataCrc(vs.version, e.recType, data)).toBe(e.dataCrc);
      }
      const tx = vs.begin();
      const inode = vs.read(readAll(vs)[0].dataOffset, 128).slice();
      const d = writeRecordData(tx, HAMMER_RECTYPE_INODE, inode);
      expect(zoneOf(d.dataOffset)).toBe(9);
      expect(d.dataCrc).toBe(readAll(vs)[0].dataCrc);
      inode[120] ^= 0xff; // atime is outside the CRC
      expect(recordDataCrc(vs.version, HAMMER_RECTYPE_INODE, inode)).toBe(d.dataCrc);
      expect(zoneOf(writeRecordData(tx, HAMMER_RECTYPE_DATA, new Uint8Array(16384)).dataOffset)).toBe(10);
      expect(zoneOf(writeRecordData(tx, HAMMER_RECTYPE_DATA, new Uint8Array(8192)).dataOffset)).toBe(11);
      tx.abort();
      vs.close();
    } finally {
      img.cleanup();
    }
  }
});
