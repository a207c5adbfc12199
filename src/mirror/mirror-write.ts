/**
 * Mirror write: apply a mirror stream to a slave PFS with the kernel's HAMMERIOC_MIRROR_WRITE
 * rules (spec/MIRROR.md §a.3, §a.4) and the userland batch protocol of `hammer mirror-write`
 * (§c.3). Driven by MirrorStreamReader callbacks:
 *
 *   batchBegin  check the target (slave, same shared UUID; -y creates a missing slave), open a
 *               transaction, reset the tracking key (key_cur) to the start of the PFS
 *   bulk        REC / PASS / SKIP, applied in stream order:
 *                 every key is relocalized to the target PFS (lo & 0xFFFF | pfs << 16);
 *                 delete_to(k): target records between key_cur and k (exclusive) that are live
 *                   and were created before tid_end get delete_tid = tid_end (the source no longer
 *                   has them); CONFIG records are never touched; SKIP ranges are not swept;
 *                 REC: an existing identical record only has its delete_tid updated
 *                   (mirror_check / mirror_update); a missing one is created when create_tid >=
 *                   tid_beg: payload copied into a new allocation after its CRC is checked,
 *                   DIRENTRY payloads get the target PFS as entry localization and a new CRC;
 *                 PASS: like REC but never creates;
 *                 SKIP: key_cur jumps to skip_end;
 *                 REC flagged CRC_ERROR: ignored (no sweep, key_cur unchanged)
 *   batchEnd    SYNC: the slave's sync_end_tid := tid_end, written in the same transaction as the
 *               batch's last records, then commit — after a crash the target is either at the old
 *               sync point or at the new one, never in between as far as sync_end_tid says.
 *               IDLE: nothing to commit.
 *   batchAbort  the open transaction is rolled back (the media keeps the last commit).
 *
 * Memory: a transaction keeps every changed 16 KiB buffer in memory until commit. A batch that
 * dirties more than `maxDirtyBuffers` buffers is committed part-way (without touching
 * sync_end_tid), as the kernel's flusher does mid-batch: a crash then leaves sync_end_tid at the
 * old value, and re-applying the batch is harmless because existing identical records are
 * skipped and deletions are only ever re-set to the same TIDs.
 *
 * Dry run: one transaction spans the whole stream and is never committed; the report says what
 * would have been created, deleted and updated.
 */
import { MirrorStreamError, UsageError, type Where } from '../errors.js';
import {
  HAMMER_RECTYPE_CONFIG, HAMMER_RECTYPE_DIRENTRY, HAMMER_RECTYPE_INODE, HAMMER_MREC_TYPE_REC, HAMMER_MREC_TYPE_PASS,
  HAMMER_MREC_TYPE_SKIP, HAMMER_MREC_TYPE_SYNC, HAMMER_MRECF_CRC_ERROR, HAMMER_MRECF_NODATA, HAMMER_LOCALIZE_MASK,
  HAMMER_XBUFSIZE, HAMMER_BUFSIZE, HAMMER_PFSD_SLAVE, HAMMER_PFSD_DELETED, LE,
} from '../ondisk/constants.js';
import { ELM, cmpBaseElm, cmpBaseElmRaw, decodeBaseElm, EncodedKey, type BaseElm, type LeafElm } from '../ondisk/btree-elm.js';
import type { MRecBulk } from '../ondisk/mrecord.js';
import { recordDataCrcVerdict, recordDataCrc } from '../ondisk/inode-data.js';
import { uuidEqual, uuidToString } from '../ondisk/uuid.js';
import { hex64 } from '../ondisk/int64.js';
import type { PfsData } from '../ondisk/pfs-data.js';
import { BTree } from '../btree/btree.js';
import { Cursor } from '../btree/cursor.js';
import { insertLeaf, markDeleted, writeRecordData } from '../btree/modify.js';
import { fifoSize } from '../volume/undo-fifo.js';
import type { Transaction } from '../volume/transaction.js';
import type { WritableVolumeSet } from '../volume/writable-volume-set.js';
import type { BatchEndType, BatchInfo, MirrorStreamHandler } from './stream-reader.js';
import { createPfsIn, readPfsRecord, setSyncEndTid, setDeleteTid, pfsKeyRange } from './pfs-admin.js';

