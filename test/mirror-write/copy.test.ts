// Full and incremental mirroring of content-v7's master PFS 1 into new slaves: on the same image
// (PFS 3), on a fresh newfs image and on a fresh three-volume set; via mirror-copy (library) and
// via a stream file (mirror-read -> mirror-write). The slave must show exactly the master's tree.
import { describe, it, expect, afterAll } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { copyImage } from '../helpers/images.js';
import { openVolumeSetForWrite } from '../../src/volume/writable-volume-set.js';
import { openVolumeSet } from '../../src/volume/volume-set.js';
import { makeTestImage, makeTestVolumes } from '../../src/volume/newfs.js';
import { BTree } from '../../src/btree/btree.js';
import { checkmap } from '../../src/btree/checkmap.js';
import { verifyFilesystem } from '../../src/fs/verify.js';
import { getPfs } from '../../src/fs/pfs.js';
import { mirrorCopy } from '../../src/mirror/mirror-copy.js';
import { MirrorWriter } from '../../src/mirror/mirror-write.js';
import { parseMirrorStream } from '../../src/mirror/stream-reader.js';
import { planMirrorRead, writeMirrorStream } from '../../src/mirror/mirror-read.js';
import { MemorySink, MirrorStreamWriter } from '../../src/mirror/stream-writer.js';
import { snapshotTree, diffTrees } from './helpers.js';

const GEN1 = 0x00000001000003ben;
const GEN2 = 0x00000001000003ecn;
const cleanups: (() => void)[] = [];
afterAll(() => cleanups.forEach((c) => c()));

