// recover: on the undamaged content-v7 every file of the last generation (and of an older one with
// --asof) comes back byte-exact; then on one private copy with growing damage (root-side internal
// nodes zeroed, then volume 0's header zeroed, then a few leaves zeroed) it still rebuilds what
// survives and says which objects are partial. Also a header-less image whose vol_buf_beg is not
// the usual one, other versions and the three-volume set.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRawMedia } from '../../src/fs/raw-scan.js';
import { recover, type RecoverReport } from '../../src/fs/recover.js';
import { imagePaths } from '../helpers/images.js';
import { CLI, readBytes, writeBytes, checkTree, listTree, manifest, lastTid, sparseCopy, tmpDest, treeNodes, zeroBytes, type TreeNodeInfo } from './helpers.js';

const M = manifest();
const LAST = lastTid(M);
const dests: string[] = [];
function run(paths: string[], tag: string, o: Parameters<typeof recover>[2] = {}): { dest: string; report: RecoverReport } {
  const dest = tmpDest(tag);
  dests.push(path.dirname(dest));
  const media = openRawMedia(paths);
  try {
    return { dest, report: recover(media, dest, o) };
  } finally {
    media.close();
  }
}
afterAll(() => {
  for (const d of dests) fs.rmSync(d, { recursive: true, force: true });
});

const hex = (s: string) => BigInt(s);
/** (pfs, obj_id) of every object in the manifest's view at tid. */
function manifestObjects(tid: string): Map<string, { pfs: number; path: string; type: string }> {
  const out = new Map<string, { pfs: number; path: string; type: string }>();
  for (const [pfs, ents] of Object.entries(M.trees[tid])) {
    for (const [p, e] of Object.entries(ents)) out.set(`${pfs}:${hex(e.obj_id)}`, { pfs: Number(pfs), path: p, type: e.type });
  }
  return out;
}

describe('recover on undamaged content-v7', () => {
  let r: { dest: string; report: RecoverReport };
  beforeAll(() => {
    r = run(imagePaths('content-v7'), 'clean');
  });
  it('rebuilds every path of the last generation byte-exact, PFS 0, 1 and 2', () => {
    const c = checkTree(r.dest, M, LAST);
    expect(c.bad).toEqual([]);
    expect(c.checked).toBe(Object.values(M.trees[LAST]).reduce((n, t) => n + Object.keys(t).length, 0));
  });
  it('creates nothing the manifest does not list (no lost+found, no extra names)', () => {
    const want = new Set<string>();
    for (const [pfs, ents] of Object.entries(M.trees[LAST])) {
      const root = `PFS${pfs.padStart(5, '0')}`;
      want.add(root);
      for (const p of Object.keys(ents)) if (p !== '/') want.add(root + p);
    }
    expect(listTree(r.dest).filter((p) => !want.has(p))).toEqual([]);
  });
  it('reports every object complete, hard links as links', () => {
    const s = r.report.summary;
    expect(s.partial).toBe(0);
    expect(s.lostAndFound).toBe(0);
    expect(s.complete).toBe(manifestObjects(LAST).size);
    expect(r.report.objects.every((o) => o.status === 'complete' && o.problems.length === 0)).toBe(true);
    expect(r.report.pfs.map((p) => [p.id, p.mode])).toEqual([[0, 'master'], [1, 'master'], [2, 'slave']]);
    // A file with nlinks 3 in the manifest: one path plus two hard links, all the same inode.
    const multi = Object.entries(M.trees[LAST]['0']).filter(([, e]) => e.type === 'file' && e.nlinks > 1);
    expect(multi.length).toBeGreaterThan(0);
    for (const [p, e] of multi) {
      const o = r.report.objects.find((x) => x.pfs === 0 && x.objId === hex(e.obj_id))!;
      expect(1 + o.links.length).toBe(Object.values(M.trees[LAST]['0']).filter((x) => x.obj_id === e.obj_id).length);
      expect(fs.statSync(path.join(r.dest, 'PFS00000' + p)).ino).toBe(fs.statSync(path.join(r.dest, o.path!)).ino);
    }
    // Data records used per file agree with the manifest; sparse files report their holes.
    for (const [pfs, ents] of Object.entries(M.trees[LAST])) {
      for (const [p, e] of Object.entries(ents)) {
        if (e.type !== 'file') continue;
        const o = r.report.objects.find((x) => x.pfs === Number(pfs) && x.objId === hex(e.obj_id))!;
        expect(o.dataRecords, `${pfs}:${p}`).toBe(e.data_records);
        expect(o.size).toBe(BigInt(e.size));
      }
    }
    expect(r.report.objects.find((o) => o.path === 'PFS00000/sparse/sparse-1.bin')!.holeBytes).toBeGreaterThan(0);
    expect(r.report.scan.leafNodes).toBe(24);
    expect(r.report.scan.internalNodes).toBe(3);
    expect(r.report.scan.records).toBe(1339);
  });
  it('--asof a generation TID rebuilds that generation', () => {
    const g1 = M.generations[0].tid;
    const old = run(imagePaths('content-v7'), 'gen1', { asof: hex(g1) });
    expect(checkTree(old.dest, M, g1).bad).toEqual([]);
    expect(old.report.summary.partial).toBe(0);
  });
  it('--pfs limits to one PFS', () => {
    const one = run(imagePaths('content-v7'), 'pfs1', { pfs: 1 });
    expect(fs.readdirSync(one.dest)).toEqual(['PFS00001']);
    expect(checkTree(one.dest, M, LAST, (pfs) => pfs === 1).bad).toEqual([]);
  });
  it('refuses a non-empty destination', () => {
    const media = openRawMedia(imagePaths('content-v7'));
    try {
      expect(() => recover(media, r.dest)).toThrow(/not empty/);
    } finally {
      media.close();
    }
  });
});

