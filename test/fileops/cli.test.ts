// The file-operation commands end to end: spawn the built CLI (HAMMERFS_CLI overrides the path,
// for private builds while dist/ is rebuilt by others), then read the image with the library.
import { describe, it, expect, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HammerFs } from '../../src/fs/index.js';
import { tmpDir, freshImage, checkImage, withRead, generateTree } from './helpers.js';

const CLI = process.env.HAMMERFS_CLI ?? path.resolve('dist/tools/cli.js');

function cli(args: string[], input?: Buffer): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { input, maxBuffer: 1 << 26 });
  return { code: r.status ?? -1, out: r.stdout.toString(), err: r.stderr.toString() };
}

describe('file-operation commands', () => {
  const t = tmpDir('cli');
  afterAll(() => t.cleanup());

  it('import, write, mkdir, ln, chmod, chown, touch, mv, snapshot, rm; errors and exit codes', () => {
    const img = freshImage(t.dir, { size: 128 * 1024 * 1024 });
    const src = generateTree(path.join(t.dir, 'src'), { files: 60, depth: 5, seed: 3 });
    const ok = (args: string[], input?: Buffer) => {
      const r = cli([args[0], '-f', img, ...args.slice(1)], input);
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      return r;
    };
    const imp = JSON.parse(ok(['import', '--json', src, '/imp']).out);
    expect(imp.files).toBeGreaterThan(60);
    expect(imp.hardlinks).toBe(2);
    const payload = Buffer.alloc(3 * 1024 * 1024 + 5, 0x5a);
    ok(['write', '/big'], payload);
    ok(['write', '--append', '/big'], Buffer.from('tail'));
    ok(['mkdir', '-p', '/x/y/z']);
    ok(['ln', '-s', 'some/where', '/x/sl']);
    ok(['ln', '/big', '/x/hard']);
    ok(['chmod', '4755', '/big']);
    ok(['chown', '1000:100', '/big']);
    ok(['touch', '--mtime', '1500000000000000', '/x/y/new']);
    const snap = JSON.parse(ok(['snapshot', '--json', 'before-mv']).out);
    ok(['mv', '/x/y', '/imp']); // into an existing directory
    ok(['rm', '-r', '/imp/misc']);
    ok(['rm', '/x/hard']);
    // errors: one line, exit 2 for bad usage / missing names
    for (const [args, code] of [
      [['rm', '/x'], 2],
      [['mkdir', '/x'], 2],
      [['mv', '/nope', '/n2'], 2],
      [['chmod', '999', '/big'], 2],
      [['write', '--append', '/nothere'], 2],
    ] as const) {
      const r = cli([args[0], '-f', img, ...args.slice(1)]);
      expect(r.code).toBe(code);
      expect(r.err.trim().split('\n').length).toBe(1);
      expect(r.err.startsWith('hammerfs: ')).toBe(true);
    }
    const slave = cli(['mkdir', '-f', img, '--pfs', '5', '/a']);
    expect(slave.code).toBe(2);

    withRead([img], (vs) => {
      const h = HammerFs.open(vs);
      const big = h.stat('/big');
      expect([big.mode, big.uid, big.gid, big.nlinks]).toEqual([0o4755, 1000, 100, 1n]);
      expect(Buffer.from(h.readFile('/big')).equals(Buffer.concat([payload, Buffer.from('tail')]))).toBe(true);
      expect(Buffer.from(h.readlink(h.stat('/x/sl'))).toString()).toBe('some/where');
      expect(h.stat('/imp/y/new').mtime).toBe(1500000000000000n);
      expect(h.exists('/imp/misc')).toBe(false);
      const past = h.view({ asof: BigInt(snap.tid) });
      expect(past.exists('/imp/misc/orig')).toBe(true);
      expect(past.stat('/x/hard').nlinks).toBe(2n);
      expect(h.snapshots().map((s) => s.label)).toEqual(['before-mv']);
    });
    expect(checkImage([img]).problems).toEqual([]);
  }, 180_000);
});
