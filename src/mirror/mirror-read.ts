/**
 * Mirror read: the semantics of the HAMMERIOC_MIRROR_READ ioctl on the media
 * (sys/vfs/hammer/hammer_mirror.c hammer_ioc_mirror_read(); spec/MIRROR.md §a.2) and the
 * userland framing of `hammer mirror-read` (sbin/hammer/cmd_mirror.c; §c.1, §c.2).
 *
 * One MIRROR_READ call scans one PFS's key range [key_beg, key_end] (localization pfs << 16 | lo)
 * with the B-Tree mirror filter M = tid_beg (spec/BTREE.md §11) and classifies what it meets:
 *
 *   subtrees whose mirror_tid < tid_beg   SKIP(skip_beg, skip_end)   nothing below changed
 *   leaf, create_tid > tid_end            nothing                    not yet part of this window
 *   leaf, create_tid < tid_beg            PASS (leaf verbatim)       target confirms / updates delete_tid
 *   leaf, tid_beg <= create_tid <= tid_end REC (leaf + payload)      delete_tid cleared if > tid_end
 *
 * A payload that fails its data CRC is still sent, flagged CRC_ERROR | DATA_CRC_BAD (the target
 * ignores such records) instead of aborting the whole read. A leaf with data_offset 0 but
 * data_len != 0 (zero-filled record) goes out with data_len zero bytes: the kernel sends it with no
 * payload, which both lh1 and the kernel write path then reject (MIRROR.md a.2).
 *
 * The call is resumable: when the sink refuses a record (its budget is full) the scan stops and
 * returns key_cur = that record's key (or the SKIP's skip_beg), with no record lost or repeated
 * when the next call starts at key_beg = key_cur.
 *
 * Userland framing of one stream: per batch PFSD#1 (source PFS), PFSD#2 (sync_end_tid = the
 * batch's tid_end), the bulk, then SYNC (or IDLE when tid_beg >= tid_end); TERM after the last
 * batch. The TID window is split into batches by a size budget using a no-data prescan histogram
 * of REC bytes per create_tid (what `hammer mirror-read` does with -S).
 *
 * tid_end of a master: the kernel reports its last fully committed flush TID (flush_tid1), which
 * right after a mount is vol0_next_tid. On an unmounted image that is the best equivalent, except
 * that some writers leave vol0_next_tid at or below TIDs they used (newfs_hammer itself writes
 * next_tid 0x100000000 and root records at 0x100000001), so tid_end = max(vol0_next_tid, highest
 * TID in the tree): never drop a committed record. The highest TID is the root node's mirror_tid
 * (an aggregate of every TID below); newfs leaves that 0, and then the leaves are scanned.
 * tid_end of a slave: its sync_end_tid (the slave is valid as of that TID).
 * tid_beg: max(0, source sync_beg_tid), or --since exactly (inclusive) when given.
 * A batch is IDLE only when tid_beg > tid_end (tid_end being inclusive; see planMirrorRead).
 */
import { BadFieldError, NotFoundError, UsageError, type Where } from '../errors.js';
import {
  HAMMER_MIN_KEY, HAMMER_MAX_KEY, HAMMER_MAX_TID, HAMMER_XBUFSIZE, HAMMER_LOCALIZE_MASK,
  HAMMER_MRECF_CRC_ERROR, HAMMER_MRECF_DATA_CRC_BAD, HAMMER_MRECF_NODATA, LE,
} from '../ondisk/constants.js';
import { ELM, decodeBaseElm, cmpBaseElm, type BaseElm } from '../ondisk/btree-elm.js';
import { MREC_REC_HEAD_SIZE, MREC_PASS_SIZE, MREC_SKIP_SIZE, MREC_PFSD_SIZE, MREC_BARE_SIZE, headDoAlign } from '../ondisk/mrecord.js';
import { recordDataCrcVerdict } from '../ondisk/inode-data.js';
import { encodePfsData, PFSD, type PfsData } from '../ondisk/pfs-data.js';
import { setU64 } from '../ondisk/int64.js';
import { Cursor, forEachLeaf } from '../btree/cursor.js';
import type { BTree } from '../btree/btree.js';
import type { VolumeSet } from '../volume/volume-set.js';
import { getPfs, type PfsInfo } from '../fs/pfs.js';
import type { MirrorStreamWriter } from './stream-writer.js';