describe('recover on a damaged copy of content-v7', () => {
  let copy: ReturnType<typeof sparseCopy>;
  let nodes: TreeNodeInfo[];
  beforeAll(() => {
    copy = sparseCopy('content-v7');
    nodes = treeNodes(copy.paths);
  });
  afterAll(() => copy?.cleanup());

  it('a few leaves zeroed: the objects whose records were there are partial, the rest byte-exact', () => {
    const leaves = nodes.filter((n) => n.type === 'L');
    // Leaves from both halves of the tree: INODE, DIRENTRY and DATA records of several PFSs.
    const victims = [leaves[3], leaves[10], leaves[20]];
    const hit = new Set<string>();
    const saved = victims.map((n) => ({ n, bytes: readBytes(copy.paths[n.vol], n.pos, 4096) }));
    for (const n of victims) {
      for (const e of n.elms) {
        hit.add(`${e.localization >>> 16}:${e.objId}`);
        if (e.target !== undefined) hit.add(`${e.localization >>> 16}:${e.target}`); // loses its name
      }
      zeroBytes(copy.paths[n.vol], n.pos, 4096);
    }
    const r = run(copy.paths, 'noleaves');
    // Undo the damage for the next cases.
    for (const { n, bytes } of saved) writeBytes(copy.paths[n.vol], n.pos, bytes);
    expect(r.report.scan.lostRanges).toBe(3);
    const byKey = new Map(r.report.objects.map((o) => [`${o.pfs}:${o.objId}`, o]));
    const live = manifestObjects(LAST);
    let affected = 0;
    for (const [k, info] of live) {
      if (!hit.has(k)) continue;
      affected++;
      const o = byKey.get(k);
      // Either nothing at all survived, or it is reported partial.
      if (o) expect(o.status, `${k} ${info.path}`).toBe('partial');
    }
    expect(affected).toBeGreaterThan(5);
    const partial = r.report.objects.filter((o) => o.status === 'partial');
    expect(r.report.summary.partial).toBe(partial.length);
    expect(r.report.summary.complete).toBe(r.report.objects.length - partial.length);
    expect(partial.length).toBeGreaterThanOrEqual(Math.min(affected, 3));
    expect(partial.every((o) => o.problems.length > 0)).toBe(true);
    // Every object reported complete is byte-exact where the manifest says it lives.
    const complete = new Set(r.report.objects.filter((o) => o.status === 'complete').map((o) => `${o.pfs}:${o.objId}`));
    const c = checkTree(r.dest, M, LAST, (pfs, _p, e) => complete.has(`${pfs}:${hex(e.obj_id)}`));
    expect(c.bad).toEqual([]);
    expect(c.checked).toBeGreaterThan(100);
    // Files the manifest has and that were not hit at all are complete.
    for (const [k, info] of live) if (!hit.has(k) && info.type === 'file' && !byKey.get(k)!.problems.includes('records-may-be-lost') && !byKey.get(k)!.problems.includes('not-linked-to-root')) expect(byKey.get(k)!.status, info.path).toBe('complete');
    // Nameless survivors went to lost+found.
    const lf = r.report.objects.filter((o) => o.path?.includes('/lost+found/'));
    expect(lf.length).toBeGreaterThan(0);
    for (const o of lf) expect(o.problems).toContain(/\/lost\+found\/obj_0x[0-9a-f]{16}$/.test(o.path!) ? 'name-missing' : 'not-linked-to-root');
  });

  it('then root and internal nodes zeroed: every file still byte-exact', () => {
    const internal = nodes.filter((n) => n.type === 'I');
    expect(internal.length).toBe(3);
    expect(internal.map((n) => n.depth).sort()).toEqual([0, 1, 1]);
    for (const n of internal) zeroBytes(copy.paths[n.vol], n.pos, 4096);
    const r = run(copy.paths, 'nointernal');
    expect(r.report.scan.internalNodes).toBe(0);
    expect(checkTree(r.dest, M, LAST).bad).toEqual([]);
    expect(r.report.summary.partial).toBe(0);
  });

  it('and volume 0 header zeroed: geometry inferred, still every file (CLI, --json)', () => {
    zeroBytes(copy.paths[0], 0, 16384);
    const dest = tmpDest('nohdr');
    dests.push(path.dirname(dest));
    const p = spawnSync(process.execPath, [CLI, 'recover', dest, '-f', copy.paths.join(':'), '--json'], { maxBuffer: 1 << 28 });
    expect(p.status, p.stderr.toString()).toBe(0);
    const report = JSON.parse(p.stdout.toString());
    expect(report.volumes[0]).toMatchObject({ volNo: 0, bufBeg: 0x88000, geometry: 'inferred', header: false });
    expect(report.warnings.join('\n')).toMatch(/header unusable/);
    expect(checkTree(dest, M, LAST).bad).toEqual([]);
    expect(report.summary.partial).toBe(0);
    // 64-bit values in the JSON report are "0x%016x" strings.
    expect(report.objects[0].objId).toMatch(/^0x[0-9a-f]{16}$/);
  });
});

