// import in bounded batches is crash-consistent: the device dies at several points of an import,
// recovery runs on reopen, and what the image then shows is a clean prefix of the source tree
// (every object present matches the source; a file being written has a prefix of its bytes).
import { describe, it, expect, afterAll } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MemoryDevice, FaultDevice } from '../../src/io/memory-device.js';
import { WritableVolumeSet } from '../../src/volume/writable-volume-set.js';
import { HammerWriter } from '../../src/fs/write/writer.js';
import { importTree } from '../../src/fs/write/import.js';
import { HammerFs } from '../../src/fs/index.js';
import { tmpDir, freshImage, generateTree, checkImage } from './helpers.js';

describe('import crash consistency', () => {
  const t = tmpDir('crash');
  afterAll(() => t.cleanup());

  it('a device failing mid-import leaves a recoverable image holding a prefix of the tree', () => {
    const src = generateTree(path.join(t.dir, 'src'), { files: 120, depth: 8, seed: 11 });
    const img = freshImage(t.dir, { size: 96 * 1024 * 1024 });
    const pristine = fs.readFileSync(img);
    const run = (dev: MemoryDevice | FaultDevice) => {
      const vs = WritableVolumeSet.fromDevices([dev]);
      try {
        importTree(new HammerWriter(vs), src, '/i', { batchBytes: 512 * 1024 });
      } finally {
        vs.close();
      }
    };
    // count the writes of a full import
    const full = new MemoryDevice(img, Uint8Array.from(pristine));
    const counter = new FaultDevice(full, {});
    run(counter);
    const total = counter.writes;
    expect(total).toBeGreaterThan(50);
    let prevObjects = -1;
    let rolledBack = 0;
    for (const frac of [0.1, 0.3, 0.5, 0.7, 0.9]) {
      const mem = new MemoryDevice(img, Uint8Array.from(pristine));
      expect(() => run(new FaultDevice(mem, { failWriteAt: Math.floor(total * frac), writeFault: 'short' }))).toThrow();
      // reopen: recovery rolls back the interrupted commit
      const after = path.join(t.dir, `after-${frac}.img`);
      const vs = WritableVolumeSet.fromDevices([new MemoryDevice(after, mem.data)]);
      expect(vs.recovery).not.toBeNull();
      if (!vs.recovery!.clean) rolledBack++;
      let objects = 0;
      try {
        const h = HammerFs.open(vs);
        if (h.exists('/i')) {
          const walk = (inside: string, local: string) => {
            for (const e of h.readdir(inside)) {
              objects++;
              const ip = `${inside}/${e.nameStr}`;
              const lp = path.join(local, e.nameStr);
              const st = fs.lstatSync(lp);
              const ino = h.stat(ip);
              if (st.isDirectory()) {
                expect(ino.type).toBe('dir');
                walk(ip, lp);
              } else if (st.isFile()) {
                expect(ino.type).toBe('file');
                expect(Number(ino.size)).toBeLessThanOrEqual(st.size);
                const got = Buffer.from(h.read(ino, 0, Number(ino.size)));
                const want = fs.readFileSync(lp).subarray(0, Number(ino.size));
                expect(got.equals(want)).toBe(true);
              }
            }
          };
          walk('/i', src);
        }
      } finally {
        vs.close();
      }
      // the recovered bytes (recovery wrote them through the device) get the full checks
      fs.writeFileSync(after, mem.data);
      expect(checkImage([after]).problems).toEqual([]);
      expect(objects).toBeGreaterThanOrEqual(prevObjects);
      prevObjects = objects;
      fs.rmSync(after);
    }
    expect(prevObjects).toBeGreaterThan(0);
    // at least some faults hit a commit between its UNDO and its end: recovery undid it
    expect(rolledBack).toBeGreaterThan(0);
  }, 300_000);
});