export interface MirrorContext {
  readonly vs: VolumeSet;
  readonly tree: BTree;
}

/**
 * Receives what one MIRROR_READ call produces. Each method returns false to refuse the record
 * ("buffer full"): the call then stops without consuming it. Leaf bytes are read in place at
 * (dv, at) and payloads may be views into the buffer cache: use them before returning.
 */
export interface MirrorReadSink {
  /** payload: data_len bytes, or null for a NODATA call. flags: 0 or CRC_ERROR | DATA_CRC_BAD (| NODATA). */
  rec(dv: DataView, at: number, payload: Uint8Array | null, flags: number, clearDeleteTid: boolean): boolean;
  pass(dv: DataView, at: number): boolean;
  skip(beg: BaseElm, end: BaseElm): boolean;
}

/** Parameters of one call, as hammer_ioc_mirror_rw. Key localizations carry no PFS bits. */
export interface MirrorReadParams {
  pfsId: number;
  keyBeg: BaseElm;
  keyEnd: BaseElm;
  tidBeg: bigint;
  tidEnd: bigint;
  /** HAMMER_IOC_MIRROR_NODATA: classify only, read no payloads (size prescans). */
  nodata?: boolean;
}

export interface MirrorReadCallResult {
  /** Resume point (PFS bits stripped): key_beg of the next call. */
  keyCur: BaseElm;
  /** True when the scan reached key_end (a further call would produce nothing). */
  done: boolean;
  rec: number;
  pass: number;
  skip: number;
  /** Leaves newer than tid_end, passed over without a record. */
  ignored: number;
  crcErrors: number;
}

const ZEROS = new Uint8Array(HAMMER_XBUFSIZE);

/** The full key range of a PFS, as lh1 mirror-read sets it (create_tid 1 .. MAX, lo 0 .. 0xFFFF). */
export const MIRROR_KEY_BEG: Readonly<BaseElm> = Object.freeze({
  localization: 0, objId: HAMMER_MIN_KEY, recType: 0, key: HAMMER_MIN_KEY, createTid: 1n, deleteTid: 0n, objType: 0, btype: 0,
});
export const MIRROR_KEY_END: Readonly<BaseElm> = Object.freeze({
  localization: HAMMER_LOCALIZE_MASK, objId: HAMMER_MAX_KEY, recType: 0xffff, key: HAMMER_MAX_KEY, createTid: HAMMER_MAX_TID, deleteTid: 0n, objType: 0, btype: 0,
});

const withPfs = (k: BaseElm, pfsId: number): BaseElm => ({ ...k, localization: (((pfsId & 0xffff) << 16) | (k.localization & HAMMER_LOCALIZE_MASK)) >>> 0 });
const stripPfs = (k: BaseElm): BaseElm => ({ ...k, localization: k.localization & HAMMER_LOCALIZE_MASK });

/**
 * One HAMMERIOC_MIRROR_READ call (hammer_ioc_mirror_read()). Emits into `sink` until key_end or
 * until the sink refuses a record. Throws BadFieldError for a range with PFS bits or key_beg >
 * key_end (EINVAL), and the B-Tree's typed errors for unreadable nodes or payload offsets.
 */
