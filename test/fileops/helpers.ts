// Shared by the file-operation tests: a fresh small image, a writer over it, a deterministic
// source tree generator (collisions in the ALG1 directory hash included), and the checks every
// written image must pass.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { makeTestImage } from '../../src/volume/newfs.js';
import { openVolumeSetForWrite } from '../../src/volume/writable-volume-set.js';
import { openVolumeSet, type VolumeSet } from '../../src/volume/volume-set.js';
import { namekeyAlg1 } from '../../src/ondisk/dirhash.js';
import { verifyFilesystem } from '../../src/fs/verify.js';
import { checkmap } from '../../src/btree/checkmap.js';
import { BTree } from '../../src/btree/btree.js';
import { checkTree, checkFreemap } from '../write/check.js';

export function tmpDir(tag: string): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `hammerfs-fileops-${tag}-`));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export function freshImage(dir: string, o: { size?: number; version?: number } = {}): string {
  const img = path.join(dir, 'fs.img');
  makeTestImage(img, { size: o.size ?? 256 * 1024 * 1024, version: o.version });
  return img;
}

export { openVolumeSetForWrite, openVolumeSet };

// One seeded PRNG for all write tests.
import { mulberry32 } from '../write/workload.js';
export { mulberry32 };

export function randomBytes(rnd: () => number, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (rnd() * 256) | 0;
  return b;
}

/**
 * Names with one identical ALG1 directory key. The piece-sum half of the key ignores piece order
 * and which separator splits them, so permutations of the same pieces share it; among a few
 * thousand of those, birthday collisions on the 16-bit whole-name half are certain.
 */
export function collidingNames(min = 3): Uint8Array[][] {
  const pieces = ['ta', 'zen', 'ruhul', 'dun'];
  const seps = ['.', '-', '_', '~', '..', '__'];
  const byKey = new Map<bigint, string[]>();
  const perms = (a: string[]): string[][] => (a.length <= 1 ? [a] : a.flatMap((x, i) => perms([...a.slice(0, i), ...a.slice(i + 1)]).map((p) => [x, ...p])));
  for (const p of perms(pieces)) {
    for (let m = 0; m < seps.length ** 3; m++) {
      const s = [seps[m % 6], seps[Math.floor(m / 6) % 6], seps[Math.floor(m / 36) % 6]];
      const name = p[0] + s[0] + p[1] + s[1] + p[2] + s[2] + p[3];
      const k = namekeyAlg1(Buffer.from(name));
      const l = byKey.get(k) ?? [];
      l.push(name);
      byKey.set(k, l);
    }
  }
  const groups = [...byKey.values()].filter((g) => g.length >= 2).sort((a, b) => b.length - a.length);
  if (!groups.length || groups[0].length < min) throw new Error('no colliding names found');
  return groups.map((g) => g.map((n) => Buffer.from(n)));
}

export interface TreeSpec {
  files: number;
  depth: number;
  seed: number;
  bigFileBytes?: number;
}

