/**
 * `hammerfs newfs` through the real CLI: exit codes and one-line messages for bad options,
 * the refusal to overwrite HAMMER (naming the path, no prompt without a TTY), --size, --json.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { runCliIn, tempDir } from './helpers.js';
import { openVolumeSet } from '../../src/volume/volume-set.js';

let t: { dir: string; cleanup: () => void };
beforeAll(() => {
  t = tempDir('cli');
});
afterAll(() => t.cleanup());

const MiB = 1024 * 1024;
const run = (...args: string[]) => runCliIn(t.dir, ['newfs', ...args]);
/** One line on stderr, "hammerfs: ...", no stack trace. */
function oneLineError(stderr: string, re: RegExp): void {
  const lines = stderr.trimEnd().split('\n');
  expect(lines.length, stderr).toBe(1);
  expect(lines[0]).toMatch(/^hammerfs: /);
  expect(lines[0]).toMatch(re);
}

describe('hammerfs newfs', () => {
  it('--size creates a sparse image; --json reports the layout with 64-bit values as hex strings', async () => {
    const r = await run('-L', 'J', '-u', '8m', '--force', '--size', '64m', '--json', '-f', 'j.img');
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({
      version: 7, label: 'J', undoSize: 8 * MiB, bootAreaSize: 32768, memoryLogSize: 262144, bigBlocks: 4, freeBigBlocks: 2,
      nextTid: '0x0000000100000000', btreeRoot: '0x8000000001800000', totalSize: 64 * MiB,
    });
    expect(j.volumes).toHaveLength(1);
    expect(j.volumes[0]).toMatchObject({ volNo: 0, path: 'j.img', type: 'REGFILE', size: 64 * MiB, bufBeg: 0x88000 });
    expect(fs.statSync(path.join(t.dir, 'j.img')).size).toBe(64 * MiB);
    // Warnings go to stderr, never into the JSON document.
    expect(r.stderr).toMatch(/hammerfs: warning: UNDO\/REDO FIFO size 8.00MB is below the minimum/);
  });

  it('refuses a volume that holds HAMMER without --force, naming it, without prompting', async () => {
    const r = await run('-L', 'AGAIN', '-u', '8m', '-f', 'j.img');
    expect(r.code, r.stderr).toBe(2);
    oneLineError(r.stderr, /already holds a HAMMER filesystem \(label "J".*--force.*j\.img/);
    expect(r.stdout).toBe('');
    const again = await run('-L', 'AGAIN', '-u', '8m', '--force', '-f', 'j.img');
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^Volume 0 REGFILE j\.img +size  64\.00MB\n/);
    expect(again.stdout).toMatch(/\nundo-buffer-size: +8\.00MB\n/);
    const vs = openVolumeSet([path.join(t.dir, 'j.img')], { lock: 'none' });
    expect(vs.root.label).toBe('AGAIN');
    vs.close();
  });

  it('makes a multi-volume set with per-volume --size and a pinned fsid and clock', async () => {
    const r = await run('-L', 'M', '-V', '4', '-u', '16m', '--force', '--size', '64m:48m:40m',
      '--fsid', 'eece4bf9-203a-f941-9f9b-912c952348a0', '--time', '1795503794000001', '--json', '-f', 'm0.img:m1.img', '-f', 'm2.img');
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.version).toBe(4);
    expect(j.fsid).toBe('eece4bf9-203a-f941-9f9b-912c952348a0');
    expect(j.fsidRaw).toBe('f94bceee3a2041f99f9b912c952348a0');
    expect(j.timeUs).toBe('0x000661004dd59081');
    expect(j.createTs).toBe(1795503794);
    expect(j.volumes.map((v: { size: number }) => v.size)).toEqual([64 * MiB, 48 * MiB, 40 * MiB]);
    const vs = openVolumeSet(['m0.img', 'm1.img', 'm2.img'].map((f) => path.join(t.dir, f)), { lock: 'none' });
    expect(vs.volumes).toHaveLength(3);
    expect(vs.warnings).toEqual([]);
    vs.close();
  });

  it('exits 3 when another process holds the volume (flock), and writes nothing', async () => {
    const p = path.join(t.dir, 'locked.img');
    fs.closeSync(fs.openSync(p, 'w'));
    fs.truncateSync(p, 64 * MiB);
    const ext = createRequire(import.meta.url)('fs-ext') as { flockSync(fd: number, f: string): void };
    const fd = fs.openSync(p, 'r');
    try {
      ext.flockSync(fd, 'sh');
      const r = await run('-L', 'L', '-u', '8m', '--force', '-f', 'locked.img');
      expect(r.code, r.stderr).toBe(3);
      oneLineError(r.stderr.split('\n').filter((l) => !/warning/.test(l)).join('\n'), /in use by another process.*locked\.img/);
    } finally {
      fs.closeSync(fd);
    }
    const head = Buffer.alloc(16384);
    const rd = fs.openSync(p, 'r');
    fs.readSync(rd, head, 0, head.length, 0);
    fs.closeSync(rd);
    expect(head.every((b) => b === 0)).toBe(true);
  });

  it('exits 2 with a one-line message on bad options', async () => {
    fs.writeFileSync(path.join(t.dir, 'tiny.img'), Buffer.alloc(MiB));
    fs.closeSync(fs.openSync(path.join(t.dir, 'big.img'), 'w'));
    fs.truncateSync(path.join(t.dir, 'big.img'), 1024 * MiB);
    const cases: [string[], RegExp][] = [
      [['-f', 'big.img'], /label must be given/],
      [['-L', 'X', '-V', '9', '-f', 'big.img'], /cannot format HAMMER version 9/],
      [['-L', 'X', '-V', 'seven', '-f', 'big.img'], /-V takes a HAMMER version/],
      [['-L', 'X', '-f', 'tiny.img'], /ran out of room, filesystem too small.*tiny\.img/],
      [['-L', 'X', '-f', 'nosuch.img'], /no such file.*--size.*nosuch\.img/],
      [['-L', 'X', '-u', '64m', '-f', 'big.img'], /minimum UNDO\/REDO FIFO size is 0\.50GB/],
      [['-L', 'X', '-u', '2g', '--force', '-f', 'big.img'], /maximum UNDO\/REDO FIFO size is 1\.00GB/],
      [['-L', 'X', '-u', '64q', '-f', 'big.img'], /cannot read size "64q"/],
      [['-L', 'X', '-b', '20k', '--force', '-f', 'big.img'], /not a multiple of 16 KiB/],
      [['-L', 'X', '--fsid', 'not-a-uuid', '-f', 'big.img'], /--fsid takes a UUID/],
      [['-L', 'X', '--time', 'soon', '-f', 'big.img'], /--time takes microseconds/],
      [['-L', 'X', '--size', '1m', '-f', 'big.img'], /refusing to shrink/],
      [['-L', 'X', '-f', 'big.img:big.img'], /more than once/],
    ];
    for (const [args, re] of cases) {
      const r = await run(...args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      oneLineError(r.stderr, re);
    }
    // None of them wrote anything.
    expect(fs.readFileSync(path.join(t.dir, 'tiny.img')).every((b) => b === 0)).toBe(true);
    expect(fs.existsSync(path.join(t.dir, 'nosuch.img'))).toBe(false);
    const fd = fs.openSync(path.join(t.dir, 'big.img'), 'r');
    const head = Buffer.alloc(16384);
    fs.readSync(fd, head, 0, head.length, 0);
    fs.closeSync(fd);
    expect(head.every((b) => b === 0)).toBe(true);
  });
});