export function mirrorReadCall(ctx: MirrorContext, p: MirrorReadParams, sink: MirrorReadSink): MirrorReadCallResult {
  const rangeWhere: Where = { structure: 'mirror-read key range' };
  if (((p.keyBeg.localization | p.keyEnd.localization) & 0xffff0000) !== 0) {
    throw new BadFieldError('key range localization must not carry PFS bits', { ...rangeWhere, field: 'localization' });
  }
  if (!Number.isInteger(p.pfsId) || p.pfsId < 0 || p.pfsId > 0xffff) throw new BadFieldError(`PFS id ${p.pfsId} out of range 0..65535`, { ...rangeWhere, field: 'pfs_id' });
  if (cmpBaseElm(p.keyBeg, p.keyEnd) > 0) throw new BadFieldError('key_beg sorts after key_end', rangeWhere);
  const keyBeg = withPfs(p.keyBeg, p.pfsId);
  const keyEnd = withPfs(p.keyEnd, p.pfsId);
  const { tidBeg, tidEnd } = p;
  const version = ctx.vs.version;
  const res: MirrorReadCallResult = { keyCur: stripPfs(keyEnd), done: true, rec: 0, pass: 0, skip: 0, ignored: 0, crcErrors: 0 };
  // M = tid_beg: with tid_beg 0 nothing can be skipped, so no filter at all.
  const c = new Cursor(ctx.tree, { end: keyEnd, mirrorFilterTid: tidBeg > 0n ? tidBeg : undefined });
  c.seek(keyBeg);
  for (;;) {
    const step = c.next();
    if (step === 'end') return res;
    if (step === 'skip') {
      const sb = c.skipBeg!, se = c.skipEnd!;
      if (!sink.skip(sb, se)) return stopAt(res, stripPfs(sb));
      res.skip++;
      continue;
    }
    const node = c.node;
    const dv = node.dv;
    const at = node.elmAt(c.index);
    const createTid = dv.getBigUint64(at + ELM.createTid, LE);
    if (createTid > tidEnd) {
      res.ignored++;
      continue;
    }
    if (createTid < tidBeg) {
      if (!sink.pass(dv, at)) return stopAt(res, stripPfs(decodeBaseElm(dv, at)));
      res.pass++;
      continue;
    }
    const deleteTid = dv.getBigUint64(at + ELM.deleteTid, LE);
    let flags = 0;
    let payload: Uint8Array | null = null;
    if (p.nodata) flags = HAMMER_MRECF_NODATA;
    else {
      payload = readPayload(ctx, dv, at, node.offset, c.index);
      const dataOffset = dv.getBigUint64(at + ELM.dataOffset, LE);
      if (payload.length > 0 && dataOffset !== 0n) {
        const recType = dv.getUint16(at + ELM.recType, LE);
        const stored = dv.getUint32(at + ELM.dataCrc, LE);
        if (recordDataCrcVerdict(recType, payload, stored, version) === null) {
          flags = (HAMMER_MRECF_CRC_ERROR | HAMMER_MRECF_DATA_CRC_BAD) >>> 0;
          res.crcErrors++;
        }
      }
    }
    if (!sink.rec(dv, at, payload, flags, deleteTid > tidEnd)) return stopAt(res, stripPfs(decodeBaseElm(dv, at)));
    res.rec++;
  }
}

function stopAt(res: MirrorReadCallResult, key: BaseElm): MirrorReadCallResult {
  res.keyCur = key;
  res.done = false;
  return res;
}

function readPayload(ctx: MirrorContext, dv: DataView, at: number, nodeOff: bigint, index: number): Uint8Array {
  const len = dv.getInt32(at + ELM.dataLen, LE);
  const where: Where = { structure: 'B-Tree leaf element', hammerOff: nodeOff, index, field: 'data_len' };
  if (len < 0 || len > HAMMER_XBUFSIZE) throw new BadFieldError(`data_len ${len} out of range 0..${HAMMER_XBUFSIZE}`, where);
  if (len === 0) return ZEROS.subarray(0, 0);
  const off = dv.getBigUint64(at + ELM.dataOffset, LE);
  if (off === 0n) return ZEROS.subarray(0, len);
  return ctx.vs.read(off, len, { structure: 'record data', hammerOff: off });
}

