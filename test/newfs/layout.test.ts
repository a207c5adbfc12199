/**
 * newfs rules beyond the four fixtures: UNDO sizing, geometry of big and multi-volume sets
 * (plan only, no writes), version-dependent details on small real images (cap_flags, CRC
 * algorithm, DUMMY FIFO for versions 1..3), the test-image helper, refusal to overwrite HAMMER,
 * bad options, and what newfs leaves untouched on a dirty target. The plans for 600 GiB and
 * 5 TiB + 3 GiB were checked byte for byte against DragonFly's newfs_hammer during development.
 */
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  makeTestImage, makeTestVolumes, newfsPaths, planNewfs, parseSize, sizeToStr, type NewfsTarget,
} from '../../src/volume/newfs.js';
import { ExistsError, UsageError } from '../../src/errors.js';
import { openVolumeSet } from '../../src/volume/volume-set.js';
import { BTree } from '../../src/btree/btree.js';
import { checkmap, scanBlockmap } from '../../src/btree/checkmap.js';
import { zoneUsage } from '../../src/volume/freemap.js';
import { btreeNodeCrcVerdict } from '../../src/ondisk/btree-node.js';
import { decodeInodeData } from '../../src/ondisk/inode-data.js';
import { decodePfsData } from '../../src/ondisk/pfs-data.js';
import { fifoRecordCrcVerdict, decodeFifoHead } from '../../src/ondisk/fifo.js';
import { tempDir } from './helpers.js';

const MiB = 1024 * 1024, GiB = 1024 * MiB, TiB = 1024 * GiB;
const BIG = 8 * MiB;
const file = (size: number, p = 'v.img'): NewfsTarget => ({ path: p, size, isBlockDevice: false });

