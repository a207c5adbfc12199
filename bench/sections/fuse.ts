/**
 * The FUSE mount (hammerfs mount) against the same bytes on a local filesystem, as ratios:
 *   - sequential read of the largest file of content-v7, and of every file, each on a fresh mount
 *     (so the kernel's page cache for the mount is cold and every byte crosses FUSE and our reader;
 *     the image file itself is in the host page cache, as the local copy is);
 *   - `ls -lR` of the whole tree on a fresh mount (lookups, getattr, readdir).
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

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../tools/cli.js');

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

export const section: BenchSection = {
  name: 'fuse mount',
  async run(ctx: BenchContext): Promise<BenchResult[]> {
    const why = await available();
    if (why) {
      ctx.log(`fuse mount: skipped (${why})`);
      return [];
    }
    const [img] = await ctx.images('content-v7');
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hammerfs-bench-fuse-'));
    const mp = path.join(work, 'mnt');
    const local = path.join(work, 'local');
    fs.mkdirSync(mp);
    let mounted = false;
    const mount = () => {
      cliSync(['mount', '-f', img, mp]);
      mounted = true;
    };
    const umount = () => {
      cliSync(['umount', mp]);
      mounted = false;
    };
    try {
      // The local copy and the file list, from one mount.
      mount();
      spawnSync('cp', ['-a', mp + '/.', local], { stdio: 'ignore' }); // sockets cannot be copied: ignored
      const rel = filesUnder(mp).map((p) => path.relative(mp, p));
      umount();
      const sizes = rel.map((r) => fs.statSync(path.join(local, r)).size);
      const total = sizes.reduce((a, b) => a + b, 0);
      const big = rel[sizes.indexOf(Math.max(...sizes))];
      const bigSize = Math.max(...sizes);
      // Warm the local copy and the image in the host page cache.
      timeCmd('cat', [...rel.map((r) => path.join(local, r))]);
      execFileSync('cat', [img], { stdio: ['ignore', 'ignore', 'ignore'] });

      const rounds = 3;
      const tBigMnt: number[] = [];
      const tAllMnt: number[] = [];
      const tLsMnt: number[] = [];
      for (let i = 0; i < rounds; i++) {
        mount();
        tBigMnt.push(timeCmd('cat', [path.join(mp, big)]));
        umount();
        mount();
        tAllMnt.push(timeCmd('cat', rel.map((r) => path.join(mp, r))));
        umount();
        mount();
        tLsMnt.push(timeCmd('ls', ['-lR', mp]));
        umount();
      }
      const tBigLocal = ctx.time(() => void timeCmd('cat', [path.join(local, big)]), { minMs: 500 });
      const tAllLocal = ctx.time(() => void timeCmd('cat', rel.map((r) => path.join(local, r))), { minMs: 500 });
      const tLsLocal = ctx.time(() => void timeCmd('ls', ['-lR', local]), { minMs: 500 });
      const mbps = (bytes: number, ms: number) => bytes / 1e6 / (ms / 1000);
      const bm = median(tBigMnt);
      const am = median(tAllMnt);
      const lm = median(tLsMnt);
      return [
        { name: 'largest file through the mount (cold)', value: mbps(bigSize, bm), unit: 'MB/s', note: `${bigSize} bytes in ${bm.toFixed(1)} ms; local cat ${mbps(bigSize, tBigLocal).toFixed(0)} MB/s; ratio mount/local time ${(bm / tBigLocal).toFixed(1)}x` },
        { name: 'every file through the mount (cold)', value: mbps(total, am), unit: 'MB/s', note: `${rel.length} files, ${total} bytes in ${am.toFixed(1)} ms; ratio mount/local time ${(am / tAllLocal).toFixed(1)}x` },
        { name: 'ls -lR through the mount (cold)', value: lm, unit: 'ms', note: `local ls -lR ${tLsLocal.toFixed(1)} ms; ratio ${(lm / tLsLocal).toFixed(1)}x` },
      ];
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
      fs.rmSync(still ? local : work, { recursive: true, force: true });
    }
  },
};
