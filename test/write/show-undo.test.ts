// show-undo against hammer(8)'s golden output (first 36 and last 3 lines of the real run), and
// replay-undo's refusals. Runs the compiled CLI (npm test builds it first).
import { describe, test, expect } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync, spawn } from 'node:child_process';
import { golden, imagePaths, copyImage } from '../helpers/images.js';

const DIST_DIR = process.env.HAMMERFS_DIST ?? path.resolve('dist');
const CLI = path.join(DIST_DIR, 'tools/cli.js');
const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', maxBuffer: 1 << 30 });

describe.skipIf(!fs.existsSync(CLI))('show-undo / replay-undo CLI', () => {
  test.each(['demo-v7', 'v4', 'multi3'] as const)('show-undo on %s matches hammer(8)', (name) => {
    const r = cli('show-undo', '-f', imagePaths(name).join(':'));
    expect(r.status).toBe(0);
    const lines = r.stdout.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    const [head, tail] = golden(`${name}.show-undo-excerpt.txt`).split('[... lines omitted ...]\n');
    const headLines = head.split('\n').filter((_, i, a) => i < a.length - 1);
    const tailLines = tail.split('\n').filter((l) => l !== '');
    expect(lines.slice(0, headLines.length)).toEqual(headLines);
    expect(lines.slice(-tailLines.length)).toEqual(tailLines);
    // 28 summary lines + one per 512-byte record of the whole FIFO
    const undoSize = Number(BigInt('0x' + lines.find((l) => l.startsWith('zone 3 '))!.split(/\s+/)[6]) & 0xfffffffffffffn);
    expect(lines.length).toBe(28 + undoSize / 512);
  });

  test('replay-undo refuses a volume another process holds, with exit code 3', async () => {
    const img = copyImage('v6');
    const script = `const fs=require('fs');const e=require('fs-ext');const fd=fs.openSync(process.argv[1],'r');e.flockSync(fd,'sh');process.stdout.write('locked\\n');setTimeout(()=>{},60000);`;
    const child = spawn(process.execPath, ['-e', script, img.paths[0]], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout!.on('data', (d) => { if (String(d).includes('locked')) resolve(); });
        child.on('exit', (c) => reject(new Error(`lock holder exited (${c})`)));
      });
      const r = cli('replay-undo', '-f', img.paths[0]);
      expect(r.status).toBe(3);
      expect(r.stderr).toMatch(/^hammerfs: volume is in use by another process/);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      const nolock = cli('replay-undo', '-f', img.paths[0], '--no-lock');
      expect(nolock.status).toBe(2);
    } finally {
      child.kill('SIGKILL');
      img.cleanup();
    }
  });
});
