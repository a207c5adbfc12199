/**
 * import: a generated tree of many small files and one large file copied into a fresh image
 * (newfs not timed), against `cp -r` of the same tree to local disk. Reports files/s, MB/s of
 * the large file, and both ratios to cp (the target is within 3x). Median of 3 runs each.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BenchSection } from '../registry.js';
import { makeTestImage } from '../../src/volume/newfs.js';
import { openVolumeSetForWrite } from '../../src/volume/writable-volume-set.js';
import { HammerWriter } from '../../src/fs/write/writer.js';
import { importTree } from '../../src/fs/write/import.js';

const SMALL_FILES = 3000;
const BIG_BYTES = 128 * 1024 * 1024;

function fill(b: Buffer, seed: number): void {
  let x = seed >>> 0 || 1;
  for (let i = 0; i + 4 <= b.length; i += 4) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    b.writeUInt32LE(x, i);
  }
}

function median(a: number[]): number {
  const s = [...a].sort((x, y) => x - y);
  return s[s.length >> 1];
}

export const section: BenchSection = {
  name: 'import',
  run(ctx) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hammerfs-bench-import-'));
    try {
      const small = path.join(dir, 'small');
      const big = path.join(dir, 'big');
      fs.mkdirSync(small);
      fs.mkdirSync(big);
      let smallBytes = 0;
      const buf = Buffer.alloc(32 * 1024);
      fill(buf, 7);
      for (let i = 0; i < SMALL_FILES; i++) {
        const d = path.join(small, `d${i % 30}`);
        if (i < 30) fs.mkdirSync(d);
        const n = (i * 2654435761) % 20000;
        fs.writeFileSync(path.join(d, `f${i}`), buf.subarray(0, n));
        smallBytes += n;
      }
      const chunk = Buffer.alloc(4 * 1024 * 1024);
      const fd = fs.openSync(path.join(big, 'big.bin'), 'w');
      for (let off = 0; off < BIG_BYTES; off += chunk.length) {
        fill(chunk, off + 1);
        fs.writeSync(fd, chunk);
      }
      fs.closeSync(fd);
      const img = path.join(dir, 'fs.img');
      const runImport = (src: string): number => {
        makeTestImage(img, { size: 1024 * 1024 * 1024, undoSize: 32 * 1024 * 1024 });
        const vs = openVolumeSetForWrite([img]);
        try {
          const t = performance.now();
          importTree(new HammerWriter(vs), src, '/x');
          return performance.now() - t;
        } finally {
          vs.close();
          fs.rmSync(img, { force: true });
        }
      };
      const runCp = (src: string): number => {
        const dst = path.join(dir, 'cp-dst');
        fs.rmSync(dst, { recursive: true, force: true });
        const t = performance.now();
        // sync after cp: import fsyncs at every commit, so cp must reach the disk too
        const r = spawnSync('sh', ['-c', 'cp -r "$1" "$2" && sync', 'sh', src, dst], { stdio: 'ignore' });
        const ms = performance.now() - t;
        fs.rmSync(dst, { recursive: true, force: true });
        if (r.status !== 0) throw new Error('cp -r failed');
        return ms;
      };
      const smallMs = median([0, 1, 2].map(() => runImport(small)));
      const smallCp = median([0, 1, 2].map(() => runCp(small)));
      const bigMs = median([0, 1, 2].map(() => runImport(big)));
      const bigCp = median([0, 1, 2].map(() => runCp(big)));
      const files = SMALL_FILES;
      ctx.log(`import: ${files} small files (${(smallBytes / 1048576).toFixed(1)} MiB) in ${smallMs.toFixed(0)} ms (cp -r ${smallCp.toFixed(0)} ms); ${BIG_BYTES >> 20} MiB file in ${bigMs.toFixed(0)} ms (cp ${bigCp.toFixed(0)} ms)`);
      return [
        { name: 'import small files', value: Math.round(files / (smallMs / 1000)), unit: 'files/s', note: `${(smallMs / smallCp).toFixed(2)}x cp -r (${smallCp.toFixed(0)} ms)` },
        { name: 'import large file', value: Number((BIG_BYTES / 1048576 / (bigMs / 1000)).toFixed(1)), unit: 'MiB/s', note: `${(bigMs / bigCp).toFixed(2)}x cp (${bigCp.toFixed(0)} ms)` },
      ];
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
};