export interface MirrorWriteOptions {
  /** Target PFS id. */
  pfsId: number;
  /** -y: create a missing target PFS as a slave with the stream's shared UUID. */
  createSlave?: boolean;
  /** Asked when the target is missing and createSlave is not set (a terminal prompt); true creates it. */
  confirmCreate?: (sharedUuid: string) => boolean;
  /** --force: skip the slave / shared-UUID checks (never needed for a correct setup). */
  force?: boolean;
  /** Apply into a never-committed transaction and report only. */
  dryRun?: boolean;
  /** Commit part-way once the transaction holds this many dirty 16 KiB buffers (default: from the UNDO FIFO size). */
  maxDirtyBuffers?: number;
  /** Called after each batch ends (committed, idle or aborted). */
  onBatch?: (b: BatchResult) => void;
  /**
   * A stream that simply ends part-way through a batch (cut short or TERM before SYNC; not a
   * corrupt one) keeps the records applied so far — committed without moving sync_end_tid, as
   * DragonFly's kernel keeps them — so that `mirror-read --resume` can complete the batch.
   */
  keepPartial?: boolean;
  /** Test hook: called after every applied bulk record (fault injection kills the process here). */
  afterRecord?: (n: number) => void;
}

export interface MirrorWriteCounts {
  /** Records created on the target. */
  created: number;
  /** Existing records whose delete_tid was set/updated from the stream (mirror_update). */
  updated: number;
  /** Target records marked deleted by the sweeps (delete_to). */
  deleted: number;
  /** Existing records confirmed unchanged. */
  unchanged: number;
  /** Missing records older than tid_beg (not recreated, as the kernel does). */
  tooOld: number;
  /** REC records flagged CRC_ERROR by the source, ignored. */
  crcErrorIgnored: number;
  /** CONFIG records, never mirrored. */
  configIgnored: number;
  rec: number;
  pass: number;
  skip: number;
  payloadBytes: number;
}

export interface BatchResult extends MirrorWriteCounts {
  index: number;
  tidBeg: bigint;
  tidEnd: bigint;
  how: 'sync' | 'idle' | 'aborted';
  /** Transactions committed for this batch (more than 1 when it was split). */
  commits: number;
  reason?: string;
}

export interface MirrorWriteReport extends MirrorWriteCounts {
  pfsId: number;
  batches: number;
  synced: number;
  idle: number;
  aborted: number;
  commits: number;
  /** The slave's sync_end_tid after the run (what it would be, for a dry run). */
  syncEndTid: bigint;
  /** sync_end_tid before the run (undefined: the PFS did not exist). */
  syncEndTidBefore?: bigint;
  createdPfs: boolean;
  dryRun: boolean;
  /** --keep-partial kept the records of an interrupted batch. */
  partialKept?: boolean;
}

const emptyCounts = (): MirrorWriteCounts => ({
  created: 0, updated: 0, deleted: 0, unchanged: 0, tooOld: 0, crcErrorIgnored: 0, configIgnored: 0, rec: 0, pass: 0, skip: 0, payloadBytes: 0,
});

function addCounts(into: MirrorWriteCounts, c: MirrorWriteCounts): void {
  for (const k of Object.keys(c) as (keyof MirrorWriteCounts)[]) into[k] += c[k];
}

/** Keys the sweep collects before it edits them (the cursor is re-seeked afterwards). */
const SWEEP_CHUNK = 256;

export class MirrorWriter implements MirrorStreamHandler {
  readonly pfsId: number;
  readonly report: MirrorWriteReport;
  private tx: Transaction | null = null;
  private tree: BTree;
  private counts = emptyCounts();
  private commitsThisBatch = 0;
  /** Tracking key (key_cur) with PFS bits; whether the element equal to it was handled. */
  private keyCur: BaseElm;
  private keyCurHandled = false;
  private tidBeg = 0n;
  private tidEnd = 0n;
  private readonly maxDirty: number;
  private readonly pfsLo: number;
  private checked = false;
  private recordsApplied = 0;
  private pos = 0;