/* ---------------- sinks ---------------- */

/** Sends every record to a stream writer (never refuses). */
export class WriterSink implements MirrorReadSink {
  constructor(readonly w: MirrorStreamWriter, private readonly tick?: () => void) {}
  rec(dv: DataView, at: number, payload: Uint8Array | null, flags: number, clear: boolean): boolean {
    this.w.recFromLeaf(dv, at, payload ?? ZEROS.subarray(0, 0), flags, clear);
    this.tick?.();
    return true;
  }
  pass(dv: DataView, at: number): boolean {
    this.w.passFromLeaf(dv, at);
    return true;
  }
  skip(beg: BaseElm, end: BaseElm): boolean {
    this.w.skip(beg, end);
    return true;
  }
}

/**
 * Counts what a real run would send, from a NODATA scan: REC bytes as if the payload were there
 * (80 + data_len, padded: zero-fill leaves are sent as zeros), and optionally a histogram of REC
 * bytes per create_tid for batch planning.
 */
export class CountingSink implements MirrorReadSink {
  recs = 0;
  passes = 0;
  skips = 0;
  /** Stream bytes of the bulk records. */
  bytes = 0;
  payloadBytes = 0;
  readonly histogram?: Map<bigint, number>;
  private readonly nodata: boolean;
  /** nodata: count REC records as a --nodata stream sends them (80 bytes, no payload). */
  constructor(o: { histogram?: boolean; nodata?: boolean } = {}) {
    if (o.histogram) this.histogram = new Map();
    this.nodata = o.nodata ?? false;
  }
  rec(dv: DataView, at: number): boolean {
    const len = this.nodata ? 0 : Math.max(0, dv.getInt32(at + ELM.dataLen, LE));
    const size = headDoAlign(MREC_REC_HEAD_SIZE + len);
    this.recs++;
    this.bytes += size;
    this.payloadBytes += len;
    if (this.histogram) {
      const tid = dv.getBigUint64(at + ELM.createTid, LE);
      this.histogram.set(tid, (this.histogram.get(tid) ?? 0) + size);
    }
    return true;
  }
  pass(): boolean {
    this.passes++;
    this.bytes += MREC_PASS_SIZE;
    return true;
  }
  skip(): boolean {
    this.skips++;
    this.bytes += MREC_SKIP_SIZE;
    return true;
  }
}

/* ---------------- userland framing ---------------- */

export interface MirrorSourceInfo {
  pfs: PfsInfo;
  slave: boolean;
  /** hammer_pseudofs_data as the source reports it (master: sync_end_tid = tid_end). */
  pfsd: Uint8Array;
  /** Highest TID the source has committed: master max(vol0_next_tid, tree's highest TID); slave sync_end_tid. */
  tidEnd: bigint;
  syncBegTid: bigint;
}

/** The highest create/delete TID in the tree: root mirror_tid, or a leaf scan when that is 0. */
export function highestTid(tree: BTree): bigint {
  const root = tree.node(tree.rootOffset);
  if (root.mirrorTid !== 0n) return root.mirrorTid;
  let max = 0n;
  const beg: BaseElm = { ...MIRROR_KEY_BEG, localization: 0, createTid: 1n };
  const end: BaseElm = { ...MIRROR_KEY_END, localization: 0xffffffff };
  forEachLeaf(tree, beg, end, (n, i) => {
    const at = n.elmAt(i);
    const c = n.dv.getBigUint64(at + ELM.createTid, LE);
    const d = n.dv.getBigUint64(at + ELM.deleteTid, LE);
    if (c > max) max = c;
    if (d > max) max = d;
  });
  return max;
}

