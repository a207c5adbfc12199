// The FUSE operation table without a kernel mount: same code the mount runs, called directly over
// the real content-v7 image (runs everywhere, also without /dev/fuse or root).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createHash } from 'node:crypto';
import { imagePaths, copyImage, flipByte } from '../helpers/images.js';
import { manifest } from './helpers.js';
import { openVolumeSet, type VolumeSet } from '../../src/volume/volume-set.js';
import { HammerFs } from '../../src/fs/index.js';
import { HammerSource } from '../../src/fuse/adapter.js';
import { HammerFuseOps, parseHistoryName, linuxDev } from '../../src/fuse/ops.js';
import { InoMap } from '../../src/fuse/inomap.js';
import { Errno, EROFS, ENOENT, ENOTDIR, EIO, errnoFor } from '../../src/fuse/errno.js';
import { CrcMismatchError, NotFoundError } from '../../src/errors.js';
import { parseMounts, unescapeMountField } from '../../src/fuse/server.js';

const m = manifest();
const latest = m.generations[m.generations.length - 1].tid;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('parseHistoryName', () => {
  it('accepts DragonFly\'s forms and nothing else', () => {
    expect(parseHistoryName('a@@0x00000001000003be')).toEqual({ name: 'a', tid: 0x1000003ben, pfs: undefined });
    expect(parseHistoryName('@@0x00000001000003BE')).toEqual({ name: '', tid: 0x1000003ben, pfs: undefined });
    expect(parseHistoryName('@@-1:00001')).toEqual({ name: '', tid: undefined, pfs: 1 });
    expect(parseHistoryName('@@0x00000001000003ec:00002')).toEqual({ name: '', tid: 0x1000003ecn, pfs: 2 });
    expect(parseHistoryName('x@@y@@0xffffffffffffffff')?.name).toBe('x@@y');
    for (const bad of ['a@@0x1', 'a@@0x00000001000003be0', 'a@@1000003be', 'a@@-1:1', 'a@@', 'plain', 'a@@0x00000001000003be:99999']) {
      expect(parseHistoryName(bad), bad).toBeUndefined();
    }
  });
});

describe('InoMap', () => {
  it('gives the primary view low 32 bits, keeps hardlinks together and objects apart', () => {
    const im = new InoMap('0@now');
    expect(im.ino('0@now', 1n)).toBe(1);
    expect(im.ino('0@now', 0x100000135n)).toBe(0x135);
    expect(im.ino('0@now', 0x100000135n)).toBe(0x135);
    // Low bits already taken by another object: a fresh number, not a shared one.
    const c = im.ino('0@now', 0x200000135n);
    expect(c).not.toBe(0x135);
    // Other views never reuse the primary's numbers for the same obj_id.
    const old = im.ino('0@3be', 0x100000135n);
    expect(old).not.toBe(0x135);
    expect(old).not.toBe(c);
    expect(im.ino('0@3be', 0x100000135n)).toBe(old);
    // 0 and 0xffffffff are never handed out.
    expect(im.ino('0@now', 0x500000000n)).not.toBe(0);
    expect(im.ino('0@now', 0xffffffffn)).not.toBe(0xffffffff);
    expect(im.synthetic('.snapshots')).toBe(im.synthetic('.snapshots'));
  });
});

