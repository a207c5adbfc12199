// Semantics of single operations: record shapes and zones, inode versions, link counts, counters,
// snapshots, errors, batching in one transaction, abort, older volume versions, slave refusal.
import { describe, it, expect, afterAll } from 'vitest';
import * as fs from 'node:fs';
import { HammerWriter } from '../../src/fs/write/writer.js';
import { HammerFs } from '../../src/fs/index.js';
import { zoneOf } from '../../src/ondisk/offset.js';
import { namekeyAlg0 } from '../../src/ondisk/dirhash.js';
import { ExistsError, NotFoundError, UsageError, IsDirectoryError, NotDirectoryError } from '../../src/errors.js';
import { tmpDir, freshImage, checkImage, withRead, openVolumeSetForWrite, mulberry32 } from './helpers.js';
import { copyImage } from '../helpers/images.js';

const t = tmpDir('ops');
afterAll(() => t.cleanup());
let n = 0;
function image(version?: number): string {
  const d = `${t.dir}/${n++}`;
  fs.mkdirSync(d);
  return freshImage(d, { size: 128 * 1024 * 1024, version });
}
function withWriter<T>(img: string, fn: (w: HammerWriter) => T): T {
  const vs = openVolumeSetForWrite([img]);
  try {
    return fn(new HammerWriter(vs));
  } finally {
    vs.close();
  }
}