/** What the source side learns from HAMMERIOC_GET_PSEUDOFS. Throws NotFoundError / UsageError. */
export function mirrorSource(ctx: MirrorContext, pfsId: number): MirrorSourceInfo {
  const pfs = getPfs({ vs: ctx.vs, tree: ctx.tree, verifyData: true }, pfsId);
  const where: Where = { structure: 'PFS', index: pfsId };
  if (!pfs) throw new NotFoundError(`no PFS ${pfsId} on this filesystem`, where);
  if (pfs.deleted) throw new UsageError(`PFS ${pfsId} is deleted`, where);
  let raw: Uint8Array;
  if (pfs.data) raw = pfs.data.raw.slice();
  else {
    // PFS 0 without a PFS record: the defaults the kernel uses (shared = unique = fsid).
    const d: PfsData = {
      syncLowTid: 0n, syncBegTid: 0n, syncEndTid: 0n, syncBegTs: 0n, syncEndTs: 0n,
      sharedUuid: ctx.vs.root.fsid, uniqueUuid: ctx.vs.root.fsid, reserved01: 0, mirrorFlags: 0,
      label: pfs.label, snapshots: '', pruneMin: 0, pruneMax: 0, raw: new Uint8Array(292),
    };
    raw = encodePfsData(d);
  }
  let tidEnd: bigint;
  if (pfs.slave) tidEnd = pfs.syncEndTid;
  else {
    const next = ctx.vs.root.nextTid;
    const high = highestTid(ctx.tree);
    tidEnd = next > high ? next : high;
    setU64(new DataView(raw.buffer, raw.byteOffset, raw.byteLength), PFSD.syncEndTid, tidEnd);
  }
  return { pfs, slave: pfs.slave, pfsd: raw, tidEnd, syncBegTid: pfs.syncBegTid };
}

/** Refuses records once `budget` stream bytes were accepted: the kernel's "user buffer full". */
export class BudgetSink implements MirrorReadSink {
  used = 0;
  constructor(private readonly inner: MirrorReadSink, private readonly budget: number) {}
  private fits(n: number): boolean {
    if (this.used + n > this.budget) return false;
    this.used += n;
    return true;
  }
  rec(dv: DataView, at: number, payload: Uint8Array | null, flags: number, clear: boolean): boolean {
    const len = payload ? payload.length : 0;
    return this.fits(headDoAlign(MREC_REC_HEAD_SIZE + len)) && this.inner.rec(dv, at, payload, flags, clear);
  }
  pass(dv: DataView, at: number): boolean {
    return this.fits(MREC_PASS_SIZE) && this.inner.pass(dv, at);
  }
  skip(beg: BaseElm, end: BaseElm): boolean {
    return this.fits(MREC_SKIP_SIZE) && this.inner.skip(beg, end);
  }
}

export interface MirrorBatchPlan {
  tidBeg: bigint;
  /** Inclusive; PFSD #2 carries it as sync_end_tid. */
  tidEnd: bigint;
  /** No work (tid_beg > tid_end): PFSD, PFSD, IDLE. */
  idle: boolean;
}

export interface MirrorReadOptions {
  pfsId: number;
  /** tid_beg (inclusive); default max(0, the source's sync_beg_tid). */
  since?: bigint;
  /** tid_end (inclusive); default (and at most) the source's last committed TID. */
  until?: bigint;
  /** Split the TID window into batches of about this many stream bytes; 0 = one batch. Default 256 MiB. */
  batchBytes?: number;
  /** Run the no-data prescan even when no split is asked for (to know the totals). */
  prescan?: boolean;
}

export const DEFAULT_BATCH_BYTES = 256 * 1024 * 1024;

export interface MirrorReadPlan {
  pfsId: number;
  source: MirrorSourceInfo;
  tidBeg: bigint;
  tidEnd: bigint;
  batches: MirrorBatchPlan[];
  /** Totals of the prescan over the whole window, when one ran. */
  prescan?: { recs: number; passes: number; skips: number; bytes: number; payloadBytes: number };
}

/**
 * Choose the TID window and cut it into batches (cmd_mirror.c with its -S histogram prescan).
 * Records of one create_tid always travel in one batch, so a batch can exceed the budget.
 */
