// CLI tests of ls, cat, stat, history, snapshots, pfs-status on content-v7: spawn the built CLI
// (node dist/tools/cli.js) and compare what it prints with images/content-v7.manifest.json.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { imagePaths, goldenJson } from '../helpers/images.js';

// HAMMERFS_CLI: a private build for local runs while others rebuild dist/ (CI: npm test builds dist/).
const CLI = process.env.HAMMERFS_CLI ?? path.resolve('dist/tools/cli.js');
const IMG = imagePaths('content-v7').join(':');
const M = goldenJson('content-v7.manifest.json');
const GENS: { tid: string }[] = M.generations;
const LAST = GENS[GENS.length - 1].tid;
const cur = (pfs: number): Record<string, any> => M.trees[LAST][String(pfs)];

function cli(args: string[]): { code: number; out: Buffer; err: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { maxBuffer: 1 << 28 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr.toString() };
}
function json(args: string[]): any {
  const r = cli([...args, '--json']);
  expect(r.code, r.err).toBe(0);
  return JSON.parse(r.out.toString());
}
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('hammerfs ls', () => {
  it('lists the root directory names (path after -f)', () => {
    const r = cli(['ls', '-f', IMG, '/']);
    expect(r.code, r.err).toBe(0);
    const want = Object.keys(cur(0)).filter((p) => p !== '/' && p.lastIndexOf('/') === 0).map((p) => p.slice(1)).sort();
    expect(r.out.toString().trim().split('\n').sort()).toEqual(want);
  });
  it('-R -l --json covers every path of the manifest with its attributes', () => {
    for (const pfs of [0, 1, 2]) {
      const j = json(['ls', '-R', '-l', '--pfs', String(pfs), '-f', IMG, '/']);
      const got = new Map<string, any>();
      for (const l of j.listings) for (const e of l.entries) got.set((l.path === '/' ? '' : l.path) + '/' + e.name, e);
      const want = cur(pfs);
      expect([...got.keys()].sort()).toEqual(Object.keys(want).filter((p) => p !== '/').sort());
      for (const [p, e] of got) {
        const m = want[p];
        expect([e.type, e.obj_id, e.mode, e.uid, e.gid, e.size, e.nlinks, e.mtime_us], p).toEqual([m.type, m.obj_id, m.mode, m.uid, m.gid, m.size, m.nlinks, m.mtime_us]);
        if (m.type === 'symlink') expect(e.target, p).toBe(m.target);
      }
    }
  });
  it('-l prints mode strings and symlink targets; --asof shows an older generation', () => {
    const r = cli(['ls', '-l', '-f', IMG, '/links']);
    expect(r.code, r.err).toBe(0);
    expect(r.out.toString()).toMatch(/^lrwxr-xr-x .* link-len16-9 -> dangling\/nowhere$/m);
    const old = cli(['ls', '--asof', GENS[0].tid, '-f', IMG, '/']).out.toString().split('\n');
    expect(old).not.toContain('created-in-gen2');
    expect(cli(['ls', '-f', IMG, '/']).out.toString().split('\n')).toContain('created-in-gen2');
  });
});

