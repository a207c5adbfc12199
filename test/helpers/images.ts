// Paths of the decompressed bundled images (global setup makes them) and of the golden files.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
// @ts-expect-error plain JS module shared with the demo and bench
import { IMAGES, imageCacheDir, IMAGE_SRC } from '../../scripts/images.mjs';

export type ImageName = 'demo-v7' | 'v6' | 'v4' | 'multi3' | 'content-v7';
export const NEWFS_IMAGES: ImageName[] = ['demo-v7', 'v6', 'v4', 'multi3'];

export function imagePaths(name: ImageName): string[] {
  return (IMAGES[name] as string[]).map((f) => path.join(imageCacheDir(), f));
}
export function golden(name: string): string {
  return fs.readFileSync(path.join(IMAGE_SRC, name), 'utf8');
}
export function goldenJson<T = any>(name: string): T {
  return JSON.parse(golden(name)) as T;
}
/**
 * Copy keeping holes: the images are half holes, and CI has little spare disk (a plain
 * copyFileSync writes the holes out, 1.1 GB instead of 0.54 GB per copy of a 1 GiB image).
 */
function sparseCopy(src: string, dst: string): void {
  const r = spawnSync('cp', ['--sparse=always', '--reflink=auto', src, dst], { stdio: 'ignore' });
  if (r.status !== 0) fs.copyFileSync(src, dst);
}

/** A sparse private copy of an image's volumes in a temp dir (for tests that write or corrupt). */
export function copyImage(name: ImageName): { paths: string[]; dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `hammerfs-${name}-`));
  const paths = imagePaths(name).map((p) => {
    const dst = path.join(dir, path.basename(p));
    sparseCopy(p, dst);
    return dst;
  });
  return { paths, dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** XOR one byte of a file (a private image copy) at device byte `pos` with `mask`. */
export function flipByte(file: string, pos: number, mask: number): void {
  const fd = fs.openSync(file, 'r+');
  try {
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, pos);
    b[0] ^= mask;
    fs.writeSync(fd, b, 0, 1, pos);
  } finally {
    fs.closeSync(fd);
  }
}
