/**
 * The read path through a real block device: attach images read-only to loop devices, run
 * `show --json` / `info --json` / `checkmap --json` on /dev/loopN and on the image file, and
 * compare. Also pins that a block device's size comes from the device itself (stat says 0).
 * Needs root and losetup (util-linux); skipped, with the reason logged, when either is missing
 * or the environment has no loop device support.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { imagePaths } from '../helpers/images.js';
import { runCli } from '../golden/cli.js';
import { openDevice } from '../../src/io/device.js';

function whyNot(): string | null {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'not running as root';
  try {
    execFileSync('losetup', ['--version'], { stdio: 'ignore' });
  } catch {
    return 'losetup (util-linux) is not installed';
  }
  try {
    execFileSync('losetup', ['-f'], { stdio: 'pipe' });
  } catch (e) {
    return `no free loop device (${String((e as { stderr?: Buffer }).stderr ?? e).trim()})`;
  }
  return null;
}
const reason = whyNot();
if (reason) console.log(`loop device tests skipped: ${reason}`);

describe.skipIf(reason !== null)('loop devices', () => {
  const attached: string[] = [];
  const attach = (file: string): string => {
    const dev = execFileSync('losetup', ['-f', '--show', '--read-only', file], { encoding: 'utf8' }).trim();
    attached.push(dev);
    return dev;
  };
  let demoDev: string;
  let multiDevs: string[];

  beforeAll(() => {
    demoDev = attach(imagePaths('demo-v7')[0]);
    multiDevs = imagePaths('multi3').map(attach);
  });
  afterAll(() => {
    for (const d of attached.reverse()) {
      try {
        execFileSync('losetup', ['-d', d]);
      } catch (e) {
        console.log(`losetup -d ${d} failed: ${e}`);
      }
    }
  });

  it('the size of a block device comes from the device, not stat()', () => {
    expect(fs.statSync(demoDev).size).toBe(0);
    const d = openDevice(demoDev);
    try {
      expect(d.isBlockDevice).toBe(true);
      expect(d.size).toBe(fs.statSync(imagePaths('demo-v7')[0]).size);
      // and reads work up to the last byte, not beyond
      expect(d.read(d.size - 16, 16)).toHaveLength(16);
      expect(() => d.read(d.size - 8, 16)).toThrow(/past the end/);
    } finally {
      d.close();
    }
  });

  it('show --json and info --json: /dev/loopN says what the image file says (demo-v7)', async () => {
    const file = imagePaths('demo-v7')[0];
    const [a, b, c, d] = await Promise.all([
      runCli(['show', '--json', '-f', demoDev]), runCli(['show', '--json', '-f', file]),
      runCli(['info', '--json', '-f', demoDev]), runCli(['info', '--json', '-f', file]),
    ]);
    for (const r of [a, b, c, d]) expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(a.stdout)).toEqual(JSON.parse(b.stdout));
    const ia = JSON.parse(c.stdout), ib = JSON.parse(d.stdout);
    expect(ia.volumes[0].path).toBe(demoDev);
    ia.volumes[0].path = ib.volumes[0].path;
    expect(ia).toEqual(ib);
    expect(JSON.parse(a.stdout).nodes[0].elms).toHaveLength(2);
  });

  it('a three-volume set on three loop devices (multi3): show and checkmap agree with the files', async () => {
    const files = imagePaths('multi3');
    const [a, b, c] = await Promise.all([
      runCli(['show', '--json', '-f', multiDevs.join(':')]), runCli(['show', '--json', '-f', files.join(':')]),
      runCli(['checkmap', '--json', '-f', [...multiDevs].reverse().join(':')]),
    ]);
    for (const r of [a, b, c]) expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(a.stdout)).toEqual(JSON.parse(b.stdout));
    expect(JSON.parse(c.stdout).clean).toBe(true);
  });
});