function tmpdir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'hammerfs-mw-'));
  cleanups.push(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

function checks(paths: string[]): void {
  const vs = openVolumeSet(paths);
  try {
    const cm = checkmap(new BTree(vs));
    expect(cm.errors).toBe(0);
    expect(cm.badNodes).toEqual([]);
    expect(cm.nodes).toBeGreaterThan(0);
    const v = verifyFilesystem(vs);
    const errs = v.problems.filter((p) => p.severity === 'error');
    expect(errs.map((p) => p.message)).toEqual([]);
  } finally {
    vs.close();
  }
}

/** Stream of PFS `pfs` of `paths` in memory (explicit window when given). */
function readStream(paths: string[], pfs: number, o: { since?: bigint; until?: bigint; batchBytes?: number } = {}): Uint8Array {
  const vs = openVolumeSet(paths);
  try {
    const ctx = { vs, tree: new BTree(vs) };
    const plan = planMirrorRead(ctx, { pfsId: pfs, since: o.since, until: o.until, batchBytes: o.batchBytes ?? 0 });
    const sink = new MemorySink();
    writeMirrorStream(ctx, plan, new MirrorStreamWriter(sink));
    return sink.bytes();
  } finally {
    vs.close();
  }
}

function applyStream(paths: string[], pfs: number, bytes: Uint8Array, o: { createSlave?: boolean; dryRun?: boolean } = {}) {
  const vs = openVolumeSetForWrite(paths);
  try {
    const w = new MirrorWriter(vs, { pfsId: pfs, createSlave: o.createSlave ?? true, dryRun: o.dryRun });
    try {
      parseMirrorStream(bytes, w);
    } finally {
      w.finish();
    }
    return w.report;
  } finally {
    vs.close();
  }
}

function expectSame(srcPaths: string[], srcPfs: number, dstPaths: string[], dstPfs: number, srcAsof?: bigint): void {
  const a = openVolumeSet(srcPaths);
  const b = dstPaths === srcPaths ? a : openVolumeSet(dstPaths);
  try {
    const ta = snapshotTree(a, srcPfs, srcAsof);
    const tb = snapshotTree(b, dstPfs);
    expect(ta.size).toBeGreaterThan(10);
    expect(diffTrees(ta, tb)).toEqual([]);
  } finally {
    a.close();
    if (b !== a) b.close();
  }
}

describe('mirror-copy on one image: content-v7 PFS 1 -> new slave PFS 3', () => {
  it('full copy gives the master tree, keeps the slave read-only-as-of sync_end_tid, passes checks', () => {
    const img = copyImage('content-v7');
    cleanups.push(img.cleanup);
    const vs = openVolumeSetForWrite(img.paths);
    let rep;
    try {
      rep = mirrorCopy(vs, vs, { srcPfs: 1, dstPfs: 3, createSlave: true });
    } finally {
      vs.close();
    }
    expect(rep.createdPfs).toBe(true);
    expect(rep.created).toBeGreaterThan(50);
    expect(rep.synced).toBeGreaterThanOrEqual(1);
    const ro = openVolumeSet(img.paths);
    try {
      const p3 = getPfs({ vs: ro, tree: new BTree(ro), verifyData: true }, 3)!;
      const p1 = getPfs({ vs: ro, tree: new BTree(ro), verifyData: true }, 1)!;
      expect(p3.slave).toBe(true);
      expect(p3.sharedUuid).toBe(p1.sharedUuid);
      expect(p3.syncEndTid).toBe(rep.tidEnd);
    } finally {
      ro.close();
    }
    expectSame(img.paths, 1, img.paths, 3);
    // history came along: the slave as of generation 1 equals the master as of generation 1
    const ro2 = openVolumeSet(img.paths);
    try {
      expect(diffTrees(snapshotTree(ro2, 1, GEN1), snapshotTree(ro2, 3, GEN1))).toEqual([]);
    } finally {
      ro2.close();
    }
    checks(img.paths);
    // a second copy finds nothing new: only IDLE or an empty SYNC, nothing created or deleted
    const vs2 = openVolumeSetForWrite(img.paths);
    try {
      const again = mirrorCopy(vs2, vs2, { srcPfs: 1, dstPfs: 3 });
      expect(again.created).toBe(0);
      expect(again.deleted).toBe(0);
    } finally {
      vs2.close();
    }
  });
});

describe('stream file into a fresh newfs image, full then incremental by generations', () => {
  it('gen 1 then gen 3: slave follows, deleted files vanish now but stay visible as of the old TID', () => {
    const img = copyImage('content-v7');
    cleanups.push(img.cleanup);
    const dst = path.join(tmpdir(), 'slave.img');
    makeTestImage(dst, { size: 512 * 1024 * 1024 });
    const s1 = readStream(img.paths, 1, { until: GEN1 });
    const r1 = applyStream([dst], 5, s1);
    expect(r1.createdPfs).toBe(true);
    expect(r1.syncEndTid).toBe(GEN1);
    expectSame(img.paths, 1, [dst], 5, GEN1);
    checks([dst]);
    // incremental: from the slave's sync_end_tid + 1 to now
    const s2 = readStream(img.paths, 1, { since: GEN1 + 1n });
    const r2 = applyStream([dst], 5, s2);
    expect(r2.createdPfs).toBe(false);
    expectSame(img.paths, 1, [dst], 5);
    // the old view is still there
    const a = openVolumeSet(img.paths);
    const b = openVolumeSet([dst]);
    try {
      expect(diffTrees(snapshotTree(a, 1, GEN1), snapshotTree(b, 5, GEN1))).toEqual([]);
      expect(diffTrees(snapshotTree(a, 1, GEN2), snapshotTree(b, 5, GEN2))).toEqual([]);
    } finally {
      a.close();
      b.close();
    }
    // the incremental stream is much smaller than the full one
    const full = readStream(img.paths, 1);
    expect(s2.length).toBeLessThan(full.length / 2);
    expect(r2.created).toBeLessThan(r1.created);
    checks([dst]);
  });
});

describe('stream file on the same image and into a three-volume set', () => {
  it('content-v7 PFS 1 -> PFS 3 of the same image via a stream; the same stream into a 3-volume set', () => {
    const img = copyImage('content-v7');
    cleanups.push(img.cleanup);
    const s = readStream(img.paths, 1, { batchBytes: 200_000 });
    const r = applyStream(img.paths, 3, s);
    expect(r.batches).toBeGreaterThan(1);
    expect(r.synced).toBe(r.batches);
    expectSame(img.paths, 1, img.paths, 3);
    checks(img.paths);
    const d = tmpdir();
    const paths = [0, 1, 2].map((i) => path.join(d, `s${i}.img`));
    makeTestVolumes(paths, [256 << 20, 96 << 20, 96 << 20]);
    applyStream(paths, 3, s);
    expectSame(img.paths, 1, paths, 3);
    checks(paths);
  });
});

describe('mirror-copy into a fresh three-volume set', () => {
  it('copies PFS 1 across volume sets', () => {
    const img = copyImage('content-v7');
    cleanups.push(img.cleanup);
    const d = tmpdir();
    const paths = [0, 1, 2].map((i) => path.join(d, `m${i}.img`));
    makeTestVolumes(paths, [256 << 20, 128 << 20, 128 << 20]);
    const src = openVolumeSet(img.paths);
    const dst = openVolumeSetForWrite(paths);
    try {
      const rep = mirrorCopy(src, dst, { srcPfs: 1, dstPfs: 1, createSlave: true, chunkBytes: 64 * 1024 });
      expect(rep.calls).toBeGreaterThan(1);
    } finally {
      src.close();
      dst.close();
    }
    expectSame(img.paths, 1, paths, 1);
    checks(paths);
  });
});
