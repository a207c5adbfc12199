/**
 * mirror-copy: mirror-read on the source and mirror-write on the target in one process
 * (`hammer mirror-copy`, MIRROR.md §c.4 without the pipe).
 *
 * The stream is produced in chunks of at most `chunkBytes`: each MIRROR_READ call stops when its
 * budget is full and returns key_cur, the chunk is pushed through the same stream reader and
 * writer that `mirror-write` uses (so it is validated exactly as a piped stream is), and the next
 * call resumes at key_cur with a fresh cursor. Memory stays at one chunk plus the target's dirty
 * buffers, whatever the size of the PFS.
 *
 * tid_beg is the two-way rule: target sync_end_tid + 1 when the target exists, else the source's
 * sync_beg_tid. Source and target may be the same volume set (another PFS): the set is opened
 * once for writing and the source is read through it. The source's keys are never changed by
 * the writer, and a fresh cursor per chunk means no node view outlives a tree change.
 */
import { UsageError } from '../errors.js';
import { BTree } from '../btree/btree.js';
import type { VolumeSet } from '../volume/volume-set.js';
import type { WritableVolumeSet } from '../volume/writable-volume-set.js';
import { MirrorStreamWriter } from './stream-writer.js';
import { MirrorStreamReader } from './stream-reader.js';
import {
  planMirrorRead, batchPfsd, mirrorReadCall, BudgetSink, WriterSink, MIRROR_KEY_BEG, MIRROR_KEY_END,
  DEFAULT_BATCH_BYTES, type MirrorReadPlan,
} from './mirror-read.js';
import { MirrorWriter, targetSyncEndTid, type MirrorWriteOptions, type MirrorWriteReport } from './mirror-write.js';
import type { BaseElm } from '../ondisk/btree-elm.js';
import { MREC_MAX_PADDED } from '../ondisk/mrecord.js';

export interface MirrorCopyOptions extends Omit<MirrorWriteOptions, 'pfsId'> {
  srcPfs: number;
  dstPfs: number;
  /** Stream bytes per MIRROR_READ call (default 4 MiB). */
  chunkBytes?: number;
  /** Batch split of the TID window (default as mirror-read). */
  batchBytes?: number;
  /** Explicit tid_beg (overrides the two-way rule). */
  since?: bigint;
  /** Explicit tid_end (inclusive, default the source's). */
  until?: bigint;
}

export interface MirrorCopyReport extends MirrorWriteReport {
  tidBeg: bigint;
  tidEnd: bigint;
  streamBytes: number;
  calls: number;
  srcNodesRead: number;
}

export function mirrorCopy(src: VolumeSet, dst: WritableVolumeSet, o: MirrorCopyOptions): MirrorCopyReport {
  if (src === dst && o.srcPfs === o.dstPfs) throw new UsageError('source and target are the same PFS', { structure: 'argument', field: 'pfs' });
  const srcTree = new BTree(src);
  const ctx = { vs: src, tree: srcTree };
  const tgt = targetSyncEndTid(dst, o.dstPfs);
  let since = o.since;
  if (since === undefined && tgt.exists && tgt.syncEndTid > 0n) since = tgt.syncEndTid + 1n;
  const plan: MirrorReadPlan = planMirrorRead(ctx, { pfsId: o.srcPfs, since, until: o.until, batchBytes: o.batchBytes ?? DEFAULT_BATCH_BYTES });
  const writer = new MirrorWriter(dst, { ...o, pfsId: o.dstPfs });
  const reader = new MirrorStreamReader(writer);
  const chunk = o.chunkBytes ?? 4 << 20;
  let streamBytes = 0;
  let calls = 0;
  // The writer's buffer goes straight to the reader, and only between MIRROR_READ calls: it is
  // larger than one call's budget, so it never flushes (and the target never changes) while a
  // source cursor is open.
  const w = new MirrorStreamWriter({
    write(b: Uint8Array) {
      streamBytes += b.length;
      reader.push(b);
    },
  }, { bufferBytes: chunk + 4 * MREC_MAX_PADDED });
  const pushOut = () => w.flush();
  const ws = new WriterSink(w);
  try {
    for (const b of plan.batches) {
      w.pfsd(plan.source.pfsd);
      w.pfsd(batchPfsd(plan.source, b.tidEnd));
      if (b.idle) w.idle();
      else {
        let key: BaseElm = MIRROR_KEY_BEG;
        for (;;) {
          pushOut();
          const r = mirrorReadCall(ctx, { pfsId: o.srcPfs, keyBeg: key, keyEnd: MIRROR_KEY_END, tidBeg: b.tidBeg, tidEnd: b.tidEnd }, new BudgetSink(ws, chunk));
          calls++;
          if (r.done) break;
          if (r.rec + r.pass + r.skip === 0) throw new UsageError(`mirror-copy chunk of ${chunk} bytes is smaller than one record`, { structure: 'argument', field: 'chunkBytes' });
          key = r.keyCur;
        }
        w.sync();
      }
      pushOut();
    }
    w.term();
    pushOut();
    reader.end();
  } finally {
    writer.finish();
  }
  return { ...writer.report, tidBeg: plan.tidBeg, tidEnd: plan.tidEnd, streamBytes, calls, srcNodesRead: srcTree.nodesRead };
}
