/**
 * Full B-Tree walk of the largest bundled image (content-v7): every node read and CRC-checked,
 * every element checked as `show` does, every record's data CRC recomputed. Reports elements per
 * second and the walk's time relative to `cat IMG > /dev/null` (reading the whole image file).
 * Set HAMMERFS_BENCH_HAMMER=/path/to/hammer to also time DragonFly's `hammer -f IMG show`.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchSection } from '../registry.js';
import { openVolumeSet } from '../../src/volume/volume-set.js';
import { BTree } from '../../src/btree/btree.js';
import { walkBTree } from '../../src/btree/walk.js';
import { checkmap } from '../../src/btree/checkmap.js';

export const section: BenchSection = {
  name: 'btree-walk',
  async run(ctx) {
    const vols = await ctx.images('content-v7');
    let elms = 0;
    let nodes = 0;
    let dataBytes = 0;
    const walk = () => {
      // a fresh volume set each time: our buffer cache starts cold, the OS page cache is warm
      const vs = openVolumeSet(vols, { lock: 'none' });
      try {
        const st = walkBTree(new BTree(vs), {
          checkData: true,
          onNode: (n) => {
            if (n.node?.isLeaf) for (let i = 0; i < n.elms; i++) dataBytes += n.node.dv.getInt32(n.node.elmAt(i) + 0x38, true);
          },
        });
        if (st.badNodes || st.badElms || st.badRecords) throw new Error('content-v7 walk found damage');
        elms = st.elms;
        nodes = st.nodes;
      } finally {
        vs.close();
      }
    };
    const walkMs = ctx.time(walk);
    const keysOnlyMs = ctx.time(() => {
      const vs = openVolumeSet(vols, { lock: 'none' });
      try {
        walkBTree(new BTree(vs), { checkData: false });
      } finally {
        vs.close();
      }
    });
    dataBytes = 0; // count one walk's worth
    walk();
    const size = fs.statSync(vols[0]).size;
    const catMs = ctx.time(() => {
      const r = spawnSync('sh', ['-c', 'cat "$1" > /dev/null', 'sh', vols[0]], { stdio: 'ignore' });
      if (r.status !== 0) throw new Error('cat failed');
    }, { minMs: 1000, min: 3 });
    const cmMs = ctx.time(() => {
      const vs = openVolumeSet(vols, { lock: 'none' });
      try {
        if (checkmap(new BTree(vs)).errors) throw new Error('checkmap errors');
      } finally {
        vs.close();
      }
    }, { minMs: 1000, min: 3 });
    const out: { name: string; value: number; unit: string; note?: string }[] = [
      { name: 'walk: elements decoded + checked per second', value: (elms / walkMs) * 1000, unit: 'elm/s', note: `${elms} elements, ${nodes} nodes, ${dataBytes} data bytes CRC'd per walk` },
      { name: 'walk: time per full walk', value: walkMs, unit: 'ms' },
      { name: 'walk without data CRCs (nodes + elements only)', value: (elms / keysOnlyMs) * 1000, unit: 'elm/s', note: `${keysOnlyMs.toFixed(2)} ms per walk` },
      { name: 'cat IMG > /dev/null', value: catMs, unit: 'ms', note: `${(size / 2 ** 20).toFixed(0)} MiB apparent` },
      { name: 'walk time / cat time', value: walkMs / catMs, unit: 'x' },
      { name: 'checkmap (tree + freemap + 512 MiB UNDO)', value: cmMs, unit: 'ms' },
    ];
    // The whole CLI process, for comparison with hammer(8) (which is a C process): most of it is
    // Node's start-up and module loading, not the walk.
    const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../tools/cli.js');
    const cliMs = ctx.time(() => {
      const r = spawnSync(process.execPath, [cli, 'show', '-f', vols[0]], { stdio: ['ignore', 'ignore', 'ignore'] });
      if (r.status !== 0) throw new Error('hammerfs show failed');
    }, { minMs: 1000, min: 3 });
    const nodeMs = ctx.time(() => void spawnSync(process.execPath, ['-e', '0'], { stdio: 'ignore' }), { minMs: 500, min: 3 });
    out.push(
      { name: 'hammerfs show > /dev/null (whole process)', value: cliMs, unit: 'ms', note: `node -e 0 alone: ${nodeMs.toFixed(0)} ms` },
    );
    const hammer = process.env.HAMMERFS_BENCH_HAMMER;
    if (hammer) {
      const ms = ctx.time(() => {
        const r = spawnSync(hammer, ['-f', vols[0], 'show'], { stdio: ['ignore', 'ignore', 'ignore'] });
        if (r.status !== 0) throw new Error(`${hammer} show failed`);
      }, { minMs: 1000, min: 3 });
      out.push(
        { name: 'DragonFly hammer -f IMG show > /dev/null', value: ms, unit: 'ms', note: 'process start included' },
        { name: 'walk time / hammer show time', value: walkMs / ms, unit: 'x', note: `target <= 0.5; whole hammerfs show process / hammer show ${(cliMs / ms).toFixed(1)}x` },
      );
    }
    return out;
  },
};