/** Generate a source tree; returns its path. Deterministic for a seed. */
export function generateTree(root: string, spec: TreeSpec): string {
  const rnd = mulberry32(spec.seed);
  fs.mkdirSync(root, { recursive: true });
  // deep nesting
  let deep = root;
  for (let i = 0; i < spec.depth; i++) {
    deep = path.join(deep, `d${i}`);
    fs.mkdirSync(deep);
    if (i % 5 === 0) fs.writeFileSync(path.join(deep, `f${i}`), randomBytes(rnd, (rnd() * 3000) | 0));
  }
  // many small files spread over a few directories
  const dirs = [root];
  for (let i = 0; i < 8; i++) {
    const d = path.join(root, `dir${i}`);
    fs.mkdirSync(d);
    dirs.push(d);
  }
  for (let i = 0; i < spec.files; i++) {
    const d = dirs[i % dirs.length];
    const r = rnd();
    const size = r < 0.1 ? 0 : r < 0.7 ? (rnd() * 8200) | 0 : r < 0.95 ? 8192 + ((rnd() * 60000) | 0) : (rnd() * 400000) | 0;
    fs.writeFileSync(path.join(d, `file-${i}.dat`), randomBytes(rnd, size));
    fs.chmodSync(path.join(d, `file-${i}.dat`), [0o644, 0o600, 0o755, 0o4755, 0o444][i % 5]);
  }
  // edge sizes
  const edge = path.join(root, 'edges');
  fs.mkdirSync(edge);
  for (const n of [1, 15, 16, 17, 8191, 8192, 8193, 16383, 16384, 16385, 1048575, 1048576, 1048577, 1114113]) {
    fs.writeFileSync(path.join(edge, `e${n}`), randomBytes(rnd, n));
  }
  // sparse files: data islands in a big hole, a trailing hole, an all-hole file
  const sp = path.join(root, 'sparse');
  fs.mkdirSync(sp);
  const fd = fs.openSync(path.join(sp, 'islands'), 'w');
  fs.writeSync(fd, randomBytes(rnd, 5000), 0, 5000, 100);
  fs.writeSync(fd, randomBytes(rnd, 70000), 0, 70000, 2 * 1024 * 1024 + 12345);
  fs.writeSync(fd, Buffer.from('end'), 0, 3, 5 * 1024 * 1024);
  fs.closeSync(fd);
  fs.writeFileSync(path.join(sp, 'tail-hole'), randomBytes(rnd, 20000));
  fs.truncateSync(path.join(sp, 'tail-hole'), 3 * 1024 * 1024);
  fs.writeFileSync(path.join(sp, 'all-hole'), '');
  fs.truncateSync(path.join(sp, 'all-hole'), 1024 * 1024 + 7);
  // multi-MiB file
  if (spec.bigFileBytes) fs.writeFileSync(path.join(root, 'big.bin'), randomBytes(rnd, spec.bigFileBytes));
  // hash collisions
  const col = path.join(root, 'collide');
  fs.mkdirSync(col);
  const groups = collidingNames();
  for (const g of groups.slice(0, 4)) for (const n of g) fs.writeFileSync(Buffer.concat([Buffer.from(col + '/'), n]), n);
  // symlinks short and long, hard links, fifo
  const misc = path.join(root, 'misc');
  fs.mkdirSync(misc);
  fs.symlinkSync('short-target', path.join(misc, 'short'));
  fs.symlinkSync('x'.repeat(24), path.join(misc, 'exactly24'));
  fs.symlinkSync('../' + 'long/'.repeat(40) + 'target', path.join(misc, 'long'));
  fs.writeFileSync(path.join(misc, 'orig'), 'hard linked content\n');
  fs.linkSync(path.join(misc, 'orig'), path.join(misc, 'link1'));
  fs.linkSync(path.join(misc, 'orig'), path.join(dirs[1], 'link2'));
  fs.mkdirSync(path.join(root, 'empty-dir'));
  try {
    execFileSync('mkfifo', [path.join(misc, 'fifo')]);
  } catch {
    /* no mkfifo: the tree simply has no fifo */
  }
  // device nodes need root (CI runs as root); elsewhere the tree has none
  if (process.getuid?.() === 0) {
    try {
      execFileSync('mknod', [path.join(misc, 'chr'), 'c', '1', '3']);
      execFileSync('mknod', [path.join(misc, 'blk'), 'b', '259', '70000']);
    } catch {
      /* no mknod */
    }
  }
  const tNow = new Date('2021-03-04T05:06:07.123Z');
  fs.utimesSync(path.join(misc, 'orig'), tNow, tNow);
  return root;
}

/** Every check we have on a written image; returns the problems (empty = clean). */
export function checkImage(paths: string[]): { problems: string[]; depth: number } {
  const vs = openVolumeSet(paths);
  try {
    const t = checkTree(vs);
    const f = checkFreemap(vs, t.used);
    const v = verifyFilesystem(vs);
    const vp = v.problems.filter((p) => p.severity === 'error').map((p) => `verify ${p.code}: ${p.message}`);
    // hammer checkmap's rules (src/btree/checkmap.ts): freemap vs B-Tree and UNDO references
    const cm = checkmap(new BTree(vs));
    const cp = [...cm.badNodes.map((b) => `checkmap bad node ${JSON.stringify(b, (_k, x) => (typeof x === 'bigint' ? x.toString(16) : x))}`)];
    if (cm.errors) cp.push(`checkmap: ${cm.errors} errors`);
    return { problems: [...t.problems, ...f.problems, ...vp, ...cp], depth: t.depth };
  } finally {
    vs.close();
  }
}

export function withRead<T>(paths: string[], fn: (vs: VolumeSet) => T): T {
  const vs = openVolumeSet(paths);
  try {
    return fn(vs);
  } finally {
    vs.close();
  }
}
