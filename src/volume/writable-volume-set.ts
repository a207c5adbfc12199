/**
 * A volume set opened for writing. Same checks and translation as VolumeSet; adds
 *  - writable devices (exclusive flock / O_EXCL through openDeviceForWrite, or any
 *    WritableBlockDevice a test injects: MemoryDevice, FaultDevice, a copy-on-write overlay),
 *  - a dirty-buffer overlay in front of the buffer cache: a transaction edits private copies of
 *    16 KiB buffers, and every read through this set (VolumeSet.read/buffer, BTree, Cursor)
 *    sees those copies, so a transaction reads its own writes while the media stays untouched
 *    until commit,
 *  - UNDO recovery before anything else reads the set (an interrupted commit is rolled back).
 * The API for writers is in transaction.ts.
 */
import { BufferCache, CACHE_BUFSIZE, type CachedBuffer } from '../io/cache.js';
import { openDeviceForWrite, type BlockDevice, type WritableBlockDevice } from '../io/device.js';
import { VolumeSetError } from '../errors.js';
import type { VolumeHeader } from '../ondisk/volume-header.js';
import { VolumeSet, assembleVolumeSet, readVolumeHeader, type Volume } from './volume-set.js';
import { recoverUndo, type RecoveryResult } from './recovery.js';
import { Transaction } from './transaction.js';
import { NodeView } from '../ondisk/btree-node.js';
import { decodeLayer1 } from '../ondisk/blockmap.js';
import { HAMMER_LAYER1_BYTES, HAMMER_BLOCKMAP_UNAVAIL, HAMMER_BTREE_NODE_SIZE, HAMMER_BTREE_TYPE_INTERNAL, HAMMER_BTREE_TYPE_LEAF } from '../ondisk/constants.js';
import { IoError, UsageError } from '../errors.js';

/** A 16 KiB buffer being changed by the open transaction. */
export interface DirtyBuffer {
  readonly buf: CachedBuffer;
  /**
   * Contents before the transaction touched the buffer (what UNDO must restore), or null when
   * the whole buffer was free space allocated in this transaction (no UNDO, nothing to diff).
   */
  readonly orig: Uint8Array | null;
  /** Byte ranges [start, end) of space allocated in this transaction (need no UNDO). */
  fresh: [number, number][];
}

/** A contiguous span of staged new data: device bytes [pos, pos+len) of `vol` = slab[at, at+len). */
interface StagedChunk {
  vol: number;
  pos: number;
  slab: Uint8Array;
  at: number;
  len: number;
}

const bufKey = (vol: number, pos: number) => (pos / CACHE_BUFSIZE) * 256 + vol;
/** Staged data is copied into slabs of this size, so adjacent chunks go out in one write. */
const SLAB_BYTES = 4 * 1024 * 1024;
/** Slabs kept for reuse (64 MiB). */
const SLAB_POOL = 16;
/** Longest single device write when flushing staged data or dirty buffers. */
const MAX_WRITE = 4 * 1024 * 1024;

/**
 * BufferCache whose get() prefers the open transaction's private copies.
 *
 * Two kinds of private copy:
 *  - dirty buffers: copies of existing 16 KiB buffers (metadata, partly filled payload buffers),
 *    diffed against their original at commit to derive UNDO;
 *  - staged data: whole 16 KiB buffers of space allocated in this transaction (large payloads).
 *    They need neither the media's old bytes nor a diff (free space needs no UNDO, UNDO.md §3),
 *    are packed into slabs and written first at commit in as few writes as possible (UNDO.md §4
 *    step 1: data before UNDO). Once `stageLimit` bytes are staged they are written early: they
 *    land in space the committed state does not reference, so a crash or abort still leaves the
 *    committed state, and memory stays bounded whatever the caller's commit cadence.
 */
