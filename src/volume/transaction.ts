/**
 * Transactions: every change to a HAMMER filesystem goes through one, and a crash at any instant
 * leaves the media holding exactly the last committed transaction (after UNDO recovery).
 *
 * ## API (stable; file operations, import, newfs follow-ups, mirror-write and pfs-* build on it)
 *
 * ```ts
 * import { openVolumeSetForWrite, WritableVolumeSet } from './writable-volume-set.js';
 * const vs = openVolumeSetForWrite(paths);     // exclusive lock; rolls back an interrupted commit
 * //  or WritableVolumeSet.fromDevices([new MemoryDevice(...)])   (tests: MemoryDevice/FaultDevice)
 * const tx = vs.begin();                       // one open transaction per set
 * tx.tid                                       // this transaction's TID (create_tid/delete_tid)
 * tx.ts                                        // its time, seconds (leaf create_ts/delete_ts)
 * tx.allocTid()                                // another TID / obj_id from the same counter
 * tx.alloc(zone, bytes) -> bigint              // allocator.ts rules; zone 8 nodes, 9 meta, 10/11 data
 * tx.free(off, bytes)                          // give space back (big-block freed -> not reused in this tx)
 * tx.writeNew(off, data)                       // fill freshly allocated space (no UNDO needed)
 * tx.modify(off, len) -> { buf, at }           // writable view of existing bytes (<= one 16 KiB buffer)
 * tx.header                                    // volume 0 header: btreeRoot, blockmap[], stat_* (edit freely)
 * tx.touchNode(off)                            // B-Tree node changed: CRC resealed by sealNodes()/commit
 * tx.commit()                                  // durable; returns stats
 * tx.abort()                                   // discard everything; media untouched
 * ```
 * B-Tree edits (src/btree/modify.ts), all inside `tx`, with `tree = new BTree(vs)`:
 * ```ts
 * const d = writeRecordData(tx, recType, payload)   // -> { dataOffset, dataLen, dataCrc }; zone by type/size,
 *                                                   //    INODE CRC over 112 bytes; empty payload -> offset 0
 * insertLeaf(tx, tree, { localization, objId, recType, key, createTid: tx.tid, deleteTid: 0n, objType,
 *                        btype: 0x52, createTs: tx.ts, deleteTs: 0, ...d })   // splits, mirror_tid; ExistsError
 * markDeleted(tx, tree, key)                        // key = exact record (create_tid included); sets
 *                                                   //    delete_tid = tx.tid, delete_ts = tx.ts (history)
 * deleteLeaf(tx, tree, key, { freeData })           // physical removal (prune/no-history); frees payload
 * ```
 * In-place payload edits the format allows (inode mtime): `tx.modify(leaf.dataOffset + 112n, 8)`.
 * Counters: `tx.header.statInodes += 1n` etc. Usage pattern:
 * ```ts
 * const tx = vs.begin();
 * try { ...; tx.commit(); } catch (e) { tx.abort(); throw e; }
 * ```
 *
 * Reads during the transaction see its own writes: changed 16 KiB buffers are private copies held
 * by the set's OverlayCache, which every read path (VolumeSet.read/buffer, BTree, Cursor) goes
 * through. A Cursor opened before a change must be re-seeked after it (node views may be stale).
 * Whole 16 KiB buffers of freshly allocated space filled by writeNew() (large payloads) are
 * staged instead: no copy of the media's old bytes, no diff at commit (free space needs no UNDO).
 * Nothing reaches the media before commit() unless more than `overlay.stageLimit` (64 MiB) of new
 * data is staged: then it is written early, into space the committed state does not reference.
 * So any error inside a transaction can be handled by abort() and leaves the committed state
 * (below the limit: the volumes byte-for-byte unchanged, NoSpaceError included). Dirty buffers are
 * held in memory: a bulk writer should commit every few thousand records (overlay.pendingBytes).
 *
 * ## Commit (spec/UNDO.md §4, for an offline writer)
 * 0. Staged new data is written (adjacent buffers in one write): nothing committed refers to it yet.
 * 1. UNDO records are derived, not declared: for every changed buffer the byte ranges that differ
 *    from its pre-transaction copy (minus space allocated in this transaction) are logged with
 *    their old bytes; volume-header fields the same way as zone-1 UNDO (except the UNDO pointers
 *    themselves and vol0_next_tid, which are never rolled back). Records are laid into the FIFO
 *    (512-byte sector rules, DUMMY formatting of new 16 KiB buffers, PAD), written and fsynced.
 * 2. Root header with undo next_offset = E (end of those records) and vol0_next_tid; fsync.
 * 3. Every changed buffer (nodes, freemap, small payloads) is written, adjacent ones joined; fsync.
 * 4. Root header with undo first_offset = E (the range is closed: committed); fsync.
 * A crash before 4 is durable is rolled back by recovery.ts; after it, nothing is undone.
 */