export function planMirrorRead(ctx: MirrorContext, o: MirrorReadOptions): MirrorReadPlan {
  const source = mirrorSource(ctx, o.pfsId);
  const tidEnd = o.until !== undefined && o.until < source.tidEnd ? o.until : source.tidEnd;
  const tidBeg = o.since ?? (source.syncBegTid > 0n ? source.syncBegTid : 0n);
  const plan: MirrorReadPlan = { pfsId: o.pfsId, source, tidBeg, tidEnd, batches: [] };
  // tid_end is inclusive here (the highest committed TID, not the kernel's next flush TID), so a
  // window of exactly one TID still has work: lh1's "tid_beg >= tid_end -> IDLE" would drop a
  // master's single transaction made since the slave's last sync (tid_beg = sync_end + 1).
  if (tidBeg > tidEnd) {
    plan.batches.push({ tidBeg, tidEnd, idle: true });
    return plan;
  }
  const budget = o.batchBytes ?? DEFAULT_BATCH_BYTES;
  if (budget <= 0 && !o.prescan) {
    plan.batches.push({ tidBeg, tidEnd, idle: false });
    return plan;
  }
  const cs = new CountingSink({ histogram: budget > 0 });
  mirrorReadCall(ctx, { pfsId: o.pfsId, keyBeg: MIRROR_KEY_BEG, keyEnd: MIRROR_KEY_END, tidBeg, tidEnd, nodata: true }, cs);
  plan.prescan = { recs: cs.recs, passes: cs.passes, skips: cs.skips, bytes: cs.bytes, payloadBytes: cs.payloadBytes };
  if (budget > 0 && cs.bytes > budget && cs.histogram) {
    const tids = [...cs.histogram.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    let beg = tidBeg;
    let acc = 0;
    for (const t of tids) {
      acc += cs.histogram.get(t)!;
      if (acc >= budget && t < tidEnd) {
        plan.batches.push({ tidBeg: beg, tidEnd: t, idle: false });
        beg = t + 1n;
        acc = 0;
      }
    }
    plan.batches.push({ tidBeg: beg, tidEnd, idle: false });
  } else {
    plan.batches.push({ tidBeg, tidEnd, idle: false });
  }
  return plan;
}

export interface MirrorReadProgress {
  batch: number;
  batches: number;
  /** Stream bytes produced so far. */
  bytes: number;
  payloadBytes: number;
  recs: number;
}

export interface MirrorReadRunOptions {
  /** Send REC records without payload, flagged NODATA (an inspection stream; it cannot be applied). */
  nodata?: boolean;
  /** Bytes per MIRROR_READ call before it is resumed from key_cur (default: unlimited). */
  callBytes?: number;
  /** Called every few hundred records and after each batch. */
  progress?: (p: MirrorReadProgress) => void;
  /**
   * Keep `resume` up to date with the last point whose bytes were all handed to the sink (the
   * writer is flushed after every MIRROR_READ call, so callBytes should be set too): what a
   * resume token names after an interruption.
   */
  resume?: ResumeTracker;
  /** Start the first batch at this key (a resumed transfer): a SKIP from the PFS's first key to it goes first. */
  startKey?: BaseElm;
}

/** A point of a transfer: stream bytes out so far, the batch being sent, the key its next call starts at. */
export interface ResumePoint {
  bytes: number;
  tidBeg: bigint;
  tidEnd: bigint;
  key: BaseElm;
}

/**
 * The points at which everything before was handed to the output. Bytes handed to a pipe may
 * still sit in its buffer when the reader dies, so pick() goes back at least `lag` bytes (the
 * largest pipe buffer, 1 MiB by default on Linux) from the last byte written.
 */
export class ResumeTracker {
  private readonly points: ResumePoint[] = [];
  /** Stream bytes handed to the output so far. */
  bytes = 0;
  add(p: ResumePoint): void {
    this.points.push(p);
    this.bytes = p.bytes;
    // keep the list short: drop points that a later point older than 4 MiB already covers
    while (this.points.length > 2 && this.points[1].bytes <= p.bytes - (4 << 20)) this.points.shift();
  }
  /** The newest point at least `lag` bytes before the end of what was written. */
  pick(lag: number): ResumePoint | undefined {
    // points[0] is the start of the transfer or lies 4 MiB back: never later than needed
    const limit = this.bytes - lag;
    let best = this.points[0];
    for (const q of this.points) if (q.bytes <= limit) best = q;
    return best;
  }
}

export interface MirrorReadReport {
  batches: number;
  rec: number;
  pass: number;
  skip: number;
  ignored: number;
  crcErrors: number;
  /** MIRROR_READ calls made (more than batches when callBytes forces resumes). */
  calls: number;
  bytes: number;
  payloadBytes: number;
}

/** PFSD #2 of a batch: the source's PFS data with sync_end_tid = the batch's tid_end. */
export function batchPfsd(source: MirrorSourceInfo, tidEnd: bigint): Uint8Array {
  const b = source.pfsd.slice();
  setU64(new DataView(b.buffer, b.byteOffset, b.byteLength), PFSD.syncEndTid, tidEnd);
  return b;
}

/**
 * Produce the whole stream of a plan: per batch PFSD#1, PFSD#2, bulk, SYNC|IDLE; then TERM.
 * The writer is flushed at the end.
 */
export function writeMirrorStream(ctx: MirrorContext, plan: MirrorReadPlan, w: MirrorStreamWriter, o: MirrorReadRunOptions = {}): MirrorReadReport {
  const rep = emptyReport();
  for (const _ of streamSteps(ctx, plan, w, o, rep)) {
    /* every step runs to the end */
  }
  return rep;
}

/**
 * writeMirrorStream() that returns to the event loop after every MIRROR_READ call, so signals
 * (SIGINT) are seen mid-transfer: `stop()` is checked between calls and, when it returns a
 * reason, the transfer ends by throwing `interrupted(reason)` with the output flushed up to the
 * last complete call (the resume tracker then names the point to continue from).
 */
export async function writeMirrorStreamAsync(
  ctx: MirrorContext, plan: MirrorReadPlan, w: MirrorStreamWriter, o: MirrorReadRunOptions & { stop?: () => string | undefined; interrupted?: (reason: string) => Error } = {},
): Promise<MirrorReadReport> {
  const rep = emptyReport();
  for (const _ of streamSteps(ctx, plan, w, o, rep)) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    const why = o.stop?.();
    if (why !== undefined) {
      w.flush();
      throw o.interrupted ? o.interrupted(why) : new Error(why);
    }
  }
  return rep;
}

