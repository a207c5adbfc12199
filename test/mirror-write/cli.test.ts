// CLI of the PFS commands and mirror-copy: create, update, downgrade/upgrade, destroy with and
// without -y, mirror-copy SRC#N DST#M (same image and across images), usage errors (exit 2).
import { describe, it, expect, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { copyImage } from '../helpers/images.js';

const CLI = process.env.HAMMERFS_CLI ?? path.resolve('dist/tools/cli.js');
const cleanups: (() => void)[] = [];
afterAll(() => cleanups.forEach((c) => c()));
const cli = (args: string[]) => {
  const r = spawnSync(process.execPath, [CLI, ...args], { maxBuffer: 1 << 28, input: '' });
  return { code: r.status, out: r.stdout.toString(), err: r.stderr.toString() };
};
const status = (img: string, pfs: number) => {
  const r = cli(['pfs-status', '-f', img, '--json']);
  expect(r.code, r.err).toBe(0);
  const j = JSON.parse(r.out);
  const list: any[] = Array.isArray(j) ? j : j.pfs ?? j.pfses ?? [];
  return list.find((p) => p.id === pfs || p.pfs === pfs);
};

describe('pfs-* and mirror-copy CLI', () => {
  it('creates, updates, downgrades, upgrades and destroys PFSs', () => {
    const img = copyImage('content-v7');
    cleanups.push(img.cleanup);
    const f = img.paths[0];
    let r = cli(['pfs-master', '-f', f, '--pfs', '5', 'label=five', '--json']);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ pfs: 5, mode: 'master', label: 'five', rootInode: true });
    expect(cli(['pfs-master', '-f', f, '--pfs', '5']).code).toBe(2); // exists
    expect(cli(['pfs-master', '-f', f, '--pfs', '0']).code).toBe(2);
    expect(cli(['pfs-master', '-f', f, '--pfs', '6', 'colour=blue']).code).toBe(2);
    // an empty master root is listable
    r = cli(['ls', '-f', f, '--pfs', '5', '/']);
    expect(r.code, r.err).toBe(0);
    r = cli(['pfs-update', '-f', f, '--pfs', '5', 'label=renamed', 'prune-min=2d']);
    expect(r.code, r.err).toBe(0);
    expect(status(f, 5)).toMatchObject({ label: 'renamed' });
    // slave from the master's shared uuid, then mirror-copy on the same image
    const shared = status(f, 1).sharedUuid ?? status(f, 1).shared_uuid;
    expect(cli(['pfs-slave', '-f', f, '--pfs', '7', `shared-uuid=${shared}`]).code).toBe(0);
    r = cli(['mirror-copy', `${f}#1`, `${f}#7`, '--json']);
    expect(r.code, r.err).toBe(0);
    const rep = JSON.parse(r.out);
    expect(rep.created).toBeGreaterThan(50);
    // same files on both sides
    const ls = (pfs: number) => cli(['ls', '-f', f, '--pfs', String(pfs), '-R', '/']).out;
    expect(ls(7)).toBe(ls(1));
    // downgrade / upgrade
    r = cli(['pfs-downgrade', '-f', f, '--pfs', '5']);
    expect(r.code, r.err).toBe(0);
    expect(cli(['pfs-downgrade', '-f', f, '--pfs', '5']).code).toBe(2);
    r = cli(['pfs-upgrade', '-f', f, '--pfs', '7']);
    expect(r.code, r.err).toBe(0);
    expect(ls(7)).toBe(ls(1));
    // destroy needs -y without a terminal
    r = cli(['pfs-destroy', '-f', f, '--pfs', '7']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/-y/);
    r = cli(['pfs-destroy', '-f', f, '--pfs', '7', '-y']);
    expect(r.code, r.err).toBe(0);
    expect(cli(['ls', '-f', f, '--pfs', '7', '/']).code).toBe(2);
    const chk = cli(['verify', '-f', f]);
    expect(chk.code, chk.out + chk.err).toBe(0);
  });

  it('mirror-copy argument errors', () => {
    expect(cli(['mirror-copy', 'a.img', 'b.img#1']).code).toBe(2);
    expect(cli(['mirror-copy', 'a.img#1', 'a.img#1']).code).toBe(2);
    const img = copyImage('content-v7');
    cleanups.push(img.cleanup);
    const f = img.paths[0];
    const r = cli(['mirror-copy', `${f}#1`, `${f}#9`]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/-y/);
    expect(fs.existsSync(f)).toBe(true);
  });
});
