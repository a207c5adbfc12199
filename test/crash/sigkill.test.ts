// A real process writing a real image file is SIGKILLed at random moments; every reopen must
// recover to a consistent volume holding exactly the commits that completed (the one in flight
// either entirely or not at all, never partly). Needs the compiled library (npm test builds it).
import { test, expect } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { copyImage } from '../helpers/images.js';
import { openVolumeSetForWrite } from '../../src/volume/writable-volume-set.js';
import { checkFreemap, checkTree } from '../write/check.js';
import { mulberry32 } from '../write/workload.js';

const DIST_DIR = process.env.HAMMERFS_DIST ?? path.resolve('dist');
const DIST = path.join(DIST_DIR, 'src/volume/writable-volume-set.js');
const ROUNDS = process.env.HAMMERFS_CRASH_FULL === '1' ? 40 : 6;

test.skipIf(!fs.existsSync(DIST))('SIGKILL during commits: recovery keeps exactly the completed commits', async () => {
  const img = copyImage('demo-v7');
  const rng = mulberry32(42);
  let next = 0; // first commit number of the next child
  let recovered = 0;
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const child = spawn(process.execPath, [path.resolve('test/crash/child-writer.mjs'), img.paths.join(':'), String(next)], { stdio: ['ignore', 'pipe', 'pipe'] });
      let printed = next - 1; // last commit number known to have completed
      let opened = '';
      let err = '';
      child.stderr!.on('data', (d) => { err += String(d); });
      const wantCommits = 1 + Math.floor(rng() * 3);
      const extraMs = Math.floor(rng() * 6);
      await new Promise<void>((resolve, reject) => {
        let buf = '';
        let seen = 0;
        child.stdout!.on('data', (d) => {
          buf += String(d);
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            if (line.startsWith('open ')) opened = line.slice(5);
            const m = /^committed (\d+)$/.exec(line);
            if (m) printed = Number(m[1]);
            // the kill lands shortly after a commit started: often inside its write phase
            if (/^committing /.test(line) && ++seen === wantCommits) setTimeout(() => child.kill('SIGKILL'), extraMs);
          }
        });
        child.on('close', (code, sig) => (sig === 'SIGKILL' ? resolve() : reject(new Error(`writer exited ${code}: ${err}`))));
      });
      expect(opened).toBe('clean'); // the previous round's reopen already recovered
      const vs = openVolumeSetForWrite(img.paths);
      if (vs.recovery && !vs.recovery.clean) recovered++;
      const rep = checkTree(vs);
      expect(rep.problems).toEqual([]);
      expect(checkFreemap(vs, rep.used).problems).toEqual([]);
      const perCommit = new Map<number, number>();
      for (const e of rep.leaves) if (e.objId >= 0x50000n) perCommit.set(Number(e.objId - 0x50000n), (perCommit.get(Number(e.objId - 0x50000n)) ?? 0) + 1);
      const commits = [...perCommit.keys()].sort((a, b) => a - b);
      // every commit present is complete, commits are contiguous from 0, none reported is lost
      for (const c of commits) expect(perCommit.get(c)).toBe(100);
      expect(commits).toEqual(commits.map((_, i) => i));
      expect(commits.length).toBeGreaterThanOrEqual(printed + 1);
      expect(commits.length).toBeLessThanOrEqual(printed + 2);
      next = commits.length;
      vs.close();
    }
    // how many kills landed inside a commit's write phase (recovery had work to do)
    console.log(`sigkill: ${ROUNDS} kills, ${recovered} reopenings found an interrupted commit, ${next} commits survived`);
  } finally {
    img.cleanup();
  }
});
