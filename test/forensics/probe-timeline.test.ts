// probe exit codes and output (good images, a non-HAMMER file, a volume missing, a foreign volume),
// and timeline's bodyfile on content-v7 against the manifest. Both through the built CLI.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { imagePaths } from '../helpers/images.js';
import { probe } from '../../src/fs/probe.js';
import { CLI, manifest, lastTid } from './helpers.js';

function cli(args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { maxBuffer: 1 << 28 });
  return { code: r.status ?? -1, out: r.stdout.toString(), err: r.stderr.toString() };
}
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hammerfs-probe-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('probe', () => {
  it('a good single volume: blkid-style line, exit 0', () => {
    const img = imagePaths('demo-v7')[0];
    const r = cli(['probe', '-f', img]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toBe(`${img}: TYPE="hammer" LABEL="DEMO" UUID="eece4bf9-203a-f941-9f9b-912c952348a0" VERSION="7" VOLUME="0/1"\n`);
  });
  it('v4 and v6 report their versions', () => {
    expect(cli(['probe', '-f', imagePaths('v4')[0]]).out).toMatch(/LABEL="V4" UUID="b3c6c648-c99d-094a-9849-29d318a58d7c" VERSION="4"/);
    expect(cli(['probe', '-f', imagePaths('v6')[0]]).out).toMatch(/LABEL="V6" .*VERSION="6"/);
  });
  it('multi3 complete in any order: exit 0, one line per volume', () => {
    const p = imagePaths('multi3');
    const r = cli(['probe', '-f', [p[2], p[0], p[1]].join(':')]);
    expect(r.code, r.err).toBe(0);
    expect(r.out.trim().split('\n').map((l) => /VOLUME="(\d)\/3"/.exec(l)![1])).toEqual(['2', '0', '1']);
  });
  it('multi3 with a volume missing: exit 3, says which', () => {
    const p = imagePaths('multi3');
    const r = cli(['probe', '-f', `${p[0]}:${p[2]}`]);
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/vol_no 1 not given/);
    expect(r.out.trim().split('\n')).toHaveLength(2);
    const j = JSON.parse(cli(['probe', '--json', '-f', `${p[0]}:${p[2]}`]).out);
    expect(j).toMatchObject({ verdict: 'incomplete', exitCode: 3 });
  });
  it('a non-HAMMER file: exit 2, nothing on stdout', () => {
    const f = path.join(tmp, 'zeros.img');
    fs.writeFileSync(f, Buffer.alloc(65536));
    const r = cli(['probe', '-f', f]);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/not HAMMER/);
    const small = path.join(tmp, 'small');
    fs.writeFileSync(small, 'hello');
    expect(cli(['probe', '-f', small]).code).toBe(2);
  });
  it('volumes of two filesystems, or a foreign file in the set: exit 3 (inconsistent)', () => {
    const f = path.join(tmp, 'zeros2.img');
    fs.writeFileSync(f, Buffer.alloc(65536));
    expect(cli(['probe', '-f', `${imagePaths('demo-v7')[0]}:${imagePaths('v6')[0]}`]).code).toBe(3);
    const r = probe([imagePaths('demo-v7')[0], f]);
    expect(r.verdict).toBe('inconsistent');
    expect(r.problems.join()).toMatch(/not a HAMMER volume/);
  });
  it('a missing path or a directory is not HAMMER (exit 2); with a good volume the set is inconsistent (3)', () => {
    expect(cli(['probe', '-f', path.join(tmp, 'nope')]).code).toBe(2);
    expect(cli(['probe', '-f', tmp]).code).toBe(2);
    expect(cli(['probe', '-f', `${imagePaths('demo-v7')[0]}:${path.join(tmp, 'nope')}`]).code).toBe(3);
  });
});