export class OverlayCache extends BufferCache {
  readonly dirty = new Map<number, DirtyBuffer>();
  /** Staged whole buffers of new data by buffer key (views into the slabs). */
  private readonly staged = new Map<number, CachedBuffer>();
  private chunks: StagedChunk[] = [];
  private slab: Uint8Array | null = null;
  private slabUsed = 0;
  /** Bytes staged and not yet written. */
  stagedBytes = 0;
  /** Bytes of new data staged in this transaction (written early or not). */
  newDataBytes = 0;
  /** Staged bytes that trigger an early write. */
  stageLimit = 64 * 1024 * 1024;
  /**
   * Whole buffers allocated in this transaction (free before it): true while nothing was written
   * to them (a private copy may start from zeros instead of the media), false once data was.
   */
  private readonly freshWhole = new Map<number, boolean>();
  /**
   * Written slabs no view of which ever left this class (get() never returned one): reused, so a
   * bulk import does not pay page faults and GC for fresh memory at every slab.
   */
  private readonly slabPool: Uint8Array[] = [];
  private readonly exposed = new Set<ArrayBufferLike>();

  constructor(
    private readonly devs: readonly BlockDevice[],
    budgetBytes?: number,
  ) {
    super(devs, budgetBytes);
  }

  override get(vol: number, pos: number): CachedBuffer {
    if (this.dirty.size) {
      const d = this.dirty.get(bufKey(vol, pos));
      if (d) return d.buf;
    }
    if (this.staged.size) {
      const s = this.staged.get(bufKey(vol, pos));
      if (s) {
        // a caller may keep this view: its slab must never be reused
        this.exposed.add(s.bytes.buffer);
        return s;
      }
    }
    return super.get(vol, pos);
  }

  /** The private copy of a buffer, made on first use. */
  makeDirty(vol: number, pos: number): DirtyBuffer {
    const k = bufKey(vol, pos);
    let d = this.dirty.get(k);
    if (!d) {
      const fw = this.freshWhole.get(k);
      let bytes: Uint8Array;
      let orig: Uint8Array | null = null;
      if (fw === true) {
        bytes = new Uint8Array(CACHE_BUFSIZE); // free space nobody wrote yet: its old bytes do not matter
      } else if (fw === false) {
        bytes = (this.staged.get(k) ?? super.get(vol, pos)).bytes.slice();
      } else {
        const clean = super.get(vol, pos);
        bytes = clean.bytes.slice();
        orig = clean.bytes.slice();
      }
      d = { buf: { vol, pos, bytes, dv: new DataView(bytes.buffer) }, orig, fresh: [] };
      this.dirty.set(k, d);
    }
    return d;
  }

  /** Is the buffer a private copy already (dirty)? */
  isDirty(vol: number, pos: number): boolean {
    return this.dirty.has(bufKey(vol, pos));
  }

  /** May the whole buffer be staged: allocated in this transaction as a whole, and not dirty? */
  canStage(vol: number, pos: number): boolean {
    const k = bufKey(vol, pos);
    return this.freshWhole.has(k) && !this.dirty.has(k);
  }

  /** The whole buffer at `pos` was allocated in this transaction (it was free space). */
  markFreshWhole(vol: number, pos: number): void {
    const k = bufKey(vol, pos);
    if (!this.freshWhole.has(k)) this.freshWhole.set(k, true);
  }

  /**
   * Stage new data for whole buffers at `pos` (buffer aligned, a multiple of 16 KiB long, every
   * buffer one canStage() accepts). The bytes are copied.
   */
  stage(vol: number, pos: number, data: Uint8Array): void {
    const len = data.length;
    if (!this.slab || this.slabUsed + len > this.slab.length) {
      this.slab = (len <= SLAB_BYTES && this.slabPool.pop()) || new Uint8Array(Math.max(SLAB_BYTES, len));
      this.slabUsed = 0;
    }
    const slab = this.slab;
    const at = this.slabUsed;
    slab.set(data, at);
    this.slabUsed += len;
    const last = this.chunks.length ? this.chunks[this.chunks.length - 1] : null;
    if (last && last.slab === slab && last.vol === vol && last.pos + last.len === pos && last.at + last.len === at && last.len + len <= MAX_WRITE) {
      last.len += len;
    } else {
      this.chunks.push({ vol, pos, slab, at, len });
    }
    for (let o = 0; o < len; o += CACHE_BUFSIZE) {
      const k = bufKey(vol, pos + o);
      this.staged.set(k, { vol, pos: pos + o, bytes: slab.subarray(at + o, at + o + CACHE_BUFSIZE), dv: new DataView(slab.buffer, slab.byteOffset + at + o, CACHE_BUFSIZE) });
      this.freshWhole.set(k, false);
    }
    this.stagedBytes += len;
    this.newDataBytes += len;
    if (this.stagedBytes >= this.stageLimit) this.flushStaged();
  }

