// hammerfs verify as a user runs it: exit 0 on every real image (warnings allowed), exit 1 with
// the problem listed and a one-line summary on stderr when the media is damaged, exit 2 for
// input that is not a complete HAMMER volume set; --json with 64-bit values as "0x%016x".
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { copyImage, imagePaths, NEWFS_IMAGES, type ImageName, flipByte } from '../helpers/images.js';

// HAMMERFS_CLI: a private build for local runs while others rebuild dist/ (CI: npm test builds dist/).
const CLI = process.env.HAMMERFS_CLI ?? path.resolve('dist/tools/cli.js');

function cli(args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { maxBuffer: 1 << 26 });
  return { code: r.status ?? -1, out: r.stdout.toString(), err: r.stderr.toString() };
}
const vols = (name: ImageName) => imagePaths(name).join(':');

describe('hammerfs verify on the real images', () => {
  it.each([...NEWFS_IMAGES, 'content-v7' as const])('%s: exit 0, clean', (name) => {
    const r = cli(['verify', '--json', '-f', vols(name)]);
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(j).toMatchObject({ command: 'verify', clean: true, errors: 0 });
    expect(j.problems.every((p: { severity: string }) => p.severity !== 'error')).toBe(true);
    if (name === 'content-v7') {
      expect(j.problems).toEqual([]);
      // 64-bit values as strings: the slave PFS is checked as of its sync_end_tid
      expect(j.stats.pfs.map((p: { id: number; asof: string }) => [p.id, p.asof])).toEqual([
        [0, '0xffffffffffffffff'], [1, '0xffffffffffffffff'], [2, '0x00000001000003ec'],
      ]);
    } else {
      expect(j.problems.find((p: { code: string }) => p.code === 'VOL_CRC').where).toMatchObject({ rawOffset: 156, volNo: 0 });
    }
  });
  it('text output: one line per problem, a summary; --pfs limits the filesystem checks', () => {
    let r = cli(['verify', '-f', vols('demo-v7')]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^warning VOL_CRC: volume header CRC is 0 .*byte 0x9c/m);
    expect(r.out.trim().split('\n').pop()).toBe('0 errors, 3 warnings, 1 note: clean');
    expect(r.err).toBe('');
    r = cli(['verify', '--pfs', '1', '--json', '-f', vols('content-v7')]);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out).stats.pfs.map((p: { id: number }) => p.id)).toEqual([1]);
    // --max bounds the list, not the counts
    const j = JSON.parse(cli(['verify', '--max', '1', '--no-data', '--json', '-f', vols('v6')]).out);
    expect([j.problems.length, j.warnings, j.truncated, j.clean]).toEqual([1, 3, true, true]);
  });
});

describe('hammerfs verify exit codes on bad input', () => {
  let img: ReturnType<typeof copyImage> | undefined;
  afterAll(() => img?.cleanup());

  it('a damaged node: exit 1, the problem on stdout, one summary line on stderr', () => {
    img = copyImage('demo-v7');
    // flip one byte inside the root leaf (zone-2 0x21000000, device byte vol_buf_beg + that)
    flipByte(img.paths[0], 0x88000 + 0x21000000 + 0x30, 0x01);
    const r = cli(['verify', '-f', img.paths[0]]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^error {3}NODE_CRC: B-Tree node CRC mismatch .*B-Tree node 8000000021000000 \(vol 0, byte 0x21088000, /m);
    expect(r.out.trim().split('\n').pop()).toMatch(/^1 error, 3 warnings, 1 note: PROBLEMS FOUND$/);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/^hammerfs: verify found 1 error; first: B-Tree node CRC mismatch/);
    const j = JSON.parse(cli(['verify', '--json', '-f', img.paths[0]]).out);
    expect(j.clean).toBe(false);
    expect(j.problems.find((p: { code: string }) => p.code === 'NODE_CRC').where).toMatchObject({ hammer_off: '0x8000000021000000', rawOffset: 0x21088000, volNo: 0 });
  });
  it('not HAMMER, an incomplete set, an unknown PFS: exit 2 with one line', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hammerfs-verify-'));
    try {
      const junk = path.join(dir, 'junk.img');
      fs.writeFileSync(junk, Buffer.alloc(65536, 0x41));
      for (const args of [['-f', junk], ['-f', imagePaths('multi3')[0]], ['--pfs', '9', '-f', vols('content-v7')]]) {
        const r = cli(['verify', ...args]);
        expect(r.code, args.join(' ')).toBe(2);
        expect(r.out).toBe('');
        expect(r.err).toMatch(/^hammerfs: [^\n]+\n$/);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
