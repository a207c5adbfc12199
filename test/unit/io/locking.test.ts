// Locks between processes: readers share a flock, a writer holds it exclusively, a conflicting
// open is refused at once with LockedError, --no-lock (lock: 'none') lets a reader look anyway.
// The other holder is a real child process. Block devices: O_EXCL for writers, on a loop device
// when running as root.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDevice, openDeviceForWrite } from '../../../src/io/device.js';
import { openVolumeSet } from '../../../src/volume/volume-set.js';
import { LockedError } from '../../../src/errors.js';
import { imagePaths } from '../../helpers/images.js';
import { sparseMetadataCopy } from '../../../fuzz/image-campaign.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const CLI = path.join(REPO, 'dist/tools/cli.js');

// The child takes the lock with the same addon the library uses, then waits for stdin to close.
const HOLDER = `
const fs = require('fs');
const req = require('module').createRequire(${JSON.stringify(path.join(REPO, 'package.json'))});
const [mode, p] = process.argv.slice(1);
let fd;
if (mode === 'excl') fd = fs.openSync(p, fs.constants.O_RDWR | fs.constants.O_EXCL);
else { fd = fs.openSync(p, mode === 'ex' ? 'r+' : 'r'); req('fs-ext').flockSync(fd, mode === 'ex' ? 'exnb' : 'shnb'); }
process.stdout.write('locked\\n');
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
`;

interface Holder {
  child: ChildProcess;
  release(): Promise<void>;
}
function hold(mode: 'sh' | 'ex' | 'excl', p: string): Promise<Holder> {
  const child = spawn(process.execPath, ['-e', HOLDER, mode, p], { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      if (String(d).includes('locked')) {
        resolve({
          child,
          release: () => new Promise((r) => { child.once('exit', () => r()); child.stdin!.end(); }),
        });
      }
    });
    child.once('exit', (code) => reject(new Error(`lock holder exited (${code}): ${err}`)));
  });
}

/** Refused at once: the lock is non-blocking, so the error comes in well under a second. */
function refusedAtOnce(fn: () => unknown): LockedError {
  const t0 = performance.now();
  let e: unknown;
  try {
    const r = fn() as { close?: () => void };
    r?.close?.();
  } catch (x) {
    e = x;
  }
  expect(performance.now() - t0).toBeLessThan(1000);
  expect(e).toBeInstanceOf(LockedError);
  return e as LockedError;
}

let dir: string;
let vol: string; // a private sparse copy of demo-v7 (header, freemap, B-Tree and meta big-blocks)

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hammerfs-lock-'));
  vol = path.join(dir, 'vol.img');
  sparseMetadataCopy(imagePaths('demo-v7')[0], vol);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('flock between processes (image files)', () => {
  it('readers share: a read-only open works while another process reads', async () => {
    const h = await hold('sh', vol);
    try {
      const d = openDevice(vol);
      expect(d.read(0, 8).length).toBe(8);
      d.close();
      openVolumeSet([vol]).close();
    } finally {
      await h.release();
    }
  });

  it('a writer is refused at once while another process reads', async () => {
    const h = await hold('sh', vol);
    try {
      const e = refusedAtOnce(() => openDeviceForWrite(vol));
      expect(e.where.path).toBe(vol);
    } finally {
      await h.release();
    }
    // ...and gets the volume once the reader is gone.
    openDeviceForWrite(vol).close();
  });

  it('a reader and a second writer are refused while another process writes; --no-lock still reads', async () => {
    const h = await hold('ex', vol);
    try {
      refusedAtOnce(() => openDevice(vol));
      refusedAtOnce(() => openVolumeSet([vol]));
      refusedAtOnce(() => openDeviceForWrite(vol));
      const vs = openVolumeSet([vol], { lock: 'none' });
      expect(vs.root.label).toBe('DEMO');
      vs.close();
    } finally {
      await h.release();
    }
  });

  it.skipIf(!fs.existsSync(CLI))('the CLI: refused with exit 3 while another process writes, --no-lock reads anyway', async () => {
    const h = await hold('ex', vol);
    try {
      const locked = spawnSync(process.execPath, [CLI, 'info', '-f', vol], { encoding: 'utf8', timeout: 60_000 });
      expect(locked.status).toBe(3);
      expect(locked.stderr).toMatch(/^hammerfs: .*--no-lock/m);
      const look = spawnSync(process.execPath, [CLI, 'info', '--no-lock', '--json', '-f', vol], { encoding: 'utf8', timeout: 60_000 });
      expect(look.status, look.stderr).toBe(0);
      expect(JSON.parse(look.stdout).label).toBe('DEMO');
    } finally {
      await h.release();
    }
  });

  it('our own writer holds an exclusive lock another process cannot take', async () => {
    const w = openDeviceForWrite(vol);
    try {
      await expect(hold('sh', vol)).rejects.toThrow(/EAGAIN|EWOULDBLOCK|Resource temporarily unavailable/);
    } finally {
      w.close();
    }
    const h = await hold('sh', vol);
    await h.release();
  });

  it('our own reader holds a shared lock: another process cannot take it exclusively', async () => {
    const vs = openVolumeSet([vol]);
    try {
      await expect(hold('ex', vol)).rejects.toThrow(/EAGAIN|EWOULDBLOCK|Resource temporarily unavailable/);
      await (await hold('sh', vol)).release();
    } finally {
      vs.close();
    }
  });
});

const isRoot = (process.getuid?.() ?? 1) === 0;
const haveLosetup = isRoot && spawnSync('losetup', ['--version']).status === 0 && fs.existsSync('/dev/loop-control');

describe.skipIf(!haveLosetup)('block devices (loop device)', () => {
  let loop = '';
  beforeAll(() => {
    const r = spawnSync('losetup', ['-f', '--show', vol], { encoding: 'utf8' });
    if (r.status === 0) loop = r.stdout.trim();
  });
  afterAll(() => {
    if (loop) spawnSync('losetup', ['-d', loop]);
  });

  it('a writer opens with O_EXCL: a second writer and another process\'s O_EXCL open are refused', async (ctx) => {
    if (!loop) ctx.skip();
    const w = openDeviceForWrite(loop);
    try {
      expect(w.isBlockDevice).toBe(true);
      expect(w.size).toBe(fs.statSync(vol).size);
      refusedAtOnce(() => openDeviceForWrite(loop));
      await expect(hold('excl', loop)).rejects.toThrow(/EBUSY/);
      // A reader with --no-lock may still look.
      const r = openDevice(loop, { lock: 'none' });
      expect(r.read(0, 8).length).toBe(8);
      r.close();
    } finally {
      w.close();
    }
  });

  it('a writer is refused while another process holds the device with O_EXCL', async (ctx) => {
    if (!loop) ctx.skip();
    const h = await hold('excl', loop);
    try {
      const e = refusedAtOnce(() => openDeviceForWrite(loop));
      expect(e.message).toMatch(/busy/);
    } finally {
      await h.release();
    }
    openDeviceForWrite(loop).close();
  });
});