  constructor(readonly vs: WritableVolumeSet, readonly o: MirrorWriteOptions) {
    if (!Number.isInteger(o.pfsId) || o.pfsId < 1 || o.pfsId > 0xffff) {
      throw new UsageError(`mirror-write target must be a PFS id 1..65535 (PFS 0 is always a master), got ${o.pfsId}`, { structure: 'argument', field: 'pfs' });
    }
    this.pfsId = o.pfsId;
    this.pfsLo = (o.pfsId << 16) >>> 0;
    this.tree = new BTree(vs);
    this.keyCur = pfsKeyRange(o.pfsId).beg;
    // UNDO for a commit must fit the FIFO: keep the dirty set to a quarter of it (at most 64 MiB).
    const fifoBufs = Math.floor(fifoSize(vs) / HAMMER_BUFSIZE);
    this.maxDirty = o.maxDirtyBuffers ?? Math.max(16, Math.min(4096, Math.floor(fifoBufs / 4)));
    const cur = readPfsRecord(this.tree, o.pfsId);
    this.report = {
      ...emptyCounts(), pfsId: o.pfsId, batches: 0, synced: 0, idle: 0, aborted: 0, commits: 0,
      syncEndTid: cur && !(cur.data.mirrorFlags & HAMMER_PFSD_DELETED) ? cur.data.syncEndTid : 0n,
      syncEndTidBefore: cur && !(cur.data.mirrorFlags & HAMMER_PFSD_DELETED) ? cur.data.syncEndTid : undefined,
      createdPfs: false, dryRun: o.dryRun ?? false,
    };
  }

  private where(field?: string): Where {
    return field ? { structure: 'mirror stream', streamPos: this.pos, field } : { structure: 'mirror stream', streamPos: this.pos };
  }

  /* ---------------- framing ---------------- */

  batchBegin(b: BatchInfo): void {
    this.pos = b.pos;
    this.guard(() => {
      if (!this.tx) this.begin();
      this.checkTarget(b);
      this.counts = emptyCounts();
      this.commitsThisBatch = 0;
      this.keyCur = pfsKeyRange(this.pfsId).beg;
      this.keyCurHandled = false;
      this.tidBeg = b.tidBeg;
      this.tidEnd = b.tidEnd;
    });
  }

  bulk(r: MRecBulk, pos: number): void {
    this.pos = pos;
    this.guard(() => {
      this.applyBulk(r);
      if (!this.o.dryRun && this.vs.overlay.dirty.size >= this.maxDirty) {
        // part-way commit: sync_end_tid stays where it was (see header)
        this.commit();
        this.begin();
      }
      this.o.afterRecord?.(++this.recordsApplied);
    });
  }

  batchEnd(b: BatchInfo, how: BatchEndType, pos: number): void {
    this.pos = pos;
    this.guard(() => {
      const rep = this.report;
      rep.batches++;
      if (how === HAMMER_MREC_TYPE_SYNC) {
        // TIDs handed out later on this filesystem stay above the slave's sync point
        this.raiseTid(b.tidEnd);
        setSyncEndTid(this.tx!, this.tree, this.pfsId, b.tidEnd);
        rep.synced++;
        rep.syncEndTid = b.tidEnd;
        if (!this.o.dryRun) {
          this.commit();
        }
      } else {
        rep.idle++;
        // an IDLE batch carries no records; anything a -y creation did is still committed
        if (!this.o.dryRun) this.commit();
      }
      addCounts(rep, this.counts);
      this.o.onBatch?.({ ...this.counts, index: b.index, tidBeg: b.tidBeg, tidEnd: b.tidEnd, how: how === HAMMER_MREC_TYPE_SYNC ? 'sync' : 'idle', commits: this.commitsThisBatch });
    });
  }

