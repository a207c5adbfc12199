/**
 * mirror-write: a master PFS of ~100k records (35k small files written with HammerWriter) is
 * mirrored into a slave on a fresh image (stream produced and applied in one process, batch per
 * transaction), then 10 files change and the incremental mirror runs. Reported: records/s of
 * the full apply, its time relative to `cat IMG > /dev/null` of the source image, and the share
 * of B-Tree nodes the incremental mirror-read visits (the mirror_tid shortcut) after 10 records
 * changed (chmod of 10 files: one new INODE record version each). Each mirror runs once (a rerun
 * would be a different, idle, transfer).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BenchSection } from '../registry.js';
import { openVolumeSet } from '../../src/volume/volume-set.js';
import { openVolumeSetForWrite } from '../../src/volume/writable-volume-set.js';
import { makeTestImage } from '../../src/volume/newfs.js';
import { BTree } from '../../src/btree/btree.js';
import { HammerWriter } from '../../src/fs/write/writer.js';
import { createPfs } from '../../src/mirror/pfs-admin.js';
import { mirrorCopy } from '../../src/mirror/mirror-copy.js';
import { planMirrorRead, estimateMirrorRead } from '../../src/mirror/mirror-read.js';

const FILES = 40_000;

const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

export const section: BenchSection = {
  name: 'mirror-write',
  run(ctx) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hammerfs-bench-mw-'));
    try {
      const src = path.join(dir, 'src.img');
      makeTestImage(src, { size: 1 << 30, undoSize: 64 << 20 });
      const t0 = Date.now();
      let since = 0n;
      {
        const vs = openVolumeSetForWrite([src]);
        try {
          createPfs(vs, 1, { slave: false });
          const w = new HammerWriter(vs, { pfs: 1, autoCommit: false });
          const perDir = 200;
          for (let d = 0; d * perDir < FILES; d++) {
            w.mkdir(`/d${d}`);
            for (let i = 0; i < perDir && d * perDir + i < FILES; i++) w.writeFile(`/d${d}/f${i}`, Buffer.from(`content of ${d}/${i}\n`));
            if (d % 10 === 9) w.commit();
          }
          w.commit();
        } finally {
          vs.close();
        }
      }
      ctx.log(`mirror-write: built a ${FILES}-file master in ${Date.now() - t0} ms`);
      const dstImg = path.join(dir, 'dst.img');
      const fresh = () => makeTestImage(dstImg, { size: 1 << 30, undoSize: 64 << 20 });
      let full = { created: 0, streamBytes: 0 };
      fresh();
      let t1 = process.hrtime.bigint();
      {
        const s = openVolumeSet([src], { lock: 'none' });
        const d = openVolumeSetForWrite([dstImg]);
        try {
          full = mirrorCopy(s, d, { srcPfs: 1, dstPfs: 2, createSlave: true });
        } finally {
          s.close();
          d.close();
        }
      }
      const fullMs = ms(t1);
      // change 10 files, then mirror incrementally
      {
        const vs = openVolumeSetForWrite([src]);
        try {
          since = vs.root.nextTid + 1n;
          const w = new HammerWriter(vs, { pfs: 1, autoCommit: false });
          for (let i = 0; i < 10; i++) w.setattr(`/d${i * 19}/f${i * 7}`, { mode: 0o600 });
          w.commit();
        } finally {
          vs.close();
        }
      }
      const nodes = (s?: bigint) => {
        const vs = openVolumeSet([src], { lock: 'none' });
        try {
          const t = new BTree(vs);
          const c = { vs, tree: t };
          const plan = planMirrorRead(c, { pfsId: 1, since: s, batchBytes: 0 });
          const before = t.nodesRead;
          const e = estimateMirrorRead(c, plan);
          return { nodes: t.nodesRead - before, recs: e.rec + e.pass };
        } finally {
          vs.close();
        }
      };
      const allNodes = nodes();
      const incNodes = nodes(since);
      let inc = { created: 0, deleted: 0, updated: 0, streamBytes: 0 };
      t1 = process.hrtime.bigint();
      {
        const s = openVolumeSet([src], { lock: 'none' });
        const d = openVolumeSetForWrite([dstImg]);
        try {
          inc = mirrorCopy(s, d, { srcPfs: 1, dstPfs: 2 });
        } finally {
          s.close();
          d.close();
        }
      }
      const incMs = ms(t1);
      const catMs = ctx.time(() => {
        const r = spawnSync('sh', ['-c', 'cat "$1" > /dev/null', 'sh', src], { stdio: 'ignore' });
        if (r.status !== 0) throw new Error('cat failed');
      }, { minMs: 500, min: 3 });
      return [
        { name: 'mirror-copy full (~100k records): records/s', value: full.created / (fullMs / 1000), unit: 'rec/s', note: `${full.created} records, ${full.streamBytes} stream bytes, ${fullMs.toFixed(0)} ms` },
        { name: 'full mirror-copy time / cat src image', value: fullMs / catMs, unit: 'x', note: `cat ${catMs.toFixed(1)} ms (sparse 1 GiB image)` },
        { name: 'incremental mirror-copy (10 records changed)', value: incMs, unit: 'ms', note: `${inc.created} created, ${inc.updated} updated, ${inc.deleted} deleted, ${inc.streamBytes} stream bytes` },
        { name: 'incremental mirror-read: share of B-Tree nodes read', value: (100 * incNodes.nodes) / allNodes.nodes, unit: '%', note: `${incNodes.nodes} of ${allNodes.nodes} nodes (${allNodes.recs} records in the PFS)` },
      ];
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
};