const emptyReport = (): MirrorReadReport => ({ batches: 0, rec: 0, pass: 0, skip: 0, ignored: 0, crcErrors: 0, calls: 0, bytes: 0, payloadBytes: 0 });

/** The stream of a plan, one MIRROR_READ call per step. */
function* streamSteps(ctx: MirrorContext, plan: MirrorReadPlan, w: MirrorStreamWriter, o: MirrorReadRunOptions, rep: MirrorReadReport): Generator<void> {
  const startBytes = w.bytesWritten;
  const startPayload = w.counts.payloadBytes;
  const nb = plan.batches.length;
  let n = 0;
  const report = (batch: number) =>
    o.progress?.({ batch, batches: nb, bytes: w.bytesWritten - startBytes, payloadBytes: w.counts.payloadBytes - startPayload, recs: rep.rec + n });
  const tick = o.progress
    ? () => {
        if ((++n & 511) === 0) report(rep.batches);
      }
    : undefined;
  const writerSink = new WriterSink(w, tick);
  let startKey = o.startKey;
  const rp = o.resume;
  for (const b of plan.batches) {
    if (rp) {
      w.flush();
      rp.add({ bytes: w.bytesWritten, tidBeg: b.tidBeg, tidEnd: b.tidEnd, key: startKey ?? MIRROR_KEY_BEG });
    }
    w.pfsd(plan.source.pfsd);
    w.pfsd(batchPfsd(plan.source, b.tidEnd));
    if (b.idle) {
      w.idle();
    } else {
      let key: BaseElm = MIRROR_KEY_BEG;
      if (startKey) {
        // resumed: records before startKey reached the target already; the SKIP keeps its
        // deletion sweep out of that range and moves its key_cur to startKey
        if (cmpBaseElm(startKey, MIRROR_KEY_BEG) > 0) w.skip(MIRROR_KEY_BEG, startKey);
        key = startKey;
        startKey = undefined;
      }
      for (;;) {
        const sink = o.callBytes ? new BudgetSink(writerSink, o.callBytes) : writerSink;
        const r = mirrorReadCall(ctx, { pfsId: plan.pfsId, keyBeg: key, keyEnd: MIRROR_KEY_END, tidBeg: b.tidBeg, tidEnd: b.tidEnd, nodata: o.nodata }, sink);
        rep.calls++;
        rep.rec += r.rec;
        rep.pass += r.pass;
        rep.skip += r.skip;
        rep.ignored += r.ignored;
        rep.crcErrors += r.crcErrors;
        n = 0;
        if (rp && !r.done) {
          w.flush();
          rp.add({ bytes: w.bytesWritten, tidBeg: b.tidBeg, tidEnd: b.tidEnd, key: r.keyCur });
        }
        if (r.done) break;
        if (o.callBytes && r.rec + r.pass + r.skip === 0) {
          // not even one record fits: a budget below the largest record would loop forever
          throw new BadFieldError(`MIRROR_READ call budget ${o.callBytes} is smaller than one record`, { structure: 'mirror-read', field: 'callBytes' });
        }
        key = r.keyCur;
        yield;
      }
      w.sync();
      // with resume tracking, a batch counts as delivered only once its SYNC is out: resuming
      // from here re-sends it as SKIP-everything + SYNC, which only confirms the sync point
      if (rp) {
        w.flush();
        rp.add({ bytes: w.bytesWritten, tidBeg: b.tidBeg, tidEnd: b.tidEnd, key: MIRROR_KEY_END });
      }
    }
    rep.batches++;
    report(rep.batches);
  }
  w.term();
  w.flush();
  rep.bytes = w.bytesWritten - startBytes;
  rep.payloadBytes = w.counts.payloadBytes - startPayload;
}