describe('file operations', () => {
  it('lays out records like the kernel: small files in zone 11, whole blocks in zone 10, symlinks', () => {
    const img = image();
    withWriter(img, (w) => {
      w.writeFile('/small', Buffer.alloc(100, 1));
      w.writeFile('/edge', Buffer.alloc(8192, 2));
      w.writeFile('/mid', Buffer.alloc(8193, 3));
      w.writeFile('/big', Buffer.alloc(1048576 + 10, 4));
      w.symlink('/s24', 'y'.repeat(24));
      w.symlink('/s25', 'z'.repeat(25));
    });
    withRead([img], (vs) => {
      const h = HammerFs.open(vs);
      const shape = (p: string) => h.dataRecords(h.stat(p)).map((r) => `${r.offset}+${r.length}@${zoneOf(r.dataOffset)}`);
      expect(shape('/small')).toEqual(['0+112@11']);
      expect(shape('/edge')).toEqual(['0+8192@11']);
      expect(shape('/mid')).toEqual(['0+16384@10']);
      const big = shape('/big');
      expect(big.length).toBe(65);
      expect(big[64]).toBe('1048576+65536@10');
      expect(Buffer.from(h.readlink(h.stat('/s24'))).toString()).toBe('y'.repeat(24));
      expect(Buffer.from(h.readlink(h.stat('/s25'))).toString()).toBe('z'.repeat(25));
      expect(h.stat('/s24').data.ext.length).toBe(24);
      expect(vs.root.statInodes).toBe(7n); // root + 6
    });
    expect(checkImage([img]).problems).toEqual([]);
  });

  it('grows a small file into a full block and shrinks it back, keeping both versions', () => {
    const img = image();
    const tids: bigint[] = [];
    withWriter(img, (w) => {
      w.writeFile('/f', Buffer.from('abc'));
      tids.push(w.lastCommit!.tid);
      w.write('/f', 9000, Buffer.from('xyz'));
      tids.push(w.lastCommit!.tid);
      w.truncate('/f', 2);
      tids.push(w.lastCommit!.tid);
    });
    withRead([img], (vs) => {
      const h = HammerFs.open(vs);
      const at = (tid: bigint) => {
        const v = h.view({ asof: tid });
        const ino = v.stat('/f');
        return { data: Buffer.from(v.read(ino, 0, 1 << 20)), recs: v.dataRecords(ino).map((r) => `${r.offset}+${r.length}`) };
      };
      expect(at(tids[0])).toEqual({ data: Buffer.from('abc'), recs: ['0+16'] });
      const mid = at(tids[1]);
      expect(mid.recs).toEqual(['0+16384']);
      expect(mid.data.length).toBe(9003);
      expect(mid.data.subarray(0, 3).toString()).toBe('abc');
      expect(mid.data.subarray(3, 9000).every((b) => b === 0)).toBe(true);
      expect(mid.data.subarray(9000).toString()).toBe('xyz');
      expect(at(tids[2])).toEqual({ data: Buffer.from('ab'), recs: ['0+16'] });
      // three INODE versions (size changed each time), history keeps every DATA version
      expect(h.inodeVersions(h.stat('/f').objId).length).toBe(3);
      expect(h.dataRecords(h.stat('/f'), null).length).toBe(3);
    });
  });

  it('mtime-only changes are written in place; mode/owner changes make a new inode version', () => {
    const img = image();
    withWriter(img, (w) => {
      w.writeFile('/f', Buffer.alloc(20000, 7));
      w.write('/f', 0, Buffer.alloc(10, 8)); // size unchanged: mtime in place
      w.setattr('/f', { mtime: 1_600_000_000_000_000n });
      w.mkdir('/d');
      for (let i = 0; i < 5; i++) w.createFile(`/d/e${i}`); // directory: mtime in place only
    });
    withRead([img], (vs) => {
      const h = HammerFs.open(vs);
      const f = h.stat('/f');
      expect(h.inodeVersions(f.objId).length).toBe(1);
      expect(f.mtime).toBe(1_600_000_000_000_000n);
      expect(h.inodeVersions(h.stat('/d').objId).length).toBe(1);
    });
    withWriter(img, (w) => {
      w.setattr('/f', { mode: 0o600, uid: 1000, gid: 100 });
    });
    withRead([img], (vs) => {
      const h = HammerFs.open(vs);
      const f = h.stat('/f');
      expect([f.mode, f.uid, f.gid]).toEqual([0o600, 1000, 100]);
      const vers = h.inodeVersions(f.objId);
      expect(vers.length).toBe(2);
      expect(vers[0].deleteTid).toBe(vers[1].createTid);
    });
    expect(checkImage([img]).problems).toEqual([]);
  });

  it('hard links count, unlink keeps history, the last unlink deletes data records', () => {
    const img = image();
    let before = 0n;
    let id = 0n;
    withWriter(img, (w) => {
      w.writeFile('/a', Buffer.alloc(50000, 9));
      w.link('/a', '/b');
      w.mkdir('/d');
      w.link('/a', '/d/c');
      before = w.lastCommit!.tid;
      id = w.objIdOf('/a');
      w.unlink('/a');
      w.unlink('/b');
      w.unlink('/d/c');
    });
    withRead([img], (vs) => {
      const h = HammerFs.open(vs);
      expect(h.inode(id)).toBeUndefined();
      const past = h.view({ asof: before });
      expect(past.stat('/d/c').nlinks).toBe(3n);
      expect(Buffer.from(past.readFile('/b')).equals(Buffer.alloc(50000, 9))).toBe(true);
      expect(h.dataRecords(past.stat('/b'), null).every((r) => r.deleteTid !== 0n)).toBe(true);
      expect(vs.root.statInodes).toBe(2n); // root + /d
    });
    expect(checkImage([img]).problems).toEqual([]);
  });

  it('rename moves directories (parent_obj_id), replaces files, refuses cycles and non-empty targets', () => {
    const img = image();
    withWriter(img, (w) => {
      w.mkdir('/x/y/z', { parents: true });
      w.writeFile('/x/y/z/f', Buffer.from('1'));
      w.writeFile('/g', Buffer.from('2'));
      w.rename('/x/y', '/y2');
      w.rename('/g', '/y2/z/f');
      expect(() => w.rename('/y2', '/y2/z/in')).toThrow(UsageError);
      w.mkdir('/full');
      w.createFile('/full/x');
      expect(() => w.rename('/y2', '/full')).toThrow(UsageError);
      expect(() => w.rename('/y2/z/f', '/full')).toThrow(IsDirectoryError);
    });
    withRead([img], (vs) => {
      const h = HammerFs.open(vs);
      expect(h.stat('/y2').parentObjId).toBe(1n);
      expect(h.stat('/y2/z').parentObjId).toBe(h.stat('/y2').objId);
      expect(Buffer.from(h.readFile('/y2/z/f')).toString()).toBe('2');
      expect(h.readdir('/x').map((e) => e.nameStr)).toEqual([]);
    });
    expect(checkImage([img]).problems).toEqual([]);
  });

  it('errors are typed and a failed operation leaves the media as it was', () => {
    const img = image();
    withWriter(img, (w) => {
      w.mkdir('/d');
      w.createFile('/d/f');
      expect(() => w.mkdir('/d')).toThrow(ExistsError);
      expect(() => w.rmdir('/d')).toThrow(UsageError);
      expect(() => w.unlink('/d')).toThrow(IsDirectoryError);
      expect(() => w.unlink('/nope')).toThrow(NotFoundError);
      expect(() => w.createFile('/d/f/g')).toThrow(NotDirectoryError);
      expect(() => w.rmdir('/d/f')).toThrow(NotDirectoryError);
      expect(() => w.createFile('/')).toThrow(UsageError);
      expect(() => w.createFile('/' + 'n'.repeat(256))).toThrow(UsageError);
    });
    const bytes = fs.readFileSync(img);
    withWriter(img, (w) => {
      w.autoCommit = false;
      w.createFile('/new1');
      expect(() => w.createFile('/d/f')).toThrow(ExistsError); // aborts the open transaction
    });
    expect(fs.readFileSync(img).equals(bytes)).toBe(true);
  });

  it('batches many operations in one transaction (records created and retired in it are removed)', () => {
    const img = image();
    withWriter(img, (w) => {
      w.autoCommit = false;
      w.writeFile('/f', Buffer.alloc(40000, 1));
      w.write('/f', 100, Buffer.alloc(100, 2));
      w.truncate('/f', 30000);
      w.createFile('/tmp');
      w.unlink('/tmp');
      w.mkdir('/d');
      w.rename('/f', '/d/f');
      const stats = w.commit()!;
      expect(w.commits).toBe(1);
      expect(stats.tid).toBeGreaterThan(0n);
    });
    withRead([img], (vs) => {
      const h = HammerFs.open(vs);
      const f = h.stat('/d/f');
      const want = Buffer.alloc(30000, 1);
      want.fill(2, 100, 200);
      expect(Buffer.from(h.readFile('/d/f')).equals(want)).toBe(true);
      // no deleted versions: everything happened in one TID
      expect(h.dataRecords(f, null).every((r) => r.deleteTid === 0n)).toBe(true);
      expect(h.inodeVersions(f.objId).length).toBe(1);
      expect(h.readdir('/').map((e) => e.nameStr)).toEqual(['d']);
    });
    expect(checkImage([img]).problems).toEqual([]);
  });

  it('snapshot records the last committed TID', () => {
    const img = image();
    let snap = 0n;
    withWriter(img, (w) => {
      w.writeFile('/f', Buffer.from('before'));
      const last = w.lastCommit!.tid;
      snap = w.snapshot('mysnap');
      expect(snap).toBeGreaterThanOrEqual(last);
      w.writeFile('/f', Buffer.from('after!'), { replace: true });
    });
    withRead([img], (vs) => {
      const h = HammerFs.open(vs);
      const s = h.snapshots();
      expect(s.map((x) => [x.tid, x.label])).toEqual([[snap, 'mysnap']]);
      expect(Buffer.from(h.view({ asof: snap }).readFile('/f')).toString()).toBe('before');
      expect(Buffer.from(h.readFile('/f')).toString()).toBe('after!');
    });
  });

  it('writes version 4 (ALG0 directories) and version 1 (MISC-localized entries) filesystems', () => {
    for (const [v, caps] of [[4, 4], [1, 0]] as const) {
      const img = image(v);
      withWriter(img, (w) => {
        w.mkdir('/d');
        for (let i = 0; i < 50; i++) w.writeFile(`/d/f${i}`, Buffer.from(`content ${i}`));
        w.rename('/d/f1', '/d/g1');
      });
      withRead([img], (vs) => {
        const h = HammerFs.open(vs);
        expect(h.stat('/d').capFlags).toBe(caps);
        expect(h.readdir('/d').length).toBe(50);
        expect(Buffer.from(h.readFile('/d/g1')).toString()).toBe('content 1');
      });
      expect(checkImage([img]).problems).toEqual([]);
    }
  });

  it('writes into a kernel-written image (content-v7) next to its history', () => {
    const c = copyImage('content-v7');
    try {
      const vs = openVolumeSetForWrite(c.paths);
      try {
        const w = new HammerWriter(vs);
        w.writeFile('/collide/new-file', Buffer.from('hello'));
        w.rename('/level-1', '/level-one');
        w.unlink('/bigdir/marpel');
      } finally {
        vs.close();
      }
      withRead(c.paths, (vs) => {
        const h = HammerFs.open(vs);
        expect(Buffer.from(h.readFile('/collide/new-file')).toString()).toBe('hello');
        expect(h.exists('/level-one/level-2')).toBe(true);
        expect(h.exists('/bigdir/marpel')).toBe(false);
      });
      expect(checkImage(c.paths).problems).toEqual([]);
    } finally {
      c.cleanup();
    }
  });
  it('writes into a master PFS and refuses a slave PFS (content-v7: PFS 1 master, PFS 2 slave)', () => {
    const c = copyImage('content-v7');
    try {
      const vs = openVolumeSetForWrite(c.paths);
      try {
        expect(() => new HammerWriter(vs, { pfs: 2 })).toThrow(/slave/);
        expect(() => new HammerWriter(vs, { pfs: 9 })).toThrow(NotFoundError);
        const w = new HammerWriter(vs, { pfs: 1 });
        w.mkdir('/in-pfs1');
        w.writeFile('/in-pfs1/f', Buffer.from('pfs one'));
      } finally {
        vs.close();
      }
      withRead(c.paths, (vs) => {
        const h = HammerFs.open(vs, { pfs: 1 });
        expect(Buffer.from(h.readFile('/in-pfs1/f')).toString()).toBe('pfs one');
        expect(HammerFs.open(vs).exists('/in-pfs1')).toBe(false);
      });
      expect(checkImage(c.paths).problems).toEqual([]);
    } finally {
      c.cleanup();
    }
  });
  it('writes on a three-volume set (multi3)', () => {
    const c = copyImage('multi3');
    try {
      const vs = openVolumeSetForWrite(c.paths);
      const data = Buffer.alloc(3 * 1024 * 1024 + 3, 0x33);
      try {
        const w = new HammerWriter(vs);
        w.mkdir('/m');
        w.writeFile('/m/big', data);
        w.symlink('/m/l', 'big');
      } finally {
        vs.close();
      }
      withRead(c.paths, (vs) => {
        const h = HammerFs.open(vs);
        expect(Buffer.from(h.readFile('/m/big')).equals(data)).toBe(true);
      });
      expect(checkImage(c.paths).problems).toEqual([]);
    } finally {
      c.cleanup();
    }
  });
  it('follows symlinks in the middle of a path, never the last component', () => {
    const img = image();
    withWriter(img, (w) => {
      w.mkdir('/real/sub', { parents: true });
      w.symlink('/rel', 'real/sub');
      w.symlink('/abs', '/real');
      w.symlink('/real/up', '../real/sub/' + 'x'.repeat(0)); // relative, with '..' (FIX-free, 12 bytes)
      w.symlink('/long', '/real/' + './'.repeat(20) + 'sub'); // > 24 bytes: FIX record target
      w.writeFile('/rel/a', Buffer.from('A'));
      w.writeFile('/abs/sub/b', Buffer.from('B'));
      w.writeFile('/real/up/c', Buffer.from('C'));
      w.writeFile('/long/d', Buffer.from('D'));
      w.unlink('/rel'); // the link itself
      w.symlink('/loop', 'loop');
      expect(() => w.createFile('/loop/x')).toThrow(/symbolic links/);
      w.symlink('/other', '@@PFS00001');
      expect(() => w.createFile('/other/x')).toThrow(UsageError);
    });
    withRead([img], (vs) => {
      const h = HammerFs.open(vs);
      expect(h.readdir('/real/sub').map((e) => e.nameStr).sort()).toEqual(['a', 'b', 'c', 'd']);
      expect(h.exists('/rel')).toBe(false);
    });
  });

  it('keeps ALG0 hash collisions apart on a version 4 filesystem', () => {
    // birthday search on the 31-bit ALG0 key
    const seen = new Map<bigint, string>();
    const pairs: [string, string][] = [];
    // (random 12-letter names: CRC-32 never collides on inputs differing in one short burst)
    const rnd = mulberry32(5);
    for (let i = 0; pairs.length < 3 && i < 2_000_000; i++) {
      let n = '';
      for (let j = 0; j < 12; j++) n += String.fromCharCode(97 + Math.floor(rnd() * 26));
      const k = namekeyAlg0(Buffer.from(n));
      const o = seen.get(k);
      if (o) pairs.push([o, n]);
      else seen.set(k, n);
    }
    const img = image(4);
    withWriter(img, (w) => {
      w.mkdir('/d');
      for (const [a, b] of pairs) {
        w.writeFile(`/d/${a}`, Buffer.from(a));
        w.writeFile(`/d/${b}`, Buffer.from(b));
      }
      w.unlink(`/d/${pairs[0][0]}`); // the first of a pair goes; its key becomes free again
      w.writeFile(`/d/${pairs[0][0]}`, Buffer.from('again'));
    });
    withRead([img], (vs) => {
      const h = HammerFs.open(vs);
      for (const [a, b] of pairs) expect(Buffer.from(h.readFile(`/d/${b}`)).toString()).toBe(b);
      expect(Buffer.from(h.readFile(`/d/${pairs[1][0]}`)).toString()).toBe(pairs[1][0]);
      expect(Buffer.from(h.readFile(`/d/${pairs[0][0]}`)).toString()).toBe('again');
      const keys = h.readdir('/d').map((e) => e.key);
      expect(new Set(keys).size).toBe(keys.length);
      const k0 = namekeyAlg0(Buffer.from(pairs[1][0]));
      expect(keys).toContain(k0);
      expect(keys).toContain(k0 + 1n);
    });
    expect(checkImage([img]).problems).toEqual([]);
  });
});
