// The filesystem view against the content-v7 oracle (images/content-v7.manifest.json): every path
// of every generation in every PFS, read back through path resolution, must match the manifest in
// type, obj_id, mode, ids, size, times, nlinks, content sha256, symlink bytes and rdev, and the
// set of paths found by walking the directories must be exactly the manifest's.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openVolumeSet, type VolumeSet } from '../../src/volume/volume-set.js';
import { HammerFs, CURRENT, parsePath, type Inode } from '../../src/fs/index.js';
import { NotFoundError, NotDirectoryError } from '../../src/errors.js';
import { readDirectory } from '../../src/fs/directory.js';
import { imagePaths, goldenJson } from '../helpers/images.js';

interface MEntry {
  type: string; obj_id: string; mode: number; uid: number; gid: number; size: number; nlinks: number;
  mtime_us: number; ctime_us: number; atime_us: number; uflags: number; parent_obj_id: string; inode_tid: string;
  cap_flags?: number; entries?: number; sha256?: string; data_records?: number; target?: string; rdev?: [number, number];
}
const M = goldenJson('content-v7.manifest.json');
const GENS: { gen: number; tid: string }[] = M.generations;
const trees: Record<string, Record<string, Record<string, MEntry>>> = M.trees;
const hex = (v: bigint) => '0x' + BigInt.asUintN(64, v).toString(16).padStart(16, '0');

let vs: VolumeSet;
let fs0: HammerFs;
beforeAll(() => {
  vs = openVolumeSet(imagePaths('content-v7'));
  fs0 = HammerFs.open(vs);
});
afterAll(() => vs.close());

function sha256(fs: HammerFs, ino: Inode): string {
  const h = createHash('sha256');
  // small chunks so 64 KiB records straddle chunk boundaries too
  for (const c of fs.stream(ino, { chunkSize: 40000 })) h.update(c);
  return h.digest('hex');
}

function checkEntry(fs: HammerFs, path: string, m: MEntry): void {
  const r = fs.resolve(path);
  const ino = r.inode;
  const at = `${path} @ ${hex(fs.asof)} pfs ${fs.pfs}`;
  expect(ino.type, at).toBe(m.type);
  expect(hex(ino.objId), at).toBe(m.obj_id);
  expect(ino.mode, at).toBe(m.mode);
  expect([ino.uid, ino.gid], at).toEqual([m.uid, m.gid]);
  expect(ino.size, at).toBe(BigInt(m.size));
  expect(ino.nlinks, at).toBe(BigInt(m.nlinks));
  expect([ino.mtime, ino.ctime, ino.atime], at).toEqual([BigInt(m.mtime_us), BigInt(m.ctime_us), BigInt(m.atime_us)]);
  expect(ino.uflags, at).toBe(m.uflags);
  expect(hex(ino.parentObjId), at).toBe(m.parent_obj_id);
  expect(hex(ino.createTid), at).toBe(m.inode_tid);
  if (m.type === 'dir') {
    expect(ino.capFlags, at).toBe(m.cap_flags);
    expect(fs.readdir(ino).length, at).toBe(m.entries);
  }
  if (m.type === 'file') {
    expect(sha256(fs, ino), at).toBe(m.sha256);
    expect(fs.dataRecords(ino).length, at).toBe(m.data_records);
  }
  if (m.type === 'symlink') expect(Buffer.from(fs.readlink(ino)).toString('utf8'), at).toBe(m.target);
  if (m.rdev) expect([ino.rmajor, ino.rminor], at).toEqual(m.rdev);
}

/** Every path reachable from the root by readdir (no symlink following). */
function walk(fs: HammerFs): string[] {
  const out = ['/'];
  const rec = (dir: Inode, prefix: string) => {
    for (const e of fs.readdir(dir)) {
      const p = prefix + '/' + e.nameStr;
      out.push(p);
      if (e.type === 'dir') {
        const ino = fs.inode(e.objId, dir.viewTid);
        expect(ino, p).toBeDefined();
        rec(ino!, p);
      }
    }
  };
  rec(fs.root(), '');
  return out.sort();
}

describe('content-v7: every manifest path at every generation and PFS', () => {
  for (const g of GENS) {
    for (const pfs of ['0', '1', '2']) {
      it(`gen ${g.gen} (${g.tid}) PFS ${pfs}`, () => {
        const fs = fs0.view({ pfs: Number(pfs), asof: BigInt(g.tid) });
        const tree = trees[g.tid][pfs];
        for (const [path, m] of Object.entries(tree)) checkEntry(fs, path, m);
        expect(walk(fs)).toEqual(Object.keys(tree).sort());
      });
    }
  }
  it('current view (no --asof) equals the last generation; the slave reads as of its sync_end_tid', () => {
    const last = GENS[GENS.length - 1].tid;
    for (const pfs of ['0', '1', '2']) {
      const fs = fs0.view({ pfs: Number(pfs) });
      if (pfs === '2') expect(hex(fs.asof)).toBe(M.pfs[2].sync_end_tid);
      else expect(fs.asof).toBe(CURRENT);
      for (const [path, m] of Object.entries(trees[last][pfs])) checkEntry(fs, path, m);
      expect(walk(fs)).toEqual(Object.keys(trees[last][pfs]).sort());
    }
  });
});