export interface MirrorEstimate {
  batches: number;
  rec: number;
  pass: number;
  skip: number;
  /** Stream bytes the real run will write, framing included. */
  bytes: number;
  payloadBytes: number;
}

const PFSD_PADDED = headDoAlign(MREC_PFSD_SIZE);

/**
 * What writeMirrorStream() will send for this plan, from no-data scans (node reads only, no
 * payload reads or CRCs): exact as long as the filesystem does not change in between.
 */
export function estimateMirrorRead(ctx: MirrorContext, plan: MirrorReadPlan, o: { nodata?: boolean } = {}): MirrorEstimate {
  const e: MirrorEstimate = { batches: plan.batches.length, rec: 0, pass: 0, skip: 0, bytes: MREC_BARE_SIZE, payloadBytes: 0 };
  for (const b of plan.batches) {
    e.bytes += 2 * PFSD_PADDED + MREC_BARE_SIZE;
    if (b.idle) continue;
    const cs = new CountingSink({ nodata: o.nodata });
    mirrorReadCall(ctx, { pfsId: plan.pfsId, keyBeg: MIRROR_KEY_BEG, keyEnd: MIRROR_KEY_END, tidBeg: b.tidBeg, tidEnd: b.tidEnd, nodata: true }, cs);
    e.rec += cs.recs;
    e.pass += cs.passes;
    e.skip += cs.skips;
    e.bytes += cs.bytes;
    e.payloadBytes += cs.payloadBytes;
  }
  return e;
}