  get hasStaged(): boolean {
    return this.chunks.length > 0;
  }

  /** Bytes a commit would write now: dirty buffers plus the transaction's new data. */
  get pendingBytes(): number {
    return this.dirty.size * CACHE_BUFSIZE + this.newDataBytes;
  }

  /** Write the staged data to the media (not synced) and keep clean cached copies current. */
  flushStaged(): void {
    const chunks = this.chunks;
    this.chunks = [];
    this.slab = null;
    this.slabUsed = 0;
    for (const c of chunks) {
      const bytes = c.slab.subarray(c.at, c.at + c.len);
      (this.devs[c.vol] as WritableBlockDevice).write(c.pos, bytes);
      this.update(c.vol, c.pos, bytes);
    }
    this.staged.clear();
    this.stagedBytes = 0;
    this.recycle(chunks);
  }

  private recycle(chunks: StagedChunk[]): void {
    let prev: Uint8Array | null = null;
    for (const c of chunks) {
      if (c.slab === prev) continue;
      prev = c.slab;
      if (c.slab.length === SLAB_BYTES && !this.exposed.has(c.slab.buffer) && this.slabPool.length < SLAB_POOL) this.slabPool.push(c.slab);
    }
    this.exposed.clear();
  }

  /** After a commit: the private copies are now what the media holds. */
  promote(): void {
    for (const d of this.dirty.values()) this.update(d.buf.vol, d.buf.pos, d.buf.bytes);
    this.reset();
  }
  discard(): void {
    this.reset();
  }
  private reset(): void {
    this.recycle(this.chunks);
    this.dirty.clear();
    this.staged.clear();
    this.chunks = [];
    this.slab = null;
    this.slabUsed = 0;
    this.stagedBytes = 0;
    this.newDataBytes = 0;
    this.freshWhole.clear();
  }
}

export interface OpenForWriteOptions {
  /** Run UNDO recovery when the FIFO shows an interrupted commit (default true). */
  recover?: boolean;
  cacheBytes?: number;
}

export class WritableVolumeSet extends VolumeSet {
  readonly overlay: OverlayCache;
  /** The open transaction, if any (one at a time). */
  tx: Transaction | null = null;
  /** What recovery did when the set was opened (null if it was not run). */
  recovery: RecoveryResult | null = null;

  constructor(volumes: Volume[], cacheBytes?: number) {
    super(volumes, cacheBytes);
    this.overlay = new OverlayCache(volumes.map((v) => v.device), cacheBytes);
    // VolumeSet made a plain cache; every read path goes through `cache`, so swap in the overlay.
    (this as { cache: BufferCache }).cache = this.overlay;
  }

  /** Set when a commit failed after it began writing (the set must be reopened). */
  failed: unknown = null;
  /** Highest TID handed out in this session (-1 until first needed). */
  lastTid = -1n;

  /** Start a transaction (one at a time). */
  begin(): Transaction {
    if (this.tx) throw new UsageError('a transaction is already open on this volume set', { structure: 'transaction' });
    if (this.failed) {
      throw new IoError('an earlier commit failed part-way; reopen the volumes so that recovery rolls it back', { structure: 'transaction', path: this.volumes[0].device.path }, { cause: this.failed });
    }
    this.tx = new Transaction(this);
    return this.tx;
  }

  /**
   * A new TID: above vol0_next_tid and above every TID in the tree (ONDISK.md §10). The root's
   * mirror_tid bounds the tree's TIDs; newfs leaves it 0 (and its records above next_tid), so a
   * root without a mirror_tid is walked once.
   */
  nextTid(): bigint {
    if (this.lastTid < 0n) this.lastTid = this.highestTid();
    this.lastTid += 1n;
    return this.lastTid;
  }