describe('content-v7: path syntax', () => {
  it('name@@0x<tid> reads that name (and below) as of the TID', () => {
    const [g1, , g3] = GENS;
    // a path deleted in generation 2 is visible through @@ of generation 1
    const gone = Object.keys(trees[g1.tid]['0']).find((p) => !(p in trees[g3.tid]['0']) && trees[g1.tid]['0'][p].type === 'file')!;
    expect(() => fs0.resolve(gone)).toThrow(NotFoundError);
    const parts = gone.split('/');
    parts[1] = parts[1] + '@@' + g1.tid;
    const r = fs0.resolve(parts.join('/'));
    expect(r.asof).toBe(BigInt(g1.tid));
    expect(hex(r.inode.objId)).toBe(trees[g1.tid]['0'][gone].obj_id);
    expect(sha256(fs0, r.inode)).toBe(trees[g1.tid]['0'][gone].sha256);
    // "@@0x..." alone re-reads the directory
    const r2 = fs0.resolve('/@@' + g1.tid + gone);
    expect(r2.inode.objId).toBe(r.inode.objId);
  });
  it('. and .. resolve; .. comes from parent_obj_id; root is its own parent', () => {
    expect(fs0.resolve('/edge/..').inode.objId).toBe(1n);
    expect(fs0.resolve('/..').inode.objId).toBe(1n);
    expect(fs0.resolve('/edge/./..//edge').inode.objId).toBe(fs0.resolve('/edge').inode.objId);
    const dots = fs0.readdir('/edge', { dots: true });
    expect(dots.slice(0, 2).map((e) => e.nameStr)).toEqual(['.', '..']);
    expect(dots[1].objId).toBe(1n);
  });
  it('parsePath peels @@0x<tid> per component', () => {
    const p = parsePath('/a@@0x0000000100000409/b//c@@0x1/');
    expect(p.absolute).toBe(true);
    expect(p.trailingSlash).toBe(true);
    expect(p.components.map((c) => [Buffer.from(c.name).toString(), c.asof])).toEqual([['a', 0x100000409n], ['b', undefined], ['c', 1n]]);
  });
  it('symlinks in the middle of a path are followed; the last one only on request', () => {
    const last = GENS[GENS.length - 1].tid;
    const t = trees[last]['0'];
    // relative target: /links/link-len14-1 -> ../edge/size-1
    expect(fs0.resolve('/links/link-len14-1').inode.type).toBe('symlink');
    expect(hex(fs0.resolve('/links/link-len14-1', { follow: true }).inode.objId)).toBe(t['/edge/size-1'].obj_id);
    expect(() => fs0.resolve('/links/link-len16-9', { follow: true })).toThrow(NotFoundError);
    // a PFS link in the middle enters the master PFS 1 as of now
    const r = fs0.resolve('/pfs/master-1/pfs-level-1');
    expect(r.pfs).toBe(1);
    expect(hex(r.inode.objId)).toBe(trees[last]['1']['/pfs-level-1'].obj_id);
  });
  it('readdir resumes correctly across scan batches and from a cookie', () => {
    const dir = fs0.resolve('/bigdir').inode;
    const all = [...readDirectory(fs0.ctx, dir, CURRENT)];
    expect(all.length).toBeGreaterThan(10);
    for (const n of [1, 2, 7]) expect([...readDirectory(fs0.ctx, dir, CURRENT, undefined, n)].map((e) => e.key)).toEqual(all.map((e) => e.key));
    expect([...readDirectory(fs0.ctx, dir, CURRENT, all[4].key, 3)].map((e) => e.nameStr)).toEqual(all.slice(5).map((e) => e.nameStr));
  });
  it('errors are typed', () => {
    expect(() => fs0.resolve('/no-such-name')).toThrow(NotFoundError);
    expect(() => fs0.resolve('/zen.txt/x')).toThrow(NotDirectoryError);
  });
  it('PFS links: @@PFSnnnnn is entered in the middle of a path, presented expanded', () => {
    const link = fs0.resolve('/pfs/slave-2').inode;
    expect(Buffer.from(fs0.readlink(link)).toString()).toBe('@@PFS00002');
    expect(Buffer.from(fs0.readlinkPresented(link)).toString()).toBe(`@@${M.pfs[2].sync_end_tid}:00002`);
    expect(Buffer.from(fs0.readlinkPresented(fs0.resolve('/pfs/master-1').inode)).toString()).toBe('@@-1:00001');
    const r = fs0.resolve('/pfs/slave-2/');
    expect(r.pfs).toBe(2);
    expect(hex(r.asof)).toBe(M.pfs[2].sync_end_tid);
    const names = fs0.readdir(r.inode).map((e) => '/' + e.nameStr);
    const last = GENS[GENS.length - 1].tid;
    expect(names.every((n) => n in trees[last]['2'])).toBe(true);
  });
  it('hash collisions: every member of each collision group resolves to its own inode', () => {
    for (const c of M.hash_collisions as { pfs: number; dir: string; names: string[]; later?: string }[]) {
      const last = GENS[GENS.length - 1].tid;
      for (const n of [...c.names, ...(c.later ? [c.later] : [])]) {
        const p = `${c.dir}/${n}`;
        const m = trees[last][String(c.pfs)][p];
        if (!m) continue;
        expect(hex(fs0.view({ pfs: c.pfs }).resolve(p).inode.objId), p).toBe(m.obj_id);
      }
    }
  });
});