describe('errno mapping', () => {
  it('maps typed errors and logs damage with volume and byte', () => {
    expect(errnoFor(new NotFoundError('x', { structure: 'y' }))).toEqual({ errno: ENOENT });
    expect(errnoFor(new Errno(ENOTDIR))).toEqual({ errno: ENOTDIR });
    const crc = new CrcMismatchError({ structure: 'B-Tree leaf element', hammerOff: 0x800000002100a000n, index: 1 }, 1, 2);
    const r = errnoFor(crc, () => ({ volNo: 0, rawOffset: 0x2108a000, path: 'img' }));
    expect(r.errno).toBe(EIO);
    expect(r.log).toMatch(/E_CRC.*800000002100a000 #1 \(vol 0, byte 0x2108a000, img\)/);
    expect(errnoFor(new TypeError('boom')).log).toMatch(/internal error: TypeError: boom/);
  });
  it('linuxDev encodes like glibc makedev', () => {
    expect(linuxDev(8, 1)).toBe(0x801);
    expect(linuxDev(13, 131072)).toBe(0x20000d00);
  });
  it('parses /proc/mounts escapes', () => {
    expect(unescapeMountField('/a\\040b\\134c')).toBe('/a b\\c');
    expect(parseMounts('img /mnt/x\\040y fuse.hammerfs ro,nosuid 0 0\n')).toEqual([{ source: 'img', mountpoint: '/mnt/x y', fstype: 'fuse.hammerfs', options: 'ro,nosuid' }]);
  });
});

describe('HammerFuseOps over content-v7', () => {
  let vs: VolumeSet;
  let ops: HammerFuseOps;
  beforeAll(() => {
    vs = openVolumeSet(imagePaths('content-v7'), { lock: 'shared' });
    const hfs = HammerFs.open(vs);
    ops = new HammerFuseOps(new HammerSource(hfs, undefined), { pfs: 0, log: () => undefined });
  });
  afterAll(() => vs.close());

  const files = () =>
    Object.entries(m.trees[latest]['0'])
      .filter(([, e]) => e.type === 'file')
      .sort((a, b) => b[1].size - a[1].size);

  it('streams the largest file sequentially through a growing read-ahead window', () => {
    const [p, e] = files()[0];
    expect(e.size).toBeGreaterThan(1 << 20);
    const fh = ops.open(p, 0);
    const before = ops.stats.raFills;
    const h = createHash('sha256');
    const chunk = Buffer.alloc(4096);
    let pos = 0;
    for (;;) {
      const n = ops.read(p, fh, chunk, chunk.length, pos);
      if (n === 0) break;
      h.update(chunk.subarray(0, n));
      pos += n;
    }
    expect(ops.readAheadBytes).toBeGreaterThan(0);
    expect(ops.readAheadBytes).toBeLessThanOrEqual(4 << 20);
    ops.release(fh);
    expect(ops.readAheadBytes).toBe(0);
    expect(pos).toBe(e.size);
    expect(h.digest('hex')).toBe(e.sha256);
    // ~590 requests of 4 KiB were served by a handful of B-Tree range reads (128K doubling to 4M).
    expect(ops.stats.raFills - before).toBeLessThanOrEqual(6);
  });

  it('serves random reads exactly (no read-ahead), holes included', () => {
    const sparse = files().find(([p]) => p.startsWith('/sparse/'))!;
    for (const [p, e] of [files()[0], files()[1], sparse]) {
      const whole = Buffer.alloc(e.size);
      const fh = ops.open(p, 0);
      expect(ops.read(p, fh, whole, e.size, 0)).toBe(e.size);
      expect(sha(whole)).toBe(e.sha256);
      let seed = 12345;
      for (let i = 0; i < 40; i++) {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        const off = seed % e.size;
        const len = 1 + (seed % 70000);
        const out = Buffer.alloc(len);
        const n = ops.read(p, fh, out, len, off);
        expect(n).toBe(Math.min(len, e.size - off));
        expect(out.subarray(0, n).equals(whole.subarray(off, off + n))).toBe(true);
      }
      expect(ops.read(p, fh, Buffer.alloc(10), 10, e.size)).toBe(0);
      ops.release(fh);
    }
  });

  it('getattr / readdir / readlink follow the manifest; history and snapshots resolve', () => {
    const t = m.trees[latest]['0'];
    const root = ops.readdir('/');
    const top = Object.keys(t).filter((p) => p !== '/' && !p.slice(1).includes('/')).map((p) => p.slice(1));
    expect(root.names.slice(2).sort()).toEqual(top.sort());
    expect(root.names.slice(0, 2)).toEqual(['.', '..']);
    const link = Object.entries(t).find(([, e]) => e.type === 'symlink' && !e.target!.startsWith('@@'))!;
    expect(ops.readlink(link[0])).toBe(link[1].target);
    expect(ops.getattr(link[0]).size).toBe(link[1].size);
    const snaps = ops.readdir('/.snapshots').names.slice(2).sort();
    expect(snaps).toEqual(m.snapshots.filter((s) => s.pfs === 0).map((s) => s.label).sort());
    const gen1 = m.generations[0].tid;
    const f = Object.keys(m.trees[gen1]['0']).find((p) => m.trees[gen1]['0'][p].type === 'file' && t[p] && t[p].sha256 !== m.trees[gen1]['0'][p].sha256)!;
    expect(ops.getattr(`${f}@@${gen1}`).size).toBe(m.trees[gen1]['0'][f].size);
    // `@@-1` is the current state, whatever view the parent came from.
    expect(ops.getattr(`${f}@@-1`).size).toBe(t[f].size);
    expect(ops.getattr(`/@@${gen1}${f}@@-1`).ino).toBe(ops.getattr(f).ino);
    expect(() => ops.getattr('/no-such')).toThrowError(Errno);
    expect(() => ops.open(files()[0][0], 1)).toThrow(expect.objectContaining({ errno: EROFS }));
    expect(() => ops.open(files()[0][0], 0o1000)).toThrow(expect.objectContaining({ errno: EROFS }));
    expect(() => ops.getattr(files()[0][0] + '/x')).toThrow(expect.objectContaining({ errno: ENOTDIR }));
  });
});

describe('read-ahead over damage', () => {
  it('serves every byte before a damaged record, then fails with the CRC error', () => {
    const copy = copyImage('content-v7');
    try {
      const [p, e] = Object.entries(m.trees[latest]['0']).filter(([, x]) => x.type === 'file').sort((a, b) => b[1].size - a[1].size)[0];
      let vs = openVolumeSet(copy.paths, { lock: 'none' });
      const rec = HammerFs.open(vs).dataRecords(HammerFs.open(vs).stat(p))[20];
      const pos = vs.locate(rec.dataOffset).pos + 100;
      vs.close();
      flipByte(copy.paths[0], pos, 1);
      vs = openVolumeSet(copy.paths, { lock: 'none' });
      try {
        const ops = new HammerFuseOps(new HammerSource(HammerFs.open(vs), undefined), { pfs: 0, log: () => undefined });
        const fh = ops.open(p, 0);
        const chunk = Buffer.alloc(4096);
        let at = 0;
        let err: unknown;
        try {
          for (;;) {
            const n = ops.read(p, fh, chunk, chunk.length, at);
            if (n === 0) break;
            at += n;
          }
        } catch (x) {
          err = x;
        }
        expect(at).toBe(Number(rec.offset));
        expect(at).toBeLessThan(e.size);
        expect(err).toBeInstanceOf(CrcMismatchError);
      } finally {
        vs.close();
      }
    } finally {
      copy.cleanup();
    }
  });
});
