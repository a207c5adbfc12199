// Forensic directory listings (HammerFs.entryVersions, behind `ls --deleted` / `--all-versions`)
// on content-v7, checked against the manifest: every entry that disappeared between two
// generations (unlink, rename, rmtree, replaced by a rename) is listed as deleted in the
// directory that held it, with TIDs inside that generation, and its history path still reads
// the content the manifest recorded for it.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openVolumeSet, type VolumeSet } from '../../src/volume/volume-set.js';
import { HammerFs, CURRENT, type Inode } from '../../src/fs/index.js';
import { hex64 } from '../../src/ondisk/int64.js';
import { imagePaths, goldenJson } from '../helpers/images.js';

const M = goldenJson('content-v7.manifest.json');
const GENS: { tid: string }[] = M.generations;
const LAST = GENS[GENS.length - 1].tid;

interface Triple {
  dir: bigint;
  name: string;
  obj: bigint;
  path: string;
}
const dirname = (p: string) => p.slice(0, p.lastIndexOf('/')) || '/';
const basename = (p: string) => p.slice(p.lastIndexOf('/') + 1);

/** (parent dir obj_id, name, obj_id) of every path of one generation's tree of a PFS. */
function triples(gen: string, pfs: number): Map<string, Triple> {
  const t: Record<string, any> = M.trees[gen][String(pfs)];
  const out = new Map<string, Triple>();
  for (const [p, m] of Object.entries(t)) {
    if (p === '/') continue;
    const dir = BigInt(t[dirname(p)].obj_id);
    const tr = { dir, name: basename(p), obj: BigInt(m.obj_id), path: p };
    out.set(`${dir}/${tr.name}/${tr.obj}`, tr);
  }
  return out;
}

let vs: VolumeSet;
beforeAll(() => {
  vs = openVolumeSet(imagePaths('content-v7'));
});
afterAll(() => vs.close());

/** A directory by obj_id: live now, or its last version before it went away. */
function dirInode(h: HammerFs, objId: bigint): Inode {
  return h.inode(objId) ?? h.inodeVersions(objId).at(-1)!;
}

describe('entryVersions on content-v7', () => {
  for (const pfs of [0, 1]) {
    it(`PFS ${pfs}: deleted entries are exactly the ones that vanished between generations`, () => {
      const h = HammerFs.open(vs, { pfs });
      const expected = new Map<string, Triple & { lo: bigint; hi: bigint; gen: string }>();
      const dirs = new Set<bigint>();
      for (let g = 1; g < GENS.length; g++) {
        const before = triples(GENS[g - 1].tid, pfs);
        const after = triples(GENS[g].tid, pfs);
        for (const [k, tr] of before) if (!after.has(k)) expected.set(k, { ...tr, lo: BigInt(GENS[g - 1].tid), hi: BigInt(GENS[g].tid), gen: GENS[g - 1].tid });
        for (const tr of [...before.values(), ...after.values()]) dirs.add(tr.dir);
      }
      expect(expected.size).toBeGreaterThan(pfs === 0 ? 20 : 3);
      const got = new Map<string, { tr: Triple; createTid: bigint; deleteTid: bigint; createTs?: number; deleteTs?: number }>();
      for (const d of dirs) {
        // as of now: a directory reached as it was before its removal defaults to its own TID
        for (const e of h.entryVersions(dirInode(h, d), { deletedOnly: true, asof: CURRENT })) {
          got.set(`${d}/${e.nameStr}/${e.objId}`, { tr: { dir: d, name: e.nameStr, obj: e.objId, path: '' }, createTid: e.createTid, deleteTid: e.deleteTid, createTs: e.createTs, deleteTs: e.deleteTs });
        }
      }
      expect([...got.keys()].sort()).toEqual([...expected.keys()].sort());
      for (const [k, x] of expected) {
        const g = got.get(k)!;
        expect(g.deleteTid > x.lo && g.deleteTid <= x.hi, `${x.path} deleted at ${hex64(g.deleteTid)}`).toBe(true);
        expect(g.createTid <= x.lo, x.path).toBe(true);
        expect(g.deleteTs! >= g.createTs! && g.createTs! > 0, x.path).toBe(true);
      }
    });
  }

  it('a deleted file read through dir/name@@0x<delete_tid - 1> has the content the manifest recorded', () => {
    const h = HammerFs.open(vs, { pfs: 0 });
    let checked = 0;
    for (let g = 1; g < GENS.length; g++) {
      const prev: Record<string, any> = M.trees[GENS[g - 1].tid]['0'];
      const now: Record<string, any> = M.trees[GENS[g].tid]['0'];
      for (const [p, m] of Object.entries(prev)) {
        if (m.type !== 'file' || (now[p] && now[p].obj_id === m.obj_id) || !now[dirname(p)] || now[dirname(p)].obj_id !== prev[dirname(p)].obj_id) continue;
        const dir = h.stat(dirname(p));
        const e = h.entryVersions(dir, { deletedOnly: true }).find((x) => x.nameStr === basename(p) && x.objId === BigInt(m.obj_id))!;
        const hp = `${p}@@0x${hex64(e.deleteTid - 1n)}`;
        const data = h.readFile(hp);
        expect(createHash('sha256').update(data).digest('hex'), hp).toBe(m.sha256);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(5);
  });

  it('--all-versions = the live entries plus the deleted ones; asof limits both', () => {
    const h = HammerFs.open(vs, { pfs: 0 });
    const cur: Record<string, any> = M.trees[LAST]['0'];
    for (const [p, m] of Object.entries(cur)) {
      if (m.type !== 'dir') continue;
      const dir = h.stat(p);
      const all = h.entryVersions(dir);
      const live = h.readdir(dir);
      const deleted = h.entryVersions(dir, { deletedOnly: true });
      expect(all.length, p).toBe(live.length + deleted.length);
      expect(all.filter((e) => e.deleteTid === 0n).map((e) => e.nameStr).sort(), p).toEqual(live.map((e) => e.nameStr).sort());
      // key order, versions of one key by create_tid
      for (let i = 1; i < all.length; i++) {
        expect(all[i - 1].key < all[i].key || (all[i - 1].key === all[i].key && all[i - 1].createTid < all[i].createTid), p).toBe(true);
      }
    }
    // as of generation 1 nothing had been deleted yet, and nothing created later is listed
    const g1 = BigInt(GENS[0].tid);
    const root1 = h.view({ asof: g1 }).root();
    expect(h.entryVersions(root1, { deletedOnly: true })).toEqual([]);
    const names1 = Object.keys(M.trees[GENS[0].tid]['0']).filter((p) => p !== '/' && dirname(p) === '/').map(basename).sort();
    expect(h.entryVersions(root1).map((e) => e.nameStr).sort()).toEqual(names1);
  });

  it('a name deleted and later recreated shows both versions', () => {
    const h = HammerFs.open(vs, { pfs: 0 });
    const op = (M.operations as any[]).find((o) => o.op === 'recreate');
    const all = h.entryVersions(h.stat(dirname(op.path))).filter((e) => e.nameStr === basename(op.path));
    expect(all.length).toBe(2);
    expect(all.filter((e) => e.deleteTid === 0n).length).toBe(1);
    const dead = all.find((e) => e.deleteTid !== 0n)!;
    const live = all.find((e) => e.deleteTid === 0n)!;
    expect(dead.deleteTid <= live.createTid).toBe(true);
  });
});
