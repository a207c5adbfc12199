// hammerfs extract on content-v7, compared with images/content-v7.manifest.json on the local
// disk: types, sizes, sha256, modes, mtimes/atimes, symlink bytes, hardlinks (same obj_id = same
// local inode), FIFOs, device nodes (as root; otherwise they must be reported, not created),
// uid/gid as root. Three views: PFS 0 now, PFS 1 as of generation 1, the slave PFS 2 by default.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { imagePaths, goldenJson } from '../helpers/images.js';

// HAMMERFS_CLI: a private build for local runs while others rebuild dist/ (CI: npm test builds dist/).
const CLI = process.env.HAMMERFS_CLI ?? path.resolve('dist/tools/cli.js');
const IMG = imagePaths('content-v7').join(':');
const M = goldenJson('content-v7.manifest.json');
const GENS: { tid: string }[] = M.generations;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hammerfs-extract-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const NOBODY_CAN_READ =
  process.getuid?.() === 0 &&
  spawnSync(process.execPath, ['-e', `const f=require('fs');for(const p of ${JSON.stringify([CLI, ...imagePaths('content-v7')])})f.closeSync(f.openSync(p,'r'))`], { uid: 65534, gid: 65534 }).status === 0;

function extract(args: string[], dest: string, uid?: number): { code: number; err: string; rep: any } {
  const r = spawnSync(process.execPath, [CLI, 'extract', '-f', IMG, ...args, '/', dest, '--json'], { maxBuffer: 1 << 26, ...(uid !== undefined ? { uid, gid: uid } : {}) });
  return { code: r.status ?? -1, err: r.stderr.toString(), rep: r.status === 0 ? JSON.parse(r.stdout.toString()) : undefined };
}

function compare(dest: string, tree: Record<string, any>, rep: any, ROOT = process.getuid?.() === 0): void {
  const inoOf = new Map<string, number>();
  for (const [p, m] of Object.entries(tree)) {
    const local = path.join(dest, p);
    if (m.type === 'socket' || ((m.type === 'chr' || m.type === 'blk') && !ROOT)) {
      expect(fs.existsSync(local), p).toBe(false);
      expect(rep.skipped.some((s: any) => s.path.endsWith(p)), `${p} reported`).toBe(true);
      continue;
    }
    const st = fs.lstatSync(local, { bigint: true });
    const kind = st.isDirectory() ? 'dir' : st.isFile() ? 'file' : st.isSymbolicLink() ? 'symlink' : st.isFIFO() ? 'fifo' : st.isBlockDevice() ? 'blk' : st.isCharacterDevice() ? 'chr' : '?';
    expect(kind, p).toBe(m.type);
    if (m.type !== 'symlink') expect(Number(st.mode & 0o7777n), p).toBe(m.mode);
    // utimes goes through a double of seconds: allow one microsecond of rounding
    const us = (ns: bigint) => Number(ns / 1000n);
    expect(Math.abs(us(st.mtimeNs) - m.mtime_us), `${p} mtime`).toBeLessThanOrEqual(1);
    // atime: only before this test reads the data (a second name of a hardlinked file was read already)
    if (m.type !== 'dir' && !inoOf.has(m.obj_id)) expect(Math.abs(us(st.atimeNs) - m.atime_us), `${p} atime`).toBeLessThanOrEqual(1);
    if (ROOT) expect([Number(st.uid), Number(st.gid)], p).toEqual([m.uid, m.gid]);
    if (m.type === 'file') {
      expect(Number(st.size), p).toBe(m.size);
      expect(createHash('sha256').update(fs.readFileSync(local)).digest('hex'), p).toBe(m.sha256);
      const seen = inoOf.get(m.obj_id);
      if (seen !== undefined) expect(Number(st.ino), `${p} hardlink`).toBe(seen);
      else inoOf.set(m.obj_id, Number(st.ino));
      expect(Number(st.nlink), `${p} nlink`).toBe(m.nlinks);
    }
    if (m.type === 'symlink') expect(fs.readlinkSync(local, { encoding: 'buffer' }).equals(Buffer.from(m.target, 'utf8')), p).toBe(true);
    if (m.rdev && ROOT) {
      const rdev = Number(st.rdev);
      // glibc makedev(): major bits 8..19 and 32.., minor bits 0..7 and 20..
      const major = ((rdev >> 8) & 0xfff) | Math.floor(rdev / 2 ** 32) & ~0xfff;
      const minor = (rdev & 0xff) | ((rdev >> 12) & ~0xff);
      expect([major, minor], p).toEqual(m.rdev);
    }
  }
  // nothing extra: walk the local tree
  const found: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const n of fs.readdirSync(d)) {
      const p = rel + '/' + n;
      found.push(p);
      if (fs.lstatSync(path.join(d, n)).isDirectory()) walk(path.join(d, n), p);
    }
  };
  walk(dest, '');
  const expected = Object.entries(tree).filter(([p, m]) => p !== '/' && !(m.type === 'socket' || ((m.type === 'chr' || m.type === 'blk') && !ROOT))).map(([p]) => p);
  expect(found.sort()).toEqual(expected.sort());
}

describe('hammerfs extract', () => {
  it('PFS 0, current: the whole tree matches the manifest', () => {
    const dest = path.join(tmp, 'pfs0');
    const r = extract([], dest);
    expect(r.code, r.err).toBe(0);
    compare(dest, M.trees[GENS[2].tid]['0'], r.rep);
    expect(r.rep.hardlinks).toBeGreaterThan(0);
  });
  it('PFS 1 as of generation 1, and the slave PFS 2 (read as of its sync_end_tid)', () => {
    const d1 = path.join(tmp, 'pfs1-gen1');
    const r1 = extract(['--pfs', '1', '--asof', GENS[0].tid], d1);
    expect(r1.code, r1.err).toBe(0);
    compare(d1, M.trees[GENS[0].tid]['1'], r1.rep);
    const d2 = path.join(tmp, 'pfs2');
    const r2 = extract(['--pfs', '2'], d2);
    expect(r2.code, r2.err).toBe(0);
    compare(d2, M.trees[GENS[2].tid]['2'], r2.rep);
  });
  // CI runs as root; run the extractor once as an unprivileged user to see devices reported, not
  // made — when that user can reach the CLI and the image at all (not under a private home).
  it.runIf(NOBODY_CAN_READ)('as a non-root user: device nodes are reported, everything else extracted', () => {
    const base = fs.mkdtempSync(path.join(os.tmpdir(), 'hammerfs-extract-nobody-'));
    try {
      fs.chmodSync(base, 0o777);
      const dest = path.join(base, 'pfs0');
      const r = extract([], dest, 65534);
      expect(r.code, r.err).toBe(0);
      expect(r.rep.devices).toBe(0);
      expect(r.rep.skipped.filter((s: any) => /mknod needs root/.test(s.reason)).length).toBe(2);
      compare(dest, M.trees[GENS[2].tid]['0'], r.rep, false);
      expect(fs.statSync(path.join(dest, 'zen.txt')).uid).toBe(65534);
    } finally {
      fs.rmSync(base, { recursive: true, force: true });
    }
  });
  it('refuses to overwrite existing files (exit 3, one error line)', () => {
    const dest = path.join(tmp, 'pfs1-again');
    expect(extract(['--pfs', '1'], dest).code).toBe(0);
    const r = extract(['--pfs', '1'], dest);
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/^hammerfs: cannot create file \(EEXIST\)/);
  });
});