import { BadFieldError, NoSpaceError, UsageError } from '../errors.js';
import {
  HAMMER_BUFSIZE, HAMMER_VOLUME_HEADER_SIZE, HAMMER_ZONE_UNDO_INDEX, HAMMER_ZONE_RAW_VOLUME_INDEX,
  HAMMER_ZONE_RAW_BUFFER_INDEX, HAMMER_BTREE_NODE_SIZE, HAMMER_UNDO_ALIGN,
} from '../ondisk/constants.js';
import { encodeUndo, undoRecordSize } from '../ondisk/fifo.js';
import { decodeVolumeHeader, encodeVolumeHeader, sealVolumeHeader, VOL, type VolumeHeader } from '../ondisk/volume-header.js';
import { sealBlockmapEntry } from '../ondisk/blockmap.js';
import { sealBtreeNode } from '../ondisk/btree-node.js';
import { encodeOffset, shortOffset } from '../ondisk/offset.js';
import type { CachedBuffer } from '../io/cache.js';
import { FifoWriter, fifoSize, fifoSpan, scanActiveRange } from './undo-fifo.js';
import { allocate, freeSpace } from './allocator.js';
import type { WritableVolumeSet, DirtyBuffer } from './writable-volume-set.js';

export interface CommitStats {
  tid: bigint;
  undoRecords: number;
  undoBytes: number;
  buffersWritten: number;
  /** FIFO position (zone-3 short offset) where the committed range ends. */
  fifoEnd: number;
}

/** Header byte ranges excluded from UNDO: vol_crc, vol0_next_tid and the UNDO blockmap entry. */
const HEADER_NO_UNDO: [number, number][] = [
  [VOL.crc, VOL.crc + 4],
  [VOL.nextTid, VOL.nextTid + 8],
  [VOL.blockmap + 40 * HAMMER_ZONE_UNDO_INDEX, VOL.blockmap + 40 * (HAMMER_ZONE_UNDO_INDEX + 1)],
];
/** Two differing ranges closer than this are logged as one (a record costs 40 bytes). */
const MERGE_GAP = 48;

export class Transaction {
  readonly tid: bigint;
  readonly ts: number;
  /** zone-2 bases of big-blocks freed in this transaction (never reallocated before commit). */
  readonly freedBigBlocks = new Set<bigint>();
  private readonly origHeader: Uint8Array;
  private readonly nodes = new Set<bigint>();
  private state: 'open' | 'committed' | 'aborted' = 'open';

  constructor(readonly vs: WritableVolumeSet) {
    this.origHeader = encodeVolumeHeader(vs.root).slice();
    this.tid = vs.nextTid();
    this.ts = Math.floor(Date.now() / 1000);
  }

  get header(): VolumeHeader {
    return this.vs.root;
  }
  get version(): number {
    return this.vs.version;
  }
  get open(): boolean {
    return this.state === 'open';
  }
  private check(): void {
    if (this.state !== 'open') throw new UsageError(`transaction already ${this.state}`, { structure: 'transaction' });
  }

  /** Another TID (or obj_id) from the filesystem's counter. */
  allocTid(): bigint {
    this.check();
    return this.vs.nextTid();
  }

