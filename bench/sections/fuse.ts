/**
 * The FUSE mount (hammerfs mount) against the same bytes on a local filesystem, as ratios, on two
 * images:
 *   - content-v7 (bundled; files up to 2.4 MB): the largest file, every file, `ls -lR`;
 *   - a generated one: demo-v7 plus a 64 MiB file of random bytes and a tree of 2,000 small files
 *     in 20 directories, written with the write path (HammerWriter), so the sequential figure
 *     covers tens of MiB and the `ls -lR` figure thousands of files.
 * "Cold" = a fresh mount for each measurement (the kernel's page cache for the mount is empty, so
 * every byte crosses FUSE and our reader; the image file itself is in the host page cache, as the
 * local copy is). "Warm" = the same file read again on the same mount (kernel page cache).
 * The local copy is made with `cp -a` from the mount. Needs root, /dev/fuse and fuse-native;
 * otherwise the section says why and reports nothing.
 *
 * The server runs in its own process (started by the CLI), so this process may use synchronous
 * child processes and reads against the mountpoint.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BenchContext, BenchResult, BenchSection } from '../registry.js';
import { openVolumeSetForWrite } from '../../src/volume/writable-volume-set.js';
import { HammerWriter } from '../../src/fs/write/writer.js';

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../tools/cli.js');
const BIG_MIB = 64;
const TREE_DIRS = 20;
const TREE_FILES_PER_DIR = 100;

function cliSync(args: string[]): void {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`hammerfs ${args.join(' ')}: ${r.stderr.trim()}`);
}

/** Wall time of a shell-free command whose output is discarded, in ms. */
function timeCmd(cmd: string, args: string[]): number {
  const t = performance.now();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'ignore'], maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}`);
  return performance.now() - t;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const visit = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) visit(p);
      else if (e.isFile()) out.push(p);
    }
  };
  visit(dir);
  return out.sort();
}

async function available(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'not root';
  if (!fs.existsSync('/dev/fuse')) return '/dev/fuse is missing';
  try {
    const binding = 'fuse-native'; // optional dependency, untyped: import by name
    await import(binding);
  } catch (e) {
    return `fuse-native cannot be loaded: ${(e as Error).message.split('\n')[0]}`;
  }
  return undefined;
}

/** Copy of demo-v7 with a BIG_MIB MiB file /big.bin and a tree /tree/dN/fM.txt written into it. */
function makeLargeImage(src: string, dst: string): void {
  execFileSync('cp', ['--sparse=always', src, dst]);
  const vs = openVolumeSetForWrite([dst]);
  try {
    const w = new HammerWriter(vs, { pfs: 0, autoCommit: false });
    // xorshift32: incompressible, reproducible content
    const big = new Uint8Array(BIG_MIB << 20);
    const u32 = new Uint32Array(big.buffer);
    let x = 0x2545f491;
    for (let i = 0; i < u32.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      u32[i] = x >>> 0;
    }
    w.writeFile('/big.bin', big);
    w.commit();
    w.mkdir('/tree');
    for (let d = 0; d < TREE_DIRS; d++) {
      w.mkdir(`/tree/d${d}`);
      for (let f = 0; f < TREE_FILES_PER_DIR; f++) w.writeFile(`/tree/d${d}/f${f}.txt`, Buffer.from(`file ${d}/${f}\n`.repeat(1 + (f % 7))));
      w.maybeCommit();
    }
    w.commit();
  } finally {
    vs.close();
  }
}

export const section: BenchSection = {
  name: 'fuse mount',
  async run(ctx: BenchContext): Promise<BenchResult[]> {
    const why = await available();
    if (why) {
      ctx.log(`fuse mount: skipped (${why})`);
      return [];
    }
    const [contentImg] = await ctx.images('content-v7');
    const [demoImg] = await ctx.images('demo-v7');
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hammerfs-bench-fuse-'));
    const mp = path.join(work, 'mnt');
    fs.mkdirSync(mp);
    let mounted = false;
    const mount = (img: string) => {
      cliSync(['mount', '-f', img, mp]);
      mounted = true;
    };
    const umount = () => {
      cliSync(['umount', mp]);
      mounted = false;
    };
    const mbps = (bytes: number, ms: number) => bytes / 1e6 / (ms / 1000);
    const out: BenchResult[] = [];
    try {
      // ---- content-v7: many small and mid-size files
      {
        const local = path.join(work, 'local-content');
        mount(contentImg);
        spawnSync('cp', ['-a', mp + '/.', local], { stdio: 'ignore' }); // sockets cannot be copied: ignored
        const rel = filesUnder(mp).map((p) => path.relative(mp, p));
        umount();
        const sizes = rel.map((r) => fs.statSync(path.join(local, r)).size);
        const total = sizes.reduce((a, b) => a + b, 0);
        const big = rel[sizes.indexOf(Math.max(...sizes))];
        const bigSize = Math.max(...sizes);
        // Warm the local copy and the image in the host page cache.
        timeCmd('cat', [...rel.map((r) => path.join(local, r))]);
        execFileSync('cat', [contentImg], { stdio: ['ignore', 'ignore', 'ignore'] });
        const rounds = 3;
        const tBig: number[] = [];
        const tAll: number[] = [];
        const tLs: number[] = [];
        for (let i = 0; i < rounds; i++) {
          mount(contentImg);
          tBig.push(timeCmd('cat', [path.join(mp, big)]));
          umount();
          mount(contentImg);
          tAll.push(timeCmd('cat', rel.map((r) => path.join(mp, r))));
          umount();
          mount(contentImg);
          tLs.push(timeCmd('ls', ['-lR', mp]));
          umount();
        }
        const tBigLocal = ctx.time(() => void timeCmd('cat', [path.join(local, big)]), { minMs: 500 });
        const tAllLocal = ctx.time(() => void timeCmd('cat', rel.map((r) => path.join(local, r))), { minMs: 500 });
        const tLsLocal = ctx.time(() => void timeCmd('ls', ['-lR', local]), { minMs: 500 });
        const bm = median(tBig);
        const am = median(tAll);
        const lm = median(tLs);
        out.push(
          { name: 'content-v7 largest file (cold)', value: mbps(bigSize, bm), unit: 'MB/s', note: `${bigSize} bytes in ${bm.toFixed(1)} ms incl. cat start; local cat ${mbps(bigSize, tBigLocal).toFixed(0)} MB/s; ratio mount/local time ${(bm / tBigLocal).toFixed(1)}x` },
          { name: 'content-v7 every file (cold)', value: mbps(total, am), unit: 'MB/s', note: `${rel.length} files, ${total} bytes in ${am.toFixed(1)} ms; ratio mount/local time ${(am / tAllLocal).toFixed(1)}x` },
          { name: 'content-v7 ls -lR (cold)', value: lm, unit: 'ms', note: `local ls -lR ${tLsLocal.toFixed(1)} ms; ratio ${(lm / tLsLocal).toFixed(1)}x` },
        );
      }

      // ---- generated: one large file, thousands of small ones
      {
        const img = path.join(work, 'large.img');
        const local = path.join(work, 'local-large');
        const t0 = performance.now();
        try {
          makeLargeImage(demoImg, img);
        } catch (e) {
          ctx.log(`fuse mount: large image not made (write path: ${(e as Error).message}); large-file figures skipped`);
          return out;
        }
        ctx.log(`fuse mount: wrote ${BIG_MIB} MiB + ${TREE_DIRS * TREE_FILES_PER_DIR} files in ${(performance.now() - t0).toFixed(0)} ms`);
        mount(img);
        spawnSync('cp', ['-a', mp + '/.', local], { stdio: 'ignore' });
        umount();
        const bigLocal = path.join(local, 'big.bin');
        const bigSize = fs.statSync(bigLocal).size;
        if (bigSize !== BIG_MIB << 20) throw new Error(`big.bin copied as ${bigSize} bytes`);
        const nFiles = filesUnder(local).length;
        timeCmd('cat', [bigLocal]);
        execFileSync('cat', [img], { stdio: ['ignore', 'ignore', 'ignore'] });
        const rounds = 5;
        const tCold: number[] = [];
        const tWarm: number[] = [];
        const tLs: number[] = [];
        for (let i = 0; i < rounds; i++) {
          mount(img);
          tCold.push(timeCmd('cat', [path.join(mp, 'big.bin')]));
          tWarm.push(timeCmd('cat', [path.join(mp, 'big.bin')]));
          umount();
          mount(img);
          tLs.push(timeCmd('ls', ['-lR', mp]));
          umount();
        }
        const tLocal = ctx.time(() => void timeCmd('cat', [bigLocal]), { minMs: 1000, min: 5 });
        const tLsLocal = ctx.time(() => void timeCmd('ls', ['-lR', local]), { minMs: 1000, min: 5 });
        const cm = median(tCold);
        const wm = median(tWarm);
        const lm = median(tLs);
        out.push(
          { name: `${BIG_MIB} MiB file through the mount (cold)`, value: mbps(bigSize, cm), unit: 'MB/s', note: `median of ${rounds} fresh mounts, ${cm.toFixed(0)} ms; local cat ${mbps(bigSize, tLocal).toFixed(0)} MB/s; mount/local throughput ${(tLocal / cm).toFixed(2)}` },
          { name: `${BIG_MIB} MiB file through the mount (warm)`, value: mbps(bigSize, wm), unit: 'MB/s', note: `second cat on the same mount (kernel page cache); mount/local throughput ${(tLocal / wm).toFixed(2)}` },
          { name: `ls -lR of ${nFiles} files (cold)`, value: lm, unit: 'ms', note: `local ls -lR ${tLsLocal.toFixed(1)} ms; ratio ${(lm / tLsLocal).toFixed(1)}x` },
        );
      }
      return out;
    } finally {
      if (mounted) {
        try {
          umount();
        } catch {
          spawnSync('umount', ['-l', mp]);
        }
      }
      // Never recurse into a mountpoint that is still mounted.
      const still = fs.readFileSync('/proc/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === mp);
      if (still) {
        for (const e of fs.readdirSync(work)) if (e !== 'mnt') fs.rmSync(path.join(work, e), { recursive: true, force: true });
      } else {
        fs.rmSync(work, { recursive: true, force: true });
      }
    }
  },
};