  batchAbort(b: BatchInfo, reason: string): void {
    if (this.o.keepPartial && !this.o.dryRun && this.tx && /^(stream cut short|TERM before SYNC)/.test(reason)) {
      // the prefix is consistent on its own: sync_end_tid stays at the last completed batch
      this.guard(() => this.commit());
      addCounts(this.report, this.counts);
      this.report.partialKept = true;
    } else this.rollback();
    this.report.aborted++;
    this.report.batches++;
    this.o.onBatch?.({ ...this.counts, index: b.index, tidBeg: b.tidBeg, tidEnd: b.tidEnd, how: 'aborted', commits: this.commitsThisBatch, reason });
  }

  /** End of the run: a dry run's transaction is discarded here; anything still open is rolled back. */
  finish(): MirrorWriteReport {
    this.rollback();
    return this.report;
  }

  /** Roll back the open transaction, if any. */
  rollback(): void {
    if (this.tx) {
      this.tx.abort();
      this.tx = null;
      this.tree = new BTree(this.vs);
    }
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.rollback();
      throw e;
    }
  }

  private begin(): void {
    this.tx = this.vs.begin();
    // a fresh tree: nodes verified in an aborted transaction must not be trusted afterwards
    this.tree = new BTree(this.vs);
  }

  private commit(): void {
    this.tx!.commit();
    this.tx = null;
    this.report.commits++;
    this.commitsThisBatch++;
  }

  /** MIRROR.md §c.3 steps 1 and 3: the target must be a slave of the stream's master. */
  private checkTarget(b: BatchInfo): void {
    const where: Where = { structure: `PFS ${this.pfsId}` };
    const cur = readPfsRecord(this.tree, this.pfsId);
    const exists = cur && !(cur.data.mirrorFlags & HAMMER_PFSD_DELETED);
    if (!exists) {
      if (!this.o.createSlave && !this.o.confirmCreate?.(uuidToString(b.pfsd1.sharedUuid))) {
        throw new UsageError(`target PFS ${this.pfsId} does not exist; -y creates it as a slave of the stream's shared UUID ${uuidToString(b.pfsd1.sharedUuid)}`, where);
      }
      // as hammer(8) does: `hammer pfs-slave <path> shared-uuid=<stream's>` (no label)
      createPfsIn(this.tx!, this.tree, this.pfsId, { slave: true, sharedUuid: b.pfsd1.sharedUuid });
      this.report.createdPfs = true;
      return;
    }
    if (this.checked) return;
    const d: PfsData = cur!.data;
    if (!this.o.force) {
      if (!(d.mirrorFlags & HAMMER_PFSD_SLAVE)) {
        throw new UsageError(`target PFS ${this.pfsId} is a master; mirror-write only writes into slaves (pfs-downgrade it first, or --force)`, where);
      }
      if (!uuidEqual(d.sharedUuid, b.pfsd2.sharedUuid)) {
        throw new UsageError(`target PFS ${this.pfsId} has shared UUID ${uuidToString(d.sharedUuid)} but the stream comes from ${uuidToString(b.pfsd2.sharedUuid)} (a different master; --force to write anyway)`, where);
      }
    }
    this.checked = true;
  }

  /* ---------------- records ---------------- */

  private reloc<T extends BaseElm>(k: T): T {
    return { ...k, localization: (this.pfsLo | (k.localization & HAMMER_LOCALIZE_MASK)) >>> 0 };
  }

  private applyBulk(r: MRecBulk): void {
    const c = this.counts;
    if (r.type === HAMMER_MREC_TYPE_SKIP) {
      c.skip++;
      const beg = this.reloc(r.skipBeg);
      const end = this.reloc(r.skipEnd);
      this.deleteTo(beg);
      this.keyCur = end;
      // the element at skip_end has not been seen yet
      this.keyCurHandled = false;
      return;
    }
    if (r.type === HAMMER_MREC_TYPE_REC) {
      c.rec++;
      if (r.flags & HAMMER_MRECF_CRC_ERROR) {
        c.crcErrorIgnored++;
        return;
      }
      if (r.flags & HAMMER_MRECF_NODATA) {
        throw new MirrorStreamError('REC without payload (a --nodata stream cannot be applied)', this.where('type'));
      }
    } else if (r.type === HAMMER_MREC_TYPE_PASS) c.pass++;
    const leaf = this.reloc(r.leaf);
    const seen = this.deleteTo(leaf);
    if (leaf.recType === HAMMER_RECTYPE_CONFIG) {
      c.configIgnored++;
      return;
    }
    // the sweep's cursor stopped at (or just past) the record's key: no second descent needed
    const existing = seen === undefined ? this.lookup(leaf) : seen ?? undefined;
    if (existing) {
      this.mirrorUpdate(leaf, existing);
    } else if (r.type === HAMMER_MREC_TYPE_REC) {
      if (leaf.createTid >= this.tidBeg) this.create(leaf, r.payload);
      else c.tooOld++;
    }
    this.keyCur = leaf;
    this.keyCurHandled = true;
  }

  /** Exact lookup (create_tid included): delete_tid of the existing record, or undefined. */
  private lookup(k: BaseElm): { deleteTid: bigint } | undefined {
    const cur = new Cursor(this.tree);
    cur.seek(k);
    if (cur.next() !== 'elm') return undefined;
    const n = cur.node;
    const at = n.elmAt(cur.index);
    if (cmpBaseElm(decodeBaseElm(n.dv, at), k) !== 0) return undefined;
    return { deleteTid: n.dv.getBigUint64(at + ELM.deleteTid, LE) };
  }

  /** mirror_check + mirror_update: only a non-zero, different delete_tid is taken over. */
  private mirrorUpdate(leaf: LeafElm, existing: { deleteTid: bigint }): void {
    if (leaf.deleteTid === 0n || existing.deleteTid === leaf.deleteTid) {
      this.counts.unchanged++;
      return;
    }
    if (existing.deleteTid === 0n) {
      markDeleted(this.tx!, this.tree, leaf, leaf.deleteTid, leaf.deleteTs);
      if (leaf.recType === HAMMER_RECTYPE_INODE) this.tx!.header.statInodes -= 1n;
    } else {
      setDeleteTid(this.tx!, this.tree, leaf, leaf.deleteTid, leaf.deleteTs);
    }
    this.raiseTid(leaf.deleteTid);
    this.counts.updated++;
  }

  private create(leaf: LeafElm, payload: Uint8Array): void {
    const tx = this.tx!;
    const len = leaf.dataLen;
    if (len < 0 || len > HAMMER_XBUFSIZE) throw new MirrorStreamError(`REC data_len ${len} out of range 0..${HAMMER_XBUFSIZE}`, this.where('data_len'));
    if (payload.length < len) throw new MirrorStreamError(`REC carries ${payload.length} payload bytes but data_len is ${len}`, this.where('data_len'));
    let dataOffset = 0n;
    let dataCrc = leaf.dataCrc;
    if (len > 0 && leaf.dataOffset !== 0n) {
      let data = payload.subarray(0, len);
      if (recordDataCrcVerdict(leaf.recType, data, leaf.dataCrc, tx.version) === null) {
        throw new MirrorStreamError(`REC payload does not match its data_crc (obj ${hex64(leaf.objId)} key ${hex64(leaf.key)} rec_type 0x${leaf.recType.toString(16)})`, this.where('data_crc'));
      }
      if (leaf.recType === HAMMER_RECTYPE_DIRENTRY && len >= 16) {
        // the entry names its inode's PFS: that is now the target PFS
        data = data.slice();
        new DataView(data.buffer, data.byteOffset, data.byteLength).setUint32(8, this.pfsLo, LE);
        dataCrc = recordDataCrc(leaf.recType, data, tx.version);
      }
      const d = writeRecordData(tx, leaf.recType, data);
      dataOffset = d.dataOffset;
      if (leaf.recType === HAMMER_RECTYPE_DIRENTRY) dataCrc = d.dataCrc;
    }
    // a zero-fill record (data_offset 0, data_len > 0) stays one: no allocation
    insertLeaf(tx, this.tree, { ...leaf, dataOffset, dataCrc, dataLen: len });
    if (leaf.recType === HAMMER_RECTYPE_INODE && leaf.deleteTid === 0n) tx.header.statInodes += 1n;
    this.raiseTid(leaf.createTid > leaf.deleteTid ? leaf.createTid : leaf.deleteTid);
    this.counts.created++;
    this.counts.payloadBytes += len;
  }

  /**
   * delete_to(end): target records in [key_cur, end) that the stream did not mention are gone on
   * the source: mark them deleted at tid_end (unless created at/after tid_end, or CONFIG).
   * Returns what the scan saw at `end` itself ({deleteTid} of an identical record, null: none
   * there), or undefined when it did not scan (key_cur already at or past `end`).
   */
  private deleteTo(end: BaseElm): { deleteTid: bigint } | null | undefined {
    if (cmpBaseElm(this.keyCur, end) >= 0) return undefined;
    const endKey = new EncodedKey(end);
    let from = this.keyCur;
    let skipFirst = this.keyCurHandled;
    for (;;) {
      const victims: BaseElm[] = [];
      const cur = new Cursor(this.tree);
      cur.seek(from);
      let more = false;
      // what the scan found at `end` itself: the existing record (mirror_check) or null (absent)
      let atEnd: { deleteTid: bigint } | null = null;
      while (cur.next() === 'elm') {
        const n = cur.node;
        const at = n.elmAt(cur.index);
        const c = cmpBaseElmRaw(n.dv, at, endKey.dv, 0);
        if (c >= 0) {
          if (c === 0) atEnd = { deleteTid: n.dv.getBigUint64(at + ELM.deleteTid, LE) };
          break;
        }
        if (skipFirst) {
          skipFirst = false;
          if (cmpBaseElm(decodeBaseElm(n.dv, at), from) === 0) continue;
        }
        const deleteTid = n.dv.getBigUint64(at + ELM.deleteTid, LE);
        const createTid = n.dv.getBigUint64(at + ELM.createTid, LE);
        const recType = n.dv.getUint16(at + ELM.recType, LE);
        if (deleteTid !== 0n || createTid >= this.tidEnd || recType === HAMMER_RECTYPE_CONFIG) continue;
        victims.push(decodeBaseElm(n.dv, at));
        if (victims.length >= SWEEP_CHUNK) {
          more = true;
          break;
        }
      }
      const now = Math.floor(Date.now() / 1000);
      for (const v of victims) {
        markDeleted(this.tx!, this.tree, v, this.tidEnd, now);
        if (v.recType === HAMMER_RECTYPE_INODE) this.tx!.header.statInodes -= 1n;
        this.counts.deleted++;
      }
      if (victims.length) this.raiseTid(this.tidEnd);
      // marking other records deleted does not touch the element at `end`
      if (!more) return atEnd;
      from = victims[victims.length - 1];
      skipFirst = true;
    }
  }

  /** vol0_next_tid must stay above every TID on the media (the commit writes vs.lastTid). */
  private raiseTid(t: bigint): void {
    if (t > this.vs.lastTid) this.vs.lastTid = t;
  }
}

/** The slave side's view of a target before any stream is read (for mirror-copy's tid_beg). */
export function targetSyncEndTid(vs: WritableVolumeSet, pfsId: number): { exists: boolean; slave: boolean; syncEndTid: bigint; sharedUuid?: Uint8Array } {
  const cur = readPfsRecord(new BTree(vs), pfsId);
  if (!cur || cur.data.mirrorFlags & HAMMER_PFSD_DELETED) return { exists: false, slave: false, syncEndTid: 0n };
  return { exists: true, slave: (cur.data.mirrorFlags & HAMMER_PFSD_SLAVE) !== 0, syncEndTid: cur.data.syncEndTid, sharedUuid: cur.data.sharedUuid };
}