describe('recover: geometry inference and other images', () => {
  it('header zeroed and vol_buf_beg moved by 64 KiB: inferred from node addresses', () => {
    // Build a shifted copy: every non-zero 16 KiB block of the image 64 KiB further on, header zeroed.
    const src = imagePaths('content-v7')[0];
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hammerfs-shift-'));
    dests.push(dir);
    const dst = path.join(dir, 'shift.img');
    const size = fs.statSync(src).size;
    const fi = fs.openSync(src, 'r'), fo = fs.openSync(dst, 'w');
    const buf = Buffer.alloc(1 << 20), zero = Buffer.alloc(16384);
    fs.ftruncateSync(fo, size + 0x10000);
    for (let pos = 0; pos < size; pos += buf.length) {
      fs.readSync(fi, buf, 0, buf.length, pos);
      for (let at = pos === 0 ? 16384 : 0; at < buf.length; at += 16384) {
        const piece = buf.subarray(at, at + 16384);
        // UNDO big-blocks are left out to keep the copy small; they hold no B-Tree nodes.
        const z2 = pos + at - 0x88000;
        if (z2 >= 2 * 8388608 && z2 < 66 * 8388608) continue;
        if (!piece.equals(zero)) fs.writeSync(fo, piece, 0, 16384, pos + at + 0x10000);
      }
    }
    fs.closeSync(fi);
    fs.closeSync(fo);
    const r = run([dst], 'shift');
    expect(r.report.volumes[0]).toMatchObject({ bufBeg: 0x98000, geometry: 'inferred' });
    expect(r.report.notes.join()).toMatch(/vol_buf_beg 0x98000 inferred/);
    expect(checkTree(r.dest, M, LAST).bad).toEqual([]);
  });

  for (const name of ['v6', 'v4', 'multi3'] as const) {
    it(`${name}: the root directory of a fresh filesystem, all volumes scanned`, () => {
      const r = run(imagePaths(name), name);
      expect(fs.readdirSync(r.dest)).toEqual(['PFS00000']);
      expect(r.report.summary).toMatchObject({ objects: 1, directories: 1, complete: 1, partial: 0 });
      expect(r.report.volumes.map((v) => v.geometry)).toEqual(imagePaths(name).map(() => 'header'));
      expect(r.report.scan.leafNodes).toBe(1);
    });
  }

  it('a file with nothing of HAMMER in it: exit 2, destination left uncreated', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hammerfs-nothammer-'));
    dests.push(dir);
    const f = path.join(dir, 'zeros.img');
    fs.writeFileSync(f, Buffer.alloc(1 << 20, 0x4c)); // every byte 'L': node look-alikes without a CRC
    const dest = path.join(dir, 'out');
    const p = spawnSync(process.execPath, [CLI, 'recover', '-f', f, dest]);
    expect(p.status).toBe(2);
    expect(p.stderr.toString()).toMatch(/^hammerfs: no HAMMER volume header and no B-Tree node found/);
    expect(fs.existsSync(dest)).toBe(false);
  });

  it('multi3 with a volume missing still recovers, with a warning', () => {
    const p = imagePaths('multi3');
    const r = run([p[0], p[2]], 'multi3-missing');
    expect(r.report.warnings.join()).toMatch(/vol_no 1 not given/);
    expect(r.report.summary.complete).toBe(1);
  });
});