  /** Writable view of `len` existing bytes at an encoded offset (must lie in one 16 KiB buffer). */
  modify(off: bigint, len: number): { buf: CachedBuffer; at: number } {
    this.check();
    const loc = this.vs.locate(off, len);
    const rel = (loc.pos - this.vs.volumes[loc.vol].header.bufBeg) % HAMMER_BUFSIZE;
    if (rel + len > HAMMER_BUFSIZE) throw new BadFieldError(`${len} bytes cross a 16 KiB buffer`, { structure: 'modify', hammerOff: off });
    const d = this.vs.overlay.makeDirty(loc.vol, loc.pos - rel);
    return { buf: d.buf, at: rel };
  }

  /**
   * Fill space allocated in this transaction (payloads, new nodes). Whole 16 KiB buffers of it
   * are staged (no copy of the media, no diff at commit); partial ones go through dirty buffers.
   */
  writeNew(off: bigint, data: Uint8Array): void {
    this.check();
    const len = data.length;
    if (len === 0) return;
    const ov = this.vs.overlay;
    const loc = this.vs.locate(off, len);
    const bufBeg = this.vs.volumes[loc.vol].header.bufBeg;
    // a run [runFrom, done) of whole, not dirty buffers waiting to be staged in one piece
    let runFrom = -1;
    let done = 0;
    while (done < len) {
      const p = loc.pos + done;
      const rel = (p - bufBeg) % HAMMER_BUFSIZE;
      const n = Math.min(len - done, HAMMER_BUFSIZE - rel);
      // only space this transaction allocated may skip UNDO (a caller's mistake must stay undoable)
      if (n === HAMMER_BUFSIZE && ov.canStage(loc.vol, p)) {
        if (runFrom < 0) runFrom = done;
      } else {
        if (runFrom >= 0) ov.stage(loc.vol, loc.pos + runFrom, data.subarray(runFrom, done));
        runFrom = -1;
        ov.makeDirty(loc.vol, p - rel).buf.bytes.set(data.subarray(done, done + n), rel);
      }
      done += n;
    }
    if (runFrom >= 0) ov.stage(loc.vol, loc.pos + runFrom, data.subarray(runFrom, done));
  }

  /**
   * Record that [off, off+len) was allocated in this transaction: its old bytes need no UNDO.
   * The allocator only hands out space at or above its big-block's append point, so everything
   * from `off` to the end of its buffer is free too: a buffer the range starts is entirely free
   * space and needs no copy of its old bytes.
   */
  markFresh(off: bigint, len: number): void {
    const ov = this.vs.overlay;
    const loc = this.vs.locate(off, len);
    const bufBeg = this.vs.volumes[loc.vol].header.bufBeg;
    let done = 0;
    while (done < len) {
      const p = loc.pos + done;
      const rel = (p - bufBeg) % HAMMER_BUFSIZE;
      const n = Math.min(len - done, HAMMER_BUFSIZE - rel);
      const base = p - rel;
      if (rel === 0 && !ov.isDirty(loc.vol, base)) {
        ov.markFreshWhole(loc.vol, base);
        // a partial first piece is written through a dirty copy: make it now, from zeros
        if (n < HAMMER_BUFSIZE) ov.makeDirty(loc.vol, base);
      } else {
        ov.makeDirty(loc.vol, base).fresh.push([rel, rel + n]);
      }
      done += n;
    }
  }

  alloc(zone: number, bytes: number): bigint {
    this.check();
    return allocate(this, zone, bytes);
  }
  free(off: bigint, bytes: number): void {
    this.check();
    freeSpace(this, off, bytes);
  }

  /** A B-Tree node was changed (or created): its CRC is recomputed by sealNodes(). */
  touchNode(off: bigint): void {
    this.nodes.add(off);
  }
  /** Recompute the CRC of every touched node (B-Tree operations call this when they finish). */
  sealNodes(): void {
    for (const off of this.nodes) {
      const { buf, at } = this.modify(off, HAMMER_BTREE_NODE_SIZE);
      sealBtreeNode(buf.bytes, at, this.version);
    }
    this.nodes.clear();
  }