  private highestTid(): bigint {
    let max = this.root.nextTid;
    const rootOff = this.root.btreeRoot;
    const read = (off: bigint) => {
      const { buf, at } = this.buffer(off, HAMMER_BTREE_NODE_SIZE, { structure: 'B-Tree node', hammerOff: off });
      return new NodeView(buf.dv, at, off);
    };
    const root = read(rootOff);
    if (root.mirrorTid !== 0n) return root.mirrorTid > max ? root.mirrorTid : max;
    const seen = new Set<bigint>();
    const walk = (off: bigint, depth: number) => {
      if (depth > 40 || seen.has(off)) return;
      seen.add(off);
      const n = read(off);
      if (n.mirrorTid > max) max = n.mirrorTid;
      const c = n.count;
      if (n.type === HAMMER_BTREE_TYPE_LEAF) {
        for (let i = 0; i < c && i < 63; i++) {
          const e = n.leaf(i);
          if (e.createTid > max) max = e.createTid;
          if (e.deleteTid > max) max = e.deleteTid;
        }
      } else if (n.type === HAMMER_BTREE_TYPE_INTERNAL) {
        for (let i = 0; i < c && i < 62; i++) {
          const m = n.elmMirrorTid(i);
          if (m > max) max = m;
          const sub = n.subtreeOffset(i);
          if (sub !== 0n) walk(sub, depth + 1);
        }
      }
    };
    walk(rootOff, 0);
    return max;
  }

  /** freemapLookup(), or null where the layer1 entry has no layer2 (UNAVAIL). */
  freemapLookupOrNull(off: bigint): ReturnType<VolumeSet['freemapLookup']> | null {
    const { z2 } = this.layer1Loc(off);
    const { buf, at } = this.buffer(z2, HAMMER_LAYER1_BYTES, { structure: 'freemap layer1', hammerOff: z2 });
    if (decodeLayer1(buf.dv, at).physOffset === HAMMER_BLOCKMAP_UNAVAIL) return null;
    return this.freemapLookup(off);
  }

  device(vol: number): WritableBlockDevice {
    return this.volumes[vol].device as WritableBlockDevice;
  }

  /** Re-read every volume header from the media and drop cached buffers (after recovery). */
  reloadHeaders(): void {
    for (const v of this.volumes) v.header = readVolumeHeader(v.device);
    this.overlay.discard();
    this.overlay.clear();
  }

  /** Write a volume header's 1928 bytes (already encoded and sealed) to the media. */
  writeHeaderBytes(vol: number, bytes: Uint8Array): void {
    this.device(vol).write(0, bytes);
  }

  sync(): void {
    for (const v of this.volumes) (v.device as WritableBlockDevice).sync();
  }

  override close(): void {
    if (this.tx) this.tx.abort();
    super.close();
  }

  /** Build a set from devices a caller opened (tests inject MemoryDevice/FaultDevice here). */
  static fromDevices(devices: WritableBlockDevice[], o: OpenForWriteOptions = {}): WritableVolumeSet {
    const items: { device: WritableBlockDevice; header: VolumeHeader }[] = devices.map((device) => ({ device, header: readVolumeHeader(device) }));
    for (const it of items) {
      if (!it.device.writable) throw new VolumeSetError('device is not writable', { structure: 'device', path: it.device.path });
    }
    const vs = new WritableVolumeSet(assembleVolumeSet(items), o.cacheBytes);
    if (o.recover !== false) vs.recovery = recoverUndo(vs);
    return vs;
  }
}

/**
 * Open every volume read-write holding an exclusive lock (LockedError if another process has
 * any lock on it), check them as a set and roll back an interrupted commit.
 */
export function openVolumeSetForWrite(paths: string[], o: OpenForWriteOptions = {}): WritableVolumeSet {
  const devices: WritableBlockDevice[] = [];
  try {
    for (const p of paths) devices.push(openDeviceForWrite(p));
    return WritableVolumeSet.fromDevices(devices, o);
  } catch (e) {
    for (const d of devices) d.close();
    throw e;
  }
}
