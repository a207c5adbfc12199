// Shared pieces of the newfs tests: the fixtures' recorded inputs, temp dirs, and a whole-volume
// byte comparison that reports every differing byte outside an allowed set.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { goldenJson, type ImageName } from '../helpers/images.js';

const CLI_PATH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/tools/cli.js');

export interface FixtureInputs {
  label: string;
  version: number;
  fsid: Uint8Array;
  timeUs: bigint;
  createTs: number;
  sizes: number[];
  files: string[];
}

/** What newfs_hammer took from the machine for a fixture (images/NAME.facts.json). */
export function fixtureInputs(name: ImageName): FixtureInputs {
  const f = goldenJson(`${name}.facts.json`);
  const elm = f.btree.nodes[0].elms[0];
  return {
    label: f.volumes[0].vol_label,
    version: f.version,
    fsid: Uint8Array.from(Buffer.from(f.volumes[0].vol_fsid_raw_hex, 'hex')),
    timeUs: BigInt('0x' + elm.inode.ctime),
    createTs: elm.create_ts,
    sizes: f.volumes.map((v: { file_size: number }) => v.file_size),
    files: f.volumes.map((v: { file: string }) => v.file),
  };
}

export function tempDir(tag: string): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `hammerfs-newfs-${tag}-`));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Empty sparse files of the given sizes. */
export function sparseFiles(dir: string, names: string[], sizes: number[]): string[] {
  return names.map((n, i) => {
    const p = path.join(dir, n);
    fs.writeFileSync(p, new Uint8Array(0));
    fs.truncateSync(p, sizes[i]);
    return p;
  });
}

/** Header bytes newfs_hammer leaves wrong and we set right: vol_crc, and (volume 0) the 16 blockmap entry CRCs. */
export function allowedDiffs(isRoot: boolean): Set<number> {
  const s = new Set<number>();
  for (let k = 0; k < 4; k++) s.add(156 + k);
  if (isRoot) for (let z = 0; z < 16; z++) for (let k = 0; k < 4; k++) s.add(264 + 40 * z + 36 + k);
  return s;
}

/**
 * Compare two files of equal size, every byte, in 16 KiB chunks (read 8 MiB at a time).
 * Differences at `allowed` offsets are only counted; others are listed (the first `limit`).
 */
export function diffFiles(a: string, b: string, allowed: Set<number>, limit = 64): { allowedCount: number; unexpectedCount: number; unexpected: number[] } {
  const sa = fs.statSync(a).size, sb = fs.statSync(b).size;
  if (sa !== sb) throw new Error(`sizes differ: ${a} ${sa}, ${b} ${sb}`);
  const fa = fs.openSync(a, 'r'), fb = fs.openSync(b, 'r');
  const READ = 8 << 20, CHUNK = 16384;
  const A = Buffer.alloc(READ), B = Buffer.alloc(READ);
  const unexpected: number[] = [];
  let allowedCount = 0, unexpectedCount = 0;
  try {
    for (let pos = 0; pos < sa; pos += READ) {
      const n = fs.readSync(fa, A, 0, Math.min(READ, sa - pos), pos);
      const m = fs.readSync(fb, B, 0, Math.min(READ, sa - pos), pos);
      if (n !== m) throw new Error(`short read at ${pos}`);
      if (A.compare(B, 0, n, 0, n) === 0) continue;
      for (let c = 0; c < n; c += CHUNK) {
        const e = Math.min(c + CHUNK, n);
        if (A.compare(B, c, e, c, e) === 0) continue;
        for (let k = c; k < e; k++) {
          if (A[k] === B[k]) continue;
          if (allowed.has(pos + k)) allowedCount++;
          else if (unexpectedCount++ < limit) unexpected.push(pos + k);
        }
      }
    }
  } finally {
    fs.closeSync(fa);
    fs.closeSync(fb);
  }
  return { allowedCount, unexpectedCount, unexpected };
}

/** Run the built CLI (dist/, made by `tsc` before the tests) in `cwd`; never rejects. */
export function runCliIn(cwd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI_PATH, ...args], { cwd, maxBuffer: 64 << 20, timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}
