// `hammerfs ls --deleted` / `--all-versions` on content-v7 (the forensic listings; the library
// side is checked in test/fs/verify-deleted-entries.test.ts). What disappeared between the
// manifest's generations must be listed, with its TIDs, in text and JSON, in masters and in the
// slave (as of its sync_end_tid).
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { imagePaths, goldenJson } from '../helpers/images.js';

const CLI = process.env.HAMMERFS_CLI ?? path.resolve('dist/tools/cli.js');
const IMG = imagePaths('content-v7').join(':');
const M = goldenJson('content-v7.manifest.json');
const GENS: { tid: string }[] = M.generations;

function cli(args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { maxBuffer: 1 << 26 });
  return { code: r.status ?? -1, out: r.stdout.toString(), err: r.stderr.toString() };
}
function json(args: string[]): any {
  const r = cli([...args, '--json']);
  expect(r.code, r.err).toBe(0);
  return JSON.parse(r.out);
}
const dirname = (p: string) => p.slice(0, p.lastIndexOf('/')) || '/';
const basename = (p: string) => p.slice(p.lastIndexOf('/') + 1);

/** "obj_id name" of every entry that vanished from PFS `pfs` between generation i-1 and i. */
function vanished(pfs: number, from = 1, to = GENS.length - 1): Map<string, { path: string; gen: number; m: any }> {
  const key = (t: Record<string, any>, p: string) => `${t[dirname(p)].obj_id} ${basename(p)} ${t[p].obj_id}`;
  const out = new Map<string, { path: string; gen: number; m: any }>();
  for (let g = from; g <= to; g++) {
    const a: Record<string, any> = M.trees[GENS[g - 1].tid][String(pfs)];
    const b: Record<string, any> = M.trees[GENS[g].tid][String(pfs)];
    const after = new Set(Object.keys(b).filter((p) => p !== '/').map((p) => key(b, p)));
    for (const p of Object.keys(a)) {
      if (p === '/' || after.has(key(a, p))) continue;
      out.set(`${a[p].obj_id} ${basename(p)}`, { path: p, gen: g, m: a[p] });
    }
  }
  return out;
}
const entriesOf = (j: any) => j.listings.flatMap((l: any) => l.entries.map((e: any) => ({ ...e, dir: l.path })));

