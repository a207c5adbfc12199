// import of a generated tree into a fresh image, read back byte-exact through HammerFs and
// through extract, plus every structural check (B-Tree, freemap, verify).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HammerWriter } from '../../src/fs/write/writer.js';
import { importTree } from '../../src/fs/write/import.js';
import { HammerFs } from '../../src/fs/index.js';
import { extractTree } from '../../src/fs/extract.js';
import { namekeyAlg1 } from '../../src/ondisk/dirhash.js';
import { tmpDir, freshImage, generateTree, checkImage, withRead, openVolumeSetForWrite } from './helpers.js';

const us = (ns: bigint) => ns / 1000n;

/** Compare a local tree with the same tree inside the image; returns differences. */
function compareTree(hfs: HammerFs, local: string, inside: string): string[] {
  const diffs: string[] = [];
  const inodeOfLocal = new Map<string, bigint>();
  const walk = (lp: Buffer, ip: Buffer) => {
    for (const name of (fs.readdirSync(lp, { encoding: 'buffer' }) as Buffer[])) {
      const l = Buffer.concat([lp, Buffer.from('/'), name]);
      const i = Buffer.concat([ip, Buffer.from('/'), name]);
      const st = fs.lstatSync(l, { bigint: true });
      let ino;
      try {
        ino = hfs.stat(i);
      } catch (e) {
        diffs.push(`${i}: missing (${(e as Error).message})`);
        continue;
      }
      const d = (m: string) => diffs.push(`${i.toString()}: ${m}`);
      if (Number(st.mode & 0o7777n) !== ino.mode) d(`mode ${ino.mode.toString(8)} != ${(st.mode & 0o7777n).toString(8)}`);
      if (Number(st.uid) !== ino.uid || Number(st.gid) !== ino.gid) d('owner');
      if (!st.isDirectory() && us(st.mtimeNs) !== ino.mtime) d(`mtime ${ino.mtime} != ${us(st.mtimeNs)}`);
      if (st.isDirectory()) {
        if (ino.type !== 'dir') d(`type ${ino.type}`);
        else if (ino.capFlags !== 5 || ino.nlinks !== 1n) d(`dir caps ${ino.capFlags} nlinks ${ino.nlinks}`);
        walk(l, i);
      } else if (st.isFile()) {
        if (ino.type !== 'file') d(`type ${ino.type}`);
        if (ino.size !== st.size) d(`size ${ino.size} != ${st.size}`);
        if (ino.nlinks !== st.nlink) d(`nlinks ${ino.nlinks} != ${st.nlink}`);
        const want = fs.readFileSync(l);
        const got = Buffer.from(hfs.read(ino, 0, want.length + 10));
        if (!got.equals(want)) d('content differs');
        // record shapes: small files one short record, else whole blocks
        for (const r of hfs.dataRecords(ino)) {
          const ok = ino.size <= 8192n ? r.offset === 0n && r.length === ((Number(ino.size) + 15) & ~15) : r.length === (r.offset < 1048576n ? 16384 : 65536);
          if (!ok) d(`record ${r.offset}+${r.length}`);
        }
        if (st.nlink > 1n) {
          const k = `${st.ino}`;
          const prev = inodeOfLocal.get(k);
          if (prev !== undefined && prev !== ino.objId) d('hard link is a different inode');
          inodeOfLocal.set(k, ino.objId);
        }
      } else if (st.isSymbolicLink()) {
        if (ino.type !== 'symlink') d(`type ${ino.type}`);
        else if (!Buffer.from(hfs.readlink(ino)).equals(fs.readlinkSync(l, { encoding: 'buffer' }))) d('symlink target');
      } else if (st.isFIFO()) {
        if (ino.type !== 'fifo') d(`type ${ino.type}`);
      } else if (st.isCharacterDevice() || st.isBlockDevice()) {
        if (ino.type !== (st.isCharacterDevice() ? 'chr' : 'blk')) d(`type ${ino.type}`);
        // glibc dev_t layout
        const major = Number(((st.rdev >> 8n) & 0xfffn) | ((st.rdev >> 32n) & ~0xfffn));
        const minor = Number((st.rdev & 0xffn) | ((st.rdev >> 12n) & ~0xffn));
        if (ino.rmajor !== major || ino.rminor !== minor) d(`device ${ino.rmajor},${ino.rminor} != ${major},${minor}`);
      }
    }
  };
  walk(Buffer.from(local), Buffer.from(inside));
  return diffs;
}

describe('import', () => {
  const t = tmpDir('import');
  let img: string;
  let src: string;
  beforeAll(() => {
    src = generateTree(path.join(t.dir, 'src'), { files: 1500, depth: 60, seed: 7, bigFileBytes: 5 * 1024 * 1024 + 4321 });
    img = freshImage(t.dir);
  });
  afterAll(() => t.cleanup());

  it('copies a tree of ~1600 objects byte-exact, with holes, links, collisions; image checks clean', () => {
    const vs = openVolumeSetForWrite([img]);
    let stats;
    try {
      const w = new HammerWriter(vs);
      stats = importTree(w, src, '/imported', { batchBytes: 8 * 1024 * 1024 });
    } finally {
      vs.close();
    }
    expect(stats.files).toBeGreaterThan(1500);
    expect(stats.hardlinks).toBe(2);
    expect(stats.commits).toBeGreaterThan(1); // bounded batches
    const diffs = withRead([img], (rvs) => compareTree(HammerFs.open(rvs), src, '/imported'));
    expect(diffs).toEqual([]);
    const chk = checkImage([img]);
    expect(chk.problems).toEqual([]);
    expect(chk.depth).toBeGreaterThanOrEqual(3);
  }, 300_000);

  it('keeps holes as missing records and colliding names on consecutive keys', () => {
    withRead([img], (rvs) => {
      const hfs = HammerFs.open(rvs);
      const isl = hfs.stat('/imported/sparse/islands');
      const recs = hfs.dataRecords(isl);
      // 5000 bytes at 100 (block 0), 70000 at 2 MiB+12345 (2 blocks of 64 KiB), 3 bytes at 5 MiB
      expect(recs.map((r) => Number(r.offset))).toEqual([0, 2097152, 2162688, 5242880]);
      expect(hfs.dataRecords(hfs.stat('/imported/sparse/all-hole'))).toEqual([]);
      const ents = hfs.readdir('/imported/collide');
      const byHash = new Map<bigint, bigint[]>();
      for (const e of ents) {
        const k = namekeyAlg1(e.name);
        byHash.set(k, [...(byHash.get(k) ?? []), e.key]);
      }
      let collided = 0;
      for (const [k, keys] of byHash) {
        keys.sort((a, b) => (a < b ? -1 : 1));
        keys.forEach((key, i) => expect(key).toBe(k + BigInt(i)));
        if (keys.length > 1) collided++;
      }
      expect(collided).toBeGreaterThan(0);
    });
  });

  it('extract gives the source tree back', () => {
    const out = path.join(t.dir, 'out');
    withRead([img], (rvs) => {
      const hfs = HammerFs.open(rvs);
      extractTree(hfs, '/imported', out);
    });
    const lst = (d: string): string[] => fs.readdirSync(d, { recursive: true, encoding: 'utf8' }).sort();
    expect(lst(out)).toEqual(lst(src));
    for (const rel of lst(src)) {
      const a = path.join(src, rel);
      const st = fs.lstatSync(a);
      if (st.isFile()) expect(fs.readFileSync(path.join(out, rel)).equals(fs.readFileSync(a))).toBe(true);
    }
  }, 120_000);
});