describe('planNewfs: sizes and geometry', () => {
  it('UNDO defaults to max(512 MiB, 0.1% of volume 0), rounded up to 8 MiB, capped at 1 GiB', () => {
    expect(planNewfs([file(1 * GiB)], { label: 'A' }).undoSize).toBe(512 * MiB);
    expect(planNewfs([file(600 * GiB)], { label: 'A' }).undoSize).toBe(616 * MiB);
    expect(planNewfs([file(2 * TiB)], { label: 'A' }).undoSize).toBe(1 * GiB);
    // Only volume 0 counts.
    expect(planNewfs([file(1 * GiB), file(2 * TiB)], { label: 'A' }).undoSize).toBe(512 * MiB);
  });

  it('an explicit UNDO size is rounded up to whole big-blocks; below 512 MiB needs force; above 1 GiB never', () => {
    expect(planNewfs([file(1 * GiB)], { label: 'A', undoSize: 9 * MiB, force: true }).undoSize).toBe(16 * MiB);
    expect(planNewfs([file(1 * GiB)], { label: 'A', undoSize: 16 * 1024, force: true }).undoSize).toBe(8 * MiB);
    // 0 means "default" even when given (newfs_hammer -u 0 -f).
    expect(planNewfs([file(1 * GiB)], { label: 'A', undoSize: 0, force: true }).undoSize).toBe(512 * MiB);
    const r = planNewfs([file(1 * GiB)], { label: 'A', undoSize: 64 * MiB, force: true });
    expect(r.warnings.some((w) => /below the minimum/.test(w))).toBe(true);
    expect(() => planNewfs([file(1 * GiB)], { label: 'A', undoSize: 64 * MiB })).toThrow(UsageError);
    expect(() => planNewfs([file(4 * GiB)], { label: 'A', undoSize: 2 * GiB, force: true })).toThrow(/maximum UNDO/);
    expect(() => planNewfs([file(1 * GiB)], { label: 'A', undoSize: 8 * MiB + 1, force: true })).toThrow(/multiple of 16 KiB/);
  });

  it('lays out volume 0 as layer1, layer2, UNDO, B-Tree, meta (1 GiB, the fixtures)', () => {
    const r = planNewfs([file(1 * GiB)], { label: 'DEMO' });
    expect(r.volumes[0]).toMatchObject({ botBeg: 0x40000, memBeg: 0x48000, bufBeg: 0x88000, bufEnd: 0x40000000, bigBlocks: 127 });
    expect(r.bigBlocks).toBe(61n);
    expect(r.freeBigBlocks).toBe(59n);
    expect(r.btreeRoot).toBe(0x8000000021000000n);
    expect(r.inodeOffset).toBe(0x9000000021800000n);
    expect(r.pfsOffset).toBe(0x9000000021800080n);
    expect(r.totalPreallocated).toBe(66 * BIG);
    expect(r.nextTid).toBe(0x100000000n);
  });

  it('gives each 4 TiB of a volume its own layer2 big-block (5 TiB + 3 GiB)', () => {
    const r = planNewfs([file(5 * TiB), file(3 * GiB)], { label: 'T5' });
    const v0 = r.volumes[0];
    expect(v0.bigBlocks).toBe(655359);
    // layer1 + 2 layer2 + 128 UNDO (capped) + B-Tree + meta
    expect(r.undoSize).toBe(GiB);
    expect(r.totalPreallocated).toBe(131 * BIG);
    expect(r.btreeRoot).toBe(0x8000000000000000n + BigInt(131 * BIG));
    expect(v0.freeBigBlocks).toBe(655359 - 133);
    expect(r.volumes[1].freeBigBlocks).toBe(383 - 1);
    expect(r.freeBigBlocks).toBe(BigInt(655359 - 133 + 382));
    expect(r.bigBlocks).toBe(BigInt(655359 - 131 + 382));
  });

  it('honours boot area and memory log sizes', () => {
    const r = planNewfs([file(1 * GiB)], { label: 'A', bootSize: 64 * 1024, memlogSize: 512 * 1024 });
    expect(r.volumes[0]).toMatchObject({ botBeg: 0x40000, memBeg: 0x50000, bufBeg: 0xd0000 });
    expect(() => planNewfs([file(1 * GiB)], { label: 'A', bootSize: 16 * 1024 })).toThrow(/minimum boot area/);
    expect(planNewfs([file(1 * GiB)], { label: 'A', bootSize: 0, force: true }).volumes[0].memBeg).toBe(0x40000);
    expect(() => planNewfs([file(1 * GiB)], { label: 'A', memlogSize: 65 * GiB })).toThrow(/maximum memory log/);
  });

  it('refuses bad options and volumes too small, with typed errors', () => {
    const bad = (t: NewfsTarget[], o: Parameters<typeof planNewfs>[1], re: RegExp) => {
      let err: unknown;
      try {
        planNewfs(t, o);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(UsageError);
      expect((err as Error).message).toMatch(re);
    };
    bad([file(GiB)], { label: '' }, /label/);
    bad([file(GiB)], { label: 'A', version: 0 }, /version 0/);
    bad([file(GiB)], { label: 'A', version: 8 }, /version 8/);
    bad([file(GiB)], { label: 'A', version: 6.5 }, /version/);
    bad([], { label: 'A' }, /at least one volume/);
    bad(Array.from({ length: 257 }, (_, i) => file(GiB, `v${i}`)), { label: 'A' }, /maximum number of volumes/);
    bad([file(300 * 1024)], { label: 'A' }, /too small to hold the volume header/);
    bad([file(MiB)], { label: 'A' }, /ran out of room/);
    // 768 MiB volumes are the smallest that hold the default 512 MiB FIFO; 512 MiB is not enough.
    bad([file(512 * MiB), file(GiB)], { label: 'A' }, /ran out of room.*vol 0/);
    // With an 8 MiB FIFO, volume 0 needs 5 big-blocks after the 544 KiB of header, boot and memory log.
    const min = 5 * BIG + 0x88000;
    expect(planNewfs([file(min)], { label: 'A', undoSize: BIG, force: true }).freeBigBlocks).toBe(0n);
    bad([file(min - 16384)], { label: 'A', undoSize: BIG, force: true }, /ran out of room/);
    // A further volume needs one big-block for its layer2.
    bad([file(GiB), file(BIG)], { label: 'A' }, /ran out of room.*vol 1/);
  });
});

describe('images made by newfs', () => {
  it('makeTestImage makes a small sparse image quickly that the read path accepts as clean', () => {
    const t = tempDir('small');
    try {
      const p = path.join(t.dir, 'small.img');
      const t0 = Date.now();
      const r = makeTestImage(p, { size: 64 * MiB });
      expect(Date.now() - t0).toBeLessThan(10_000);
      expect(fs.statSync(p).size).toBe(64 * MiB);
      // layer1 + layer2 + one UNDO big-block are all that is written in full
      expect(fs.statSync(p).blocks * 512).toBeLessThan(26 * MiB);
      expect(r).toMatchObject({ version: 7, label: 'TEST', undoSize: 8 * MiB, bigBlocks: 4n, freeBigBlocks: 2n });
      const vs = openVolumeSet([p], { lock: 'none' });
      try {
        expect(vs.warnings).toEqual([]);
        expect(checkmap(new BTree(vs)).errors).toBe(0);
        const z = new Map(zoneUsage(vs).map((u) => [u.zone, u.bigBlocks]));
        expect([z.get(4), z.get(3), z.get(8), z.get(9), z.get(0)]).toEqual([2, 1, 1, 1, 2]);
      } finally {
        vs.close();
      }
    } finally {
      t.cleanup();
    }
  });

  it('formats every version 1..7 with the right cap_flags, CRC algorithm and a DUMMY FIFO', () => {
    const t = tempDir('versions');
    try {
      for (let version = 1; version <= 7; version++) {
        const p = path.join(t.dir, `v${version}.img`);
        const r = makeTestImage(p, { size: 48 * MiB, version, label: `V${version}`, timeUs: 1795503794123456n });
        const vs = openVolumeSet([p], { lock: 'none' });
        try {
          expect(vs.version).toBe(version);
          expect(vs.warnings).toEqual([]);
          const node = new BTree(vs).node(vs.root.btreeRoot);
          expect(btreeNodeCrcVerdict(node.bytes, 0, version)).toBe(version >= 7 ? 'crc32c' : 'crc32');
          const ino = node.leaf(0), pfsElm = node.leaf(1);
          expect(ino.createTs).toBe(1795503794);
          const inode = decodeInodeData(vs.read(ino.dataOffset, ino.dataLen), { structure: 'inode' });
          expect(inode.capFlags).toBe(version >= 6 ? 0x05 : version >= 2 ? 0x04 : 0x00);
          expect(inode.ctime).toBe(1795503794123456n);
          expect(inode.mode).toBe(0o755);
          const pfs = decodePfsData(vs.read(pfsElm.dataOffset, pfsElm.dataLen), { structure: 'pfs' });
          expect(pfs.label).toBe(`V${version}`);
          expect(Buffer.from(pfs.sharedUuid).equals(Buffer.from(r.fsid))).toBe(true);
          // The whole FIFO is DUMMY records numbered from 0, whatever the version.
          const fifo = vs.read(vs.root.undoArray[0], BIG);
          for (const slot of [0, 1, BIG / 512 - 1]) {
            const rec = fifo.subarray(slot * 512, slot * 512 + 512);
            const h = decodeFifoHead(new DataView(rec.buffer, rec.byteOffset, 16), 0);
            expect(h).toMatchObject({ signature: 0xc84e, type: 0x0041, size: 512, seq: slot });
            expect(fifoRecordCrcVerdict(rec, version)).toBe(version >= 7 ? 'crc32c' : 'crc32');
          }
        } finally {
          vs.close();
        }
      }
    } finally {
      t.cleanup();
    }
  });

  it('makeTestVolumes formats an unequal three-volume set that checks clean', () => {
    const t = tempDir('multi');
    try {
      const paths = ['a', 'b', 'c'].map((n) => path.join(t.dir, `${n}.img`));
      const r = makeTestVolumes(paths, [64 * MiB, 100 * MiB, 40 * MiB], { version: 6, undoSize: 16 * MiB });
      expect(r.volumes.map((v) => v.freeBigBlocks)).toEqual([1, 11, 3]);
      const vs = openVolumeSet([paths[2], paths[0], paths[1]], { lock: 'none' });
      try {
        expect(vs.volumes.length).toBe(3);
        expect(vs.warnings).toEqual([]);
        expect(checkmap(new BTree(vs)).errors).toBe(0);
        const bm = scanBlockmap(vs);
        expect(bm.badLayer1 + bm.badLayer2).toBe(0);
        expect(vs.root.statFreebigblocks).toBe(15n);
        expect(vs.root.statBigblocks).toBe(17n);
      } finally {
        vs.close();
      }
    } finally {
      t.cleanup();
    }
  });

  it('refuses to overwrite a HAMMER volume without force, and names it', () => {
    const t = tempDir('refuse');
    try {
      const p = path.join(t.dir, 'x.img');
      makeTestImage(p, { size: 48 * MiB, label: 'OLD' });
      const before = fs.readFileSync(p);
      let err2: unknown;
      try {
        newfsPaths([p], { label: 'NEW', undoSize: BIG });
      } catch (e) {
        err2 = e;
      }
      expect(err2).toBeInstanceOf(ExistsError);
      expect((err2 as Error).message).toContain(p);
      expect((err2 as Error).message).toContain('"OLD"');
      expect(fs.readFileSync(p).equals(before)).toBe(true);
      newfsPaths([p], { label: 'NEW', undoSize: BIG, force: true });
      const vs = openVolumeSet([p], { lock: 'none' });
      expect(vs.root.label).toBe('NEW');
      vs.close();
    } finally {
      t.cleanup();
    }
  });

  it('leaves the areas newfs_hammer does not write as they were', () => {
    const t = tempDir('dirty');
    try {
      const p = path.join(t.dir, 'd.img');
      const size = 64 * MiB;
      fs.writeFileSync(p, Buffer.alloc(size, 0xa5));
      const r = newfsPaths([p], { label: 'D', undoSize: BIG, force: true });
      const img = fs.readFileSync(p);
      const bufBeg = r.volumes[0].bufBeg;
      const untouched = (from: number, to: number) => expect(img.subarray(from, to).every((b) => b === 0xa5), `${from}..${to}`).toBe(true);
      expect(img.subarray(1928, 16384).every((b) => b === 0)).toBe(true); // header buffer is written whole
      untouched(16384, bufBeg); // rest of the header junk, boot area, memory log
      const node = bufBeg + Number(r.btreeRoot & 0xfffffffffffffn);
      untouched(node + 4096, node + 16384); // rest of the B-Tree node's buffer
      const meta = bufBeg + Number(r.inodeOffset & 0xfffffffffffffn);
      untouched(meta + 128 + 292, meta + 16384); // past the PFS data (its 16-byte round-up too)
      expect(r.volumes[0].freeBigBlocks).toBe(2);
      untouched(node + 2 * BIG, size); // the two free big-blocks and the partial one at the end
      const vs = openVolumeSet([p], { lock: 'none' });
      try {
        expect(checkmap(new BTree(vs)).errors).toBe(0);
      } finally {
        vs.close();
      }
    } finally {
      t.cleanup();
    }
  });
});

describe('size arguments and summary figures', () => {
  it('parses sizes like newfs_hammer (k/m/g/t, either case) plus bare bytes and 0x hex', () => {
    expect(parseSize('64m')).toBe(64 * MiB);
    expect(parseSize('1G')).toBe(GiB);
    expect(parseSize('2t')).toBe(2 * TiB);
    expect(parseSize('32k')).toBe(32768);
    expect(parseSize('16384')).toBe(16384);
    expect(parseSize('0x10m')).toBe(16 * MiB);
    for (const s of ['64q', '-1m', '', 'm', '1.5g', '64mb']) expect(typeof parseSize(s), s).toBe('string');
  });
  it('prints sizes as sbin/hammer sizetostr() does', () => {
    expect(sizeToStr(1073741824)).toBe('  1.00GB');
    expect(sizeToStr(805306368 * 3)).toBe('  2.25GB');
    expect(sizeToStr(32768)).toBe(' 32.00KB');
    expect(sizeToStr(262144)).toBe('256.00KB');
    expect(sizeToStr(66 * BIG)).toBe('  0.52GB');
    expect(sizeToStr(512 * MiB)).toBe('  0.50GB');
    expect(sizeToStr(64 * MiB)).toBe(' 64.00MB');
    expect(sizeToStr(0)).toBe('  0.00B');
    // printf rounds an exact tie to even: 2.625 -> 2.62, 2.375 -> 2.38
    expect(sizeToStr(2.625 * GiB)).toBe('  2.62GB');
    expect(sizeToStr(2.375 * TiB)).toBe('  2.38TB');
    expect(sizeToStr(5 * TiB)).toBe('  5.00TB');
  });
});