describe('hammerfs ls --deleted', () => {
  it('/links: the unlinked hardlink and the renamed symlinks, with TIDs, times and a history path', () => {
    const want = [...vanished(0).values()].filter((v) => dirname(v.path) === '/links');
    expect(want.length).toBe(3);
    const j = json(['ls', '--deleted', '-f', IMG, '/links']);
    expect(j.mode).toBe('deleted');
    const got = entriesOf(j);
    expect(got.map((e: any) => e.name).sort()).toEqual(want.map((v) => basename(v.path)).sort());
    for (const e of got) {
      const v = want.find((x) => basename(x.path) === e.name)!;
      expect(e.obj_id).toBe(v.m.obj_id);
      expect(e.deleted).toBe(true);
      expect(e.type).toBe(v.m.type);
      expect(BigInt(e.delete_tid) > BigInt(GENS[v.gen - 1].tid) && BigInt(e.delete_tid) <= BigInt(GENS[v.gen].tid)).toBe(true);
      expect(e.create_tid).toMatch(/^0x[0-9a-f]{16}$/);
      expect(e.removed).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      expect(e.history_path).toBe(`/links/${e.name}@@0x${(BigInt(e.delete_tid) - 1n).toString(16).padStart(16, '0')}`);
      // the inode as it was when the entry went away
      expect(e.inode.size).toBe(v.m.size);
    }
    const text = cli(['ls', '--deleted', '-f', IMG, '/links']);
    expect(text.code, text.err).toBe(0);
    const lines = text.out.trim().split('\n');
    expect(lines).toHaveLength(3);
    for (const l of lines) expect(l).toMatch(/^0x[0-9a-f]{16} 0x[0-9a-f]{16} (file|symlink) +0x[0-9a-f]{16} \S+$/);
    // -l adds mode, size and both times
    const long = cli(['ls', '--deleted', '-l', '-f', IMG, '/links']).out;
    expect(long).toMatch(/ -rw-r--r-- +12345 \S+Z +\S+Z +hardlink-2$/m);
  });

  it('-R from the root finds every entry that vanished in PFS 0, including inside the removed subtree', () => {
    const want = vanished(0);
    const got = entriesOf(json(['ls', '--deleted', '-R', '-f', IMG, '/']));
    expect(got.every((e: any) => e.deleted)).toBe(true);
    expect([...new Set(got.map((e: any) => `${e.obj_id} ${e.name}`))].sort()).toEqual([...want.keys()].sort());
    // the rmtree'd directory is entered as it was just before its removal
    const rm = (M.operations as any[]).find((o) => o.op === 'rmtree');
    expect(got.some((e: any) => e.dir.startsWith(rm.path + '@@0x'))).toBe(true);
  });

  it('--asof: nothing deleted yet at generation 1; gen-3 removals not yet at generation 2', () => {
    expect(entriesOf(json(['ls', '--deleted', '-R', '--asof', GENS[0].tid, '-f', IMG, '/']))).toEqual([]);
    const g2 = entriesOf(json(['ls', '--deleted', '-R', '--asof', GENS[1].tid, '-f', IMG, '/']));
    expect([...new Set(g2.map((e: any) => `${e.obj_id} ${e.name}`))].sort()).toEqual([...vanished(0, 1, 1).keys()].sort());
  });

  it('the slave PFS is listed as of its sync_end_tid; the master shows its later removals too', () => {
    const syncEnd = BigInt(M.pfs.find((p: any) => p.id === 2).sync_end_tid);
    const slave = entriesOf(json(['ls', '--deleted', '-R', '--pfs', '2', '-f', IMG, '/']));
    expect(slave.length).toBeGreaterThan(0);
    for (const e of slave) expect(BigInt(e.delete_tid) <= syncEnd).toBe(true);
    expect([...new Set(slave.map((e: any) => `${e.obj_id} ${e.name}`))].sort()).toEqual([...vanished(2).keys()].sort());
    const master = entriesOf(json(['ls', '--deleted', '-R', '--pfs', '1', '-f', IMG, '/']));
    expect([...new Set(master.map((e: any) => `${e.obj_id} ${e.name}`))].sort()).toEqual([...vanished(1).keys()].sort());
    expect(master.some((e: any) => BigInt(e.delete_tid) > syncEnd)).toBe(true);
  });

  it('a path that is not a directory: exit 2', () => {
    const file = Object.keys(M.trees[GENS[GENS.length - 1].tid]['0']).find((p) => M.trees[GENS[GENS.length - 1].tid]['0'][p].type === 'file')!;
    const r = cli(['ls', '--deleted', '-f', IMG, file]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^hammerfs: .*directories/);
  });
});

describe('hammerfs ls --all-versions', () => {
  it('a name unlinked and later recreated: both versions, the live one with no delete TID', () => {
    const op = (M.operations as any[]).find((o) => o.op === 'recreate');
    const j = json(['ls', '--all-versions', '-f', IMG, dirname(op.path)]);
    expect(j.mode).toBe('all-versions');
    const versions = entriesOf(j).filter((e: any) => e.name === basename(op.path));
    expect(versions.map((e: any) => e.deleted).sort()).toEqual([false, true]);
    const live = versions.find((e: any) => !e.deleted);
    expect(live.delete_tid).toBe('0x0000000000000000');
    expect(live.history_path).toBe(op.path);
    const text = cli(['ls', '--all-versions', '-f', IMG, dirname(op.path)]).out.split('\n').filter((l) => l.endsWith(' ' + basename(op.path)));
    expect(text).toHaveLength(2);
    expect(text.some((l) => /^0x[0-9a-f]{16} - {17} file/.test(l))).toBe(true);
  });
  it('every live entry of the root and every removed one, nothing else', () => {
    const cur: Record<string, any> = M.trees[GENS[GENS.length - 1].tid]['0'];
    const live = Object.keys(cur).filter((p) => p !== '/' && dirname(p) === '/').map(basename).sort();
    const removed = [...vanished(0).values()].filter((v) => dirname(v.path) === '/').map((v) => basename(v.path));
    const got = entriesOf(json(['ls', '--all-versions', '-f', IMG, '/']));
    expect(got.filter((e: any) => !e.deleted).map((e: any) => e.name).sort()).toEqual(live);
    expect(got.filter((e: any) => e.deleted).map((e: any) => e.name).sort()).toEqual(removed.sort());
  });
});