describe('hammerfs cat', () => {
  it('writes files raw to stdout, byte-exact (all edge sizes, the largest, a sample of the rest)', () => {
    // Every file is read through the library in test/fs; here a spawn per file is the cost, so
    // take the /edge files, the three largest and every fourth other file.
    for (const pfs of [0, 1]) {
      const files = Object.entries(cur(pfs)).filter(([, m]) => m.type === 'file');
      const big = new Set(files.map(([, m]) => m.size as number).sort((a, b) => b - a).slice(0, 3));
      for (const [i, [p, m]] of files.entries()) {
        if (!(p.startsWith('/edge/') || big.has(m.size) || i % 4 === 0)) continue;
        const r = cli(['cat', '--pfs', String(pfs), '-f', IMG, p]);
        expect(r.code, `${p}: ${r.err}`).toBe(0);
        expect(r.out.length, p).toBe(m.size);
        expect(sha(r.out), p).toBe(m.sha256);
      }
    }
  });
  it('reads a past version through name@@0x<tid> and through --asof', () => {
    const g1 = M.trees[GENS[0].tid]['0'];
    const changed = Object.keys(g1).find((p) => g1[p].type === 'file' && cur(0)[p] && cur(0)[p].sha256 !== g1[p].sha256)!;
    const viaAsof = cli(['cat', '--asof', GENS[0].tid, '-f', IMG, changed]);
    expect(sha(viaAsof.out)).toBe(g1[changed].sha256);
    const parts = changed.split('/');
    parts[parts.length - 1] += '@@' + GENS[0].tid;
    expect(sha(cli(['cat', '-f', IMG, parts.join('/')]).out)).toBe(g1[changed].sha256);
  });
  it('errors: missing file and directory exit 2 with one line on stderr', () => {
    for (const p of ['/no/such', '/edge']) {
      const r = cli(['cat', '-f', IMG, p]);
      expect(r.code).toBe(2);
      expect(r.out.length).toBe(0);
      expect(r.err).toMatch(/^hammerfs: .+\n$/);
    }
    const bad = cli(['cat', '--asof', 'zz', '-f', IMG, '/zen.txt']);
    expect(bad.code).toBe(2);
  });
});

describe('hammerfs stat / history / snapshots / pfs-status', () => {
  it('stat --json matches the manifest for every type', () => {
    const picks = ['/special/disk0', '/special/null', '/special/fifo', '/special/socket', '/links/link-len1000-7', '/pfs/slave-2', '/edge', '/zen.txt'];
    for (const p of picks) {
      const m = cur(0)[p];
      const j = json(['stat', '-f', IMG, p]);
      expect([j.type, j.obj_id, j.mode, j.uid, j.gid, j.size, j.nlinks, j.mtime_us, j.ctime_us, j.atime_us, j.create_tid], p)
        .toEqual([m.type, m.obj_id, m.mode, m.uid, m.gid, m.size, m.nlinks, m.mtime_us, m.ctime_us, m.atime_us, m.inode_tid]);
      if (m.rdev) expect(j.rdev).toEqual(m.rdev);
      if (m.target) expect(j.target).toBe(m.target);
    }
  });
  it('history lists every version; cat --asof each TID gives that generation\'s bytes', () => {
    const p = '/edge/size-4096';
    const h = json(['history', '-f', IMG, p]);
    expect(h.versions.length).toBeGreaterThanOrEqual(3);
    for (const v of h.versions) {
      const g = GENS.find((x) => BigInt(x.tid) >= BigInt(v.tid));
      if (!g) continue;
      const m = M.trees[g.tid]['0'][p];
      const r = cli(['cat', '--asof', v.tid, '-f', IMG, p]);
      expect(sha(r.out), v.tid).toBe(m.sha256);
    }
    const text = cli(['history', '-f', IMG, p]).out.toString();
    for (const v of h.versions) expect(text).toContain(v.tid);
  });
  it('snapshots and pfs-status', () => {
    const s = json(['snapshots', '-f', IMG]);
    expect(s.snapshots.map((x: any) => [x.tid, x.label])).toEqual(M.snapshots.filter((x: any) => x.pfs === 0).map((x: any) => [x.tid, x.label]));
    const p = json(['pfs-status', '-f', IMG]);
    expect(p.pfs.map((x: any) => [x.id, x.mode, x.shared_uuid, x.unique_uuid, x.sync_beg_tid, x.sync_end_tid, x.label])).toEqual(
      M.pfs.map((x: any) => [x.id, x.mode, x.shared_uuid, x.unique_uuid, x.sync_beg_tid, x.sync_end_tid, x.label]),
    );
    const t = cli(['pfs-status', '-f', IMG]).out.toString();
    expect(t).toContain('operating mode: SLAVE');
    expect(t).toContain('label="slave-of-1"');
  });
});