describe('timeline', () => {
  const M = manifest();
  const r = cli(['timeline', '-f', imagePaths('content-v7').join(':')]);
  const lines = r.out.trim().split('\n').map((l) => l.split('|'));

  it('prints one well-formed bodyfile line per INODE record', () => {
    expect(r.code, r.err).toBe(0);
    expect(lines).toHaveLength(M.counts.records_by_type.INODE);
    for (const l of lines) {
      expect(l).toHaveLength(11);
      expect(l[0]).toBe('0');
      expect(l[2]).toMatch(/^\d+$/);
      expect(l[3]).toMatch(/^[-rdlcbps]\/[-rdlcbps][-r][-w][-xsS][-r][-w][-xsS][-r][-w][-xtT]$/);
      for (const i of [4, 5, 6, 7, 8, 9, 10]) expect(l[i]).toMatch(/^\d+$/);
      expect(l[1]).toMatch(/@@0x[0-9a-f]{16}( \(deleted\))?$/);
    }
  });
  it('has the current version of every manifest object with its path, size, owner and times', () => {
    const LAST = lastTid(M);
    const byVer = new Map<string, string[]>();
    for (const l of lines) {
      const m = /@@0x([0-9a-f]{16})( \(deleted\))?$/.exec(l[1])!;
      byVer.set(`${l[2]}:${m[1]}:${l[1].startsWith('/@@PFS') ? l[1].slice(6, 11) : '00000'}`, l);
    }
    let n = 0;
    for (const [pfs, ents] of Object.entries(M.trees[LAST])) {
      for (const [p, e] of Object.entries(ents)) {
        const l = byVer.get(`${BigInt(e.obj_id)}:${e.inode_tid.slice(2)}:${pfs.padStart(5, '0')}`);
        expect(l, `${pfs}:${p}`).toBeDefined();
        const name = l![1].replace(/@@0x[0-9a-f]{16}( \(deleted\))?$/, '');
        const prefix = pfs === '0' ? '' : `/@@PFS${pfs.padStart(5, '0')}`;
        // Hard links: any of the object's names; names with '|', '\' or controls are escaped.
        const names = Object.entries(ents).filter(([, x]) => x.obj_id === e.obj_id).map(([q]) => prefix + (q === '/' && prefix ? '' : q));
        if (!/[|\\\t]/.test(names.join(''))) expect(names, `${pfs}:${p}`).toContain(name);
        expect(l![1].endsWith('(deleted)')).toBe(false);
        expect(Number(l![6])).toBe(e.size);
        expect(Number(l![8])).toBe(Math.floor(e.mtime_us / 1e6));
        expect(Number(l![4])).toBe(e.uid);
        expect(Number(l![5])).toBe(e.gid);
        n++;
      }
    }
    expect(n).toBeGreaterThan(190);
  });
  it('marks objects deleted by generation 3 as deleted', () => {
    const first = M.trees[M.generations[0].tid]['0'];
    const last = M.trees[lastTid(M)]['0'];
    const liveIds = new Set(Object.values(last).map((e) => BigInt(e.obj_id).toString()));
    const gone = Object.values(first).filter((e) => !liveIds.has(BigInt(e.obj_id).toString()));
    expect(gone.length).toBeGreaterThan(0);
    for (const e of gone) {
      const ls = lines.filter((l) => l[2] === BigInt(e.obj_id).toString() && !l[1].startsWith('/@@PFS'));
      expect(ls.length).toBeGreaterThan(0);
      expect(ls.every((l) => l[1].endsWith(' (deleted)'))).toBe(true);
    }
  });
  it('--json gives the entries with 64-bit values as hex strings', () => {
    const j = JSON.parse(cli(['timeline', '--json', '--pfs', '1', '-f', imagePaths('content-v7').join(':')]).out);
    expect(j.length).toBeGreaterThan(10);
    expect(j.every((e: { pfs: number }) => e.pfs === 1)).toBe(true);
    expect(j[0].objId).toBe('0x0000000000000001');
    expect(j[0].path).toBe('/@@PFS00001');
    expect(typeof j[0].size).toBe('number');
    expect(j[0].mtime).toBe(Math.floor(M.trees[lastTid(M)]['1']['/'].mtime_us / 1e6));
  });
});