  abort(): void {
    if (this.state !== 'open') return;
    this.state = 'aborted';
    this.vs.overlay.discard();
    this.vs.volumes[0].header = decodeVolumeHeader(this.origHeader, { structure: 'volume header', volNo: 0 });
    this.vs.tx = null;
  }

  /** Ranges [start, end) of `cur` that differ from `orig`, minus `skip`, merged across small gaps. */
  private static diff(orig: Uint8Array, cur: Uint8Array, skip: [number, number][]): [number, number][] {
    const out: [number, number][] = [];
    const n = cur.length;
    let i = 0;
    while (i < n) {
      if (orig[i] === cur[i]) {
        i++;
        continue;
      }
      let j = i + 1;
      let lastDiff = i;
      while (j < n && j - lastDiff <= MERGE_GAP) {
        if (orig[j] !== cur[j]) lastDiff = j;
        j++;
      }
      out.push([i, lastDiff + 1]);
      i = lastDiff + 1;
    }
    if (!skip.length) return out;
    let ranges = out;
    for (const [s, e] of skip) {
      const next: [number, number][] = [];
      for (const [a, b] of ranges) {
        if (e <= a || s >= b) next.push([a, b]);
        else {
          if (a < s) next.push([a, s]);
          if (e < b) next.push([e, b]);
        }
      }
      ranges = next;
    }
    return ranges;
  }

  commit(): CommitStats {
    this.check();
    const vs = this.vs;
    const version = this.version;
    this.sealNodes();
    const h = vs.root;
    for (let z = 0; z < 16; z++) {
      // Re-CRC every live blockmap entry (newfs leaves stale ones; the kernel does the same).
      const e = h.blockmap[z];
      if (e.physOffset | e.firstOffset | e.nextOffset | e.allocOffset) sealBlockmapEntry(e, version);
    }
    const newHeader = encodeVolumeHeader(h);
    // 1. Collect UNDO: (undo_offset, old bytes).
    const undo: { off: bigint; old: Uint8Array }[] = [];
    const dirty = [...vs.overlay.dirty.values()];
    const changed: DirtyBuffer[] = [];
    for (const d of dirty) {
      const orig = d.orig;
      // a buffer of space allocated in this transaction: no UNDO, always written
      if (orig === null) {
        changed.push(d);
        continue;
      }
      if (Transaction.same(orig, d.buf.bytes)) continue;
      changed.push(d);
      const bufBeg = vs.volumes[d.buf.vol].header.bufBeg;
      const z2 = encodeOffset(HAMMER_ZONE_RAW_BUFFER_INDEX, d.buf.vol, d.buf.pos - bufBeg);
      for (const [s, e] of Transaction.diff(orig, d.buf.bytes, d.fresh)) undo.push({ off: z2 + BigInt(s), old: orig.subarray(s, e) });
    }
    for (const [s, e] of Transaction.diff(this.origHeader, newHeader, HEADER_NO_UNDO)) {
      undo.push({ off: encodeOffset(HAMMER_ZONE_RAW_VOLUME_INDEX, 0, s), old: this.origHeader.subarray(s, e) });
    }
    if (undo.length === 0 && changed.length === 0 && !vs.overlay.hasStaged) {
      this.finish();
      return { tid: this.tid, undoRecords: 0, undoBytes: 0, buffersWritten: 0, fifoEnd: shortOffset(h.blockmap[HAMMER_ZONE_UNDO_INDEX].nextOffset) };
    }
    // FIFO room: worst case every record starts a sector. Refuse before anything is written.
    const size = fifoSize(vs);
    let need = 0;
    for (const u of undo) need += Math.ceil(u.old.length / (HAMMER_UNDO_ALIGN - 40)) * HAMMER_UNDO_ALIGN;
    const ub = h.blockmap[HAMMER_ZONE_UNDO_INDEX];
    const first = shortOffset(ub.firstOffset) % size;
    const scan = scanActiveRange(vs, first, shortOffset(ub.nextOffset) % size);
    // the range still open (left for a kernel's REDO stage) must not be overwritten either
    const open = fifoSpan(first, scan.last, size);
    if (need + open + 2 * HAMMER_BUFSIZE > size) {
      throw new NoSpaceError(`transaction needs ${need} bytes of UNDO but the FIFO has ${size - open} free; commit smaller transactions`, { structure: 'UNDO FIFO', volNo: 0 });
    }
    try {
      return this.write(undo, changed, scan.last, scan.nextSeq);
    } catch (e) {
      // Part of the commit may be on the media: only recovery can tell what to roll back, so
      // this set refuses further transactions until it is reopened.
      this.state = 'aborted';
      vs.failed = e;
      vs.overlay.discard();
      vs.tx = null;
      throw e;
    }
  }

