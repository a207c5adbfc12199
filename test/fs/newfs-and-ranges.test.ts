// The four newfs images (empty root directory, PFS 0 record), directory name hashes (spec
// vectors), and partial reads: any [offset, offset+len) equals that slice of the whole file,
// across 16/64 KiB record and buffer boundaries, holes and end of file.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { openVolumeSet } from '../../src/volume/volume-set.js';
import { HammerFs } from '../../src/fs/index.js';
import { namekeyAlg0, namekeyAlg1 } from '../../src/ondisk/dirhash.js';
import { uuidToString } from '../../src/ondisk/uuid.js';
import { imagePaths, NEWFS_IMAGES, goldenJson } from '../helpers/images.js';

describe('newfs images', () => {
  for (const name of NEWFS_IMAGES) {
    it(`${name}: empty root directory, PFS 0 record`, () => {
      const vs = openVolumeSet(imagePaths(name));
      try {
        const fs = HammerFs.open(vs);
        const root = fs.root();
        expect(root.type).toBe('dir');
        expect(root.objId).toBe(1n);
        expect(root.mode).toBe(0o755);
        expect(root.nlinks).toBe(1n);
        expect(root.size).toBe(0n);
        expect(fs.readdir(root)).toEqual([]);
        expect(fs.readdir('/', { dots: true }).map((e) => e.nameStr)).toEqual(['.', '..']);
        const pfs = fs.listPfs();
        expect(pfs.length).toBe(1);
        expect(pfs[0].id).toBe(0);
        expect(pfs[0].slave).toBe(false);
        expect(pfs[0].recordTid).toBeDefined(); // a real record, not the defaults
        expect(pfs[0].sharedUuid).toBe(uuidToString(vs.root.fsid));
        expect(pfs[0].label).toBe(vs.root.label);
        expect(fs.snapshots()).toEqual([]);
        const cap = vs.version >= 6 ? 0x05 : vs.version >= 2 ? 0x04 : 0;
        expect(root.capFlags).toBe(cap);
      } finally {
        vs.close();
      }
    });
  }
});

describe('directory name keys (spec/RECORDS.md §3.2 vectors)', () => {
  const v: [string, bigint, bigint][] = [
    ['hello.txt', 0x1260cebb00000000n, 0x524805cbdcdb0000n],
    ['a', 0x68b7be4300000000n, 0x68b7be4356f40000n],
    ['.x', 0x1400e2dd00000000n, 0x0cdc1683f6dd0000n],
    ['foo.tar.gz', 0x7788d57700000000n, 0x567d3046a2ff0000n],
    ['', 0x0000000100000000n, 0x0000000100000000n],
  ];
  for (const [n, a0, a1] of v) {
    it(JSON.stringify(n), () => {
      expect(namekeyAlg0(Buffer.from(n))).toBe(a0);
      expect(namekeyAlg1(Buffer.from(n))).toBe(a1);
    });
  }
});

describe('content-v7 partial reads', () => {
  it('every range equals the slice of the whole file, and the whole file matches the manifest', () => {
    const M = goldenJson('content-v7.manifest.json');
    const last = M.generations[M.generations.length - 1].tid;
    const vs = openVolumeSet(imagePaths('content-v7'));
    try {
      const fs = HammerFs.open(vs);
      let seed = 12345;
      const rnd = (n: number) => {
        seed = (seed * 1103515245 + 12345) >>> 0;
        return seed % Math.max(1, n);
      };
      let files = 0;
      for (const [path, m] of Object.entries(M.trees[last]['0']) as [string, any][]) {
        if (m.type !== 'file') continue;
        const ino = fs.stat(path);
        const all = fs.read(ino, 0, m.size + 100);
        expect(all.length).toBe(m.size);
        expect(createHash('sha256').update(all).digest('hex')).toBe(m.sha256);
        const edges = [0, 1, 8191, 8192, 16383, 16384, 16385, 65535, 65536, 1 << 20, (1 << 20) + 1, m.size - 1, m.size];
        for (let k = 0; k < 12; k++) {
          const off = k < edges.length ? Math.max(0, Math.min(edges[k], m.size)) : rnd(m.size + 1);
          const len = rnd(70000);
          const got = fs.read(ino, off, len);
          expect(Buffer.compare(got, all.subarray(off, Math.min(m.size, off + len))), `${path} [${off}, +${len})`).toBe(0);
        }
        expect(fs.read(ino, m.size + 10, 5).length).toBe(0);
        files++;
      }
      expect(files).toBeGreaterThan(100);
    } finally {
      vs.close();
    }
  });
});