describe('content-v7: PFS and snapshots', () => {
  it('lists every PFS with the manifest fields', () => {
    const l = fs0.listPfs();
    expect(l.map((p) => p.id)).toEqual(M.pfs.map((p: { id: number }) => p.id));
    for (const [i, m] of (M.pfs as Record<string, any>[]).entries()) {
      const p = l[i];
      expect(p.slave ? 'slave' : 'master').toBe(m.mode);
      expect([p.label, p.sharedUuid, p.uniqueUuid, p.mirrorFlags]).toEqual([m.label, m.shared_uuid, m.unique_uuid, m.mirror_flags]);
      expect([hex(p.syncBegTid), hex(p.syncEndTid), hex(p.recordTid!)]).toEqual([m.sync_beg_tid, m.sync_end_tid, m.record_tid]);
    }
  });
  it('lists the snapshots of each PFS', () => {
    for (const pfs of [0, 1, 2]) {
      // snapshots are mirrored: the slave (PFS 2) carries its master's (PFS 1)
      const want = (M.snapshots as Record<string, any>[]).filter((s) => s.pfs === (pfs === 2 ? 1 : pfs));
      const got = fs0.snapshots(pfs);
      expect(got.map((s) => [hex(s.tid), s.label, Number(s.ts), hex(s.createTid)])).toEqual(want.map((s) => [s.tid, s.label, s.ts_us, s.create_tid]));
    }
  });
});

describe('content-v7: history', () => {
  it('lists every version of files changed across generations; each TID reads back the manifest bytes', () => {
    const genTids = GENS.map((g) => BigInt(g.tid));
    const changed = (M.operations as { op: string; pfs: number; path: string; to?: string }[]).filter((o) => ['overwrite', 'truncate'].includes(o.op));
    let checked = 0;
    for (const op of changed) {
      const fs = fs0.view({ pfs: op.pfs });
      // find the file's obj_id in the generation before the change
      const first = trees[GENS[0].tid][String(op.pfs)][op.path] ?? trees[GENS[1].tid][String(op.pfs)][op.path];
      if (!first) continue;
      const objId = BigInt(first.obj_id);
      const h = fs.history(objId);
      expect(h.inodes.length).toBeGreaterThan(1);
      const tids = h.tids.map((t) => t.tid);
      // every content the manifest shows for this inode in some generation is one of the versions
      const seen = new Set<string>();
      // every generation in which the file changed shows up as at least one TID after the previous generation
      for (const t of h.tids) {
        const g = genTids.findIndex((x) => x >= t.tid);
        if (g < 0) continue;
        const ino = fs.inode(objId, t.tid);
        const m = Object.values(trees[GENS[g].tid][String(op.pfs)]).find((e) => e.obj_id === first.obj_id);
        if (!ino || !m) continue;
        expect(ino.size, `${op.path} @ ${hex(t.tid)}`).toBe(BigInt(m.size));
        const d = sha256(fs, ino);
        expect(d, `${op.path} @ ${hex(t.tid)}`).toBe(m.sha256);
        seen.add(d);
        checked++;
      }
      for (const g of GENS) {
        const m = Object.values(trees[g.tid][String(op.pfs)]).find((e) => e.obj_id === first.obj_id);
        if (m?.sha256) expect(seen.has(m.sha256), `${op.path}: generation ${g.gen} content among history versions`).toBe(true);
      }
      expect(new Set(tids).size).toBe(tids.length);
    }
    expect(checked).toBeGreaterThan(20);
  });
});
