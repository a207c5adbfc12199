// npm start: the main job on the bundled real images. Decompresses them (sparse, once) into the
// image cache dir, then runs hammerfs commands on them and prints what they show.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ensureImages, REPO } from './images.mjs';

const cli = path.join(REPO, 'dist', 'tools', 'cli.js');
if (!fs.existsSync(cli)) {
  console.error('hammerfs is not built: run `npm install` (it builds) or `npm run build`');
  process.exit(1);
}
console.error('Preparing the bundled images (sparse decompression, once)...');
const img = await ensureImages(['content-v7', 'multi3']);
const content = img['content-v7'][0];
const multi = img['multi3'].join(':');

const steps = [
  ['info', '-f', multi],
  ['info', '-f', content],
  ['pfs-status', '-f', content],
  ['ls', '-l', '-f', content, '/'],
  ['show', '-f', content],
  ['checkmap', '-f', content],
  ['mirror-read', '-f', content, '--pfs', '1', '--estimate'],
];
const known = spawnSync(process.execPath, [cli, '--help'], { encoding: 'utf8' }).stdout;
for (const args of steps) {
  if (!new RegExp(`hammerfs ${args[0]}\\b`).test(known)) continue;
  const shown = args.map((a) => (a.includes('/') ? a.split(':').map((p) => path.basename(p)).join(':') : a));
  console.log(`\n$ hammerfs ${shown.join(' ')}`);
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
  const lines = (r.stdout || '').split('\n');
  console.log(lines.slice(0, 40).join('\n') + (lines.length > 40 ? `\n... (${lines.length - 40} more lines)` : ''));
  if (r.stderr) process.stderr.write(r.stderr.split('\n').filter((l) => !/warning/.test(l)).join('\n'));
}
