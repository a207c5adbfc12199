/**
 * mirror-read throughput on content-v7: a full read of PFS 0 (every record with its payload, data
 * CRCs checked, stream CRCs computed) and an incremental read since generation 2 (mirror_tid
 * shortcut), into a sink that only counts bytes. Reported as stream MB/s and as the time relative
 * to `cat IMG > /dev/null`; plus the --estimate pass and mirror-dump --verify parsing speed.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import type { BenchSection } from '../registry.js';
import { openVolumeSet } from '../../src/volume/volume-set.js';
import { BTree } from '../../src/btree/btree.js';
import { MemorySink, MirrorStreamWriter, type ByteSink } from '../../src/mirror/stream-writer.js';
import { planMirrorRead, writeMirrorStream, estimateMirrorRead, type MirrorReadOptions } from '../../src/mirror/mirror-read.js';
import { parseMirrorStream } from '../../src/mirror/stream-reader.js';

class NullSink implements ByteSink {
  bytes = 0;
  write(b: Uint8Array): void {
    this.bytes += b.length;
  }
}

export const section: BenchSection = {
  name: 'mirror',
  async run(ctx) {
    const vols = await ctx.images('content-v7');
    const read = (o: MirrorReadOptions) => {
      // fresh volume set: our buffer cache cold, the OS page cache warm (as for cat)
      const vs = openVolumeSet(vols, { lock: 'none' });
      try {
        const c = { vs, tree: new BTree(vs) };
        const sink = new NullSink();
        writeMirrorStream(c, planMirrorRead(c, o), new MirrorStreamWriter(sink));
        return { bytes: sink.bytes, nodes: c.tree.nodesRead };
      } finally {
        vs.close();
      }
    };
    const full = { pfsId: 0, batchBytes: 0 };
    const inc = { pfsId: 0, since: 0x1000003edn, batchBytes: 0 };
    const fullInfo = read(full);
    const incInfo = read(inc);
    const fullMs = ctx.time(() => read(full));
    const incMs = ctx.time(() => read(inc));
    const estMs = ctx.time(() => {
      const vs = openVolumeSet(vols, { lock: 'none' });
      try {
        const c = { vs, tree: new BTree(vs) };
        estimateMirrorRead(c, planMirrorRead(c, { pfsId: 0, batchBytes: 0 }));
      } finally {
        vs.close();
      }
    });
    // parse + verify speed of the full stream (what mirror-dump --verify does, minus the pipe)
    const vs = openVolumeSet(vols, { lock: 'none' });
    const mem = new MemorySink();
    try {
      const c = { vs, tree: new BTree(vs) };
      writeMirrorStream(c, planMirrorRead(c, full), new MirrorStreamWriter(mem));
    } finally {
      vs.close();
    }
    const stream = mem.bytes();
    const parseMs = ctx.time(() => {
      parseMirrorStream(stream, { problem: () => {} }, { report: true });
    });
    const size = fs.statSync(vols[0]).size;
    const catMs = ctx.time(() => {
      const r = spawnSync('sh', ['-c', 'cat "$1" > /dev/null', 'sh', vols[0]], { stdio: 'ignore' });
      if (r.status !== 0) throw new Error('cat failed');
    }, { minMs: 1000, min: 3 });
    const mbs = (bytes: number, ms: number) => bytes / 2 ** 20 / (ms / 1000);
    return [
      { name: 'mirror-read full PFS 0: stream MB/s', value: mbs(fullInfo.bytes, fullMs), unit: 'MiB/s', note: `${fullInfo.bytes} stream bytes, ${fullInfo.nodes} nodes, ${fullMs.toFixed(1)} ms` },
      { name: 'mirror-read incremental (since gen 2)', value: mbs(incInfo.bytes, incMs), unit: 'MiB/s', note: `${incInfo.bytes} bytes, ${incInfo.nodes} nodes, ${incMs.toFixed(1)} ms` },
      { name: 'mirror-read --estimate (no data)', value: estMs, unit: 'ms' },
      { name: 'stream parse + verify', value: mbs(stream.length, parseMs), unit: 'MiB/s', note: `${parseMs.toFixed(1)} ms` },
      { name: 'cat IMG > /dev/null', value: catMs, unit: 'ms', note: `${(size / 2 ** 20).toFixed(0)} MiB apparent` },
      { name: 'full mirror-read time / cat time', value: fullMs / catMs, unit: 'x' },
      { name: 'incremental mirror-read time / cat time', value: incMs / catMs, unit: 'x' },
    ];
  },
};