  private write(undo: { off: bigint; old: Uint8Array }[], changed: DirtyBuffer[], start: number, seq: number): CommitStats {
    const vs = this.vs;
    const version = this.version;
    const h = vs.root;
    const ub = h.blockmap[HAMMER_ZONE_UNDO_INDEX];
    // New data first (UNDO.md §4 step 1): it lands in space the committed state does not use.
    vs.overlay.flushStaged();
    const w = new FifoWriter(vs, start, seq);
    let undoBytes = 0;
    for (const u of undo) {
      let done = 0;
      while (done < u.old.length) {
        if (w.room() < 48) w.ensureRoom(HAMMER_UNDO_ALIGN);
        const n = Math.min(u.old.length - done, w.room() - 40);
        const payload = u.old.subarray(done, done + n);
        const at = u.off + BigInt(done);
        w.append(undoRecordSize(n), (seq) => encodeUndo(at, payload, seq, version));
        done += n;
        undoBytes += n;
      }
    }
    w.padTail();
    w.writeOut();
    vs.sync();
    // 2. Header: append point and TID counter (the other header changes are covered by UNDO).
    const end = encodeOffset(HAMMER_ZONE_UNDO_INDEX, 0, w.pos);
    ub.nextOffset = end;
    if (vs.lastTid > h.nextTid) h.nextTid = vs.lastTid;
    sealBlockmapEntry(ub, version);
    this.writeRootHeader();
    vs.sync();
    // 3. Metadata and new payloads.
    this.writeBuffers(changed);
    vs.sync();
    // 4. Close the range: committed.
    ub.firstOffset = end;
    sealBlockmapEntry(ub, version);
    this.writeRootHeader();
    vs.sync();
    this.finish();
    return { tid: this.tid, undoRecords: w.records, undoBytes, buffersWritten: changed.length, fifoEnd: w.pos };
  }

  /** Write dirty buffers in device order, adjacent ones joined into one write (up to 4 MiB). */
  private writeBuffers(changed: DirtyBuffer[]): void {
    const vs = this.vs;
    changed.sort((a, b) => a.buf.vol - b.buf.vol || a.buf.pos - b.buf.pos);
    const MAX_RUN = 256; // buffers per write
    let i = 0;
    while (i < changed.length) {
      const first = changed[i].buf;
      let j = i + 1;
      while (j < changed.length && j - i < MAX_RUN && changed[j].buf.vol === first.vol && changed[j].buf.pos === first.pos + (j - i) * HAMMER_BUFSIZE) j++;
      if (j - i === 1) {
        vs.device(first.vol).write(first.pos, first.bytes);
      } else {
        const run = new Uint8Array((j - i) * HAMMER_BUFSIZE);
        for (let k = i; k < j; k++) run.set(changed[k].buf.bytes, (k - i) * HAMMER_BUFSIZE);
        vs.device(first.vol).write(first.pos, run);
      }
      i = j;
    }
  }

  /** Byte equality of two buffers of the same length. */
  private static same(a: Uint8Array, b: Uint8Array): boolean {
    return Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
  }

  private writeRootHeader(): void {
    const h = this.vs.root;
    const enc = encodeVolumeHeader(h);
    h.crc = sealVolumeHeader(enc, h.version);
    h.raw = enc.slice(0, HAMMER_VOLUME_HEADER_SIZE);
    this.vs.writeHeaderBytes(0, enc);
  }

  private finish(): void {
    this.state = 'committed';
    this.vs.overlay.promote();
    this.vs.tx = null;
  }
}
