// Decompress the bundled images (images/*.img.xz) into a cache directory, sparse, once.
// Used by the test suite's global setup, the demo (npm start) and the bench.
// Needs the `xz` tool (Debian package xz-utils); xz writes sparse output files itself.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const IMAGE_SRC = path.join(REPO, 'images');

export const IMAGES = {
  'demo-v7': ['demo-v7.img'],
  v6: ['v6.img'],
  v4: ['v4.img'],
  multi3: ['multi3.vol0.img', 'multi3.vol1.img', 'multi3.vol2.img'],
  'content-v7': ['content-v7.img'],
};

export function imageCacheDir() {
  return process.env.HAMMERFS_IMAGE_CACHE || path.join(os.tmpdir(), 'hammerfs-images');
}

function run(cmd, args, outFile) {
  return new Promise((resolve, reject) => {
    const out = fs.openSync(outFile, 'w');
    const p = spawn(cmd, args, { stdio: ['ignore', out, 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    p.on('error', (e) => {
      fs.closeSync(out);
      reject(new Error(`cannot run ${cmd}: ${e.message} (install the Debian package xz-utils)`));
    });
    p.on('close', (code) => {
      fs.closeSync(out);
      code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} failed (${code}): ${err}`));
    });
  });
}

/** Decompress (if needed) every volume of the named images; returns { name: [paths] }. */
export async function ensureImages(names = Object.keys(IMAGES)) {
  const dir = imageCacheDir();
  fs.mkdirSync(dir, { recursive: true });
  const result = {};
  const jobs = [];
  for (const name of names) {
    const files = IMAGES[name];
    if (!files) throw new Error(`unknown image ${name}`);
    result[name] = files.map((f) => path.join(dir, f));
    for (const f of files) {
      const dst = path.join(dir, f);
      if (fs.existsSync(dst)) continue;
      const tmp = `${dst}.${process.pid}.tmp`;
      jobs.push(() => run('xz', ['-dc', path.join(IMAGE_SRC, f + '.xz')], tmp).then(() => fs.renameSync(tmp, dst)));
    }
  }
  // two at a time: the machines have two cores
  const queue = [...jobs];
  await Promise.all([0, 1].map(async () => {
    while (queue.length) await queue.shift()();
  }));
  return result;
}

export function removeImages() {
  const dir = imageCacheDir();
  for (const files of Object.values(IMAGES)) for (const f of files) fs.rmSync(path.join(dir, f), { force: true });
}
