/**
 * HammerWriter: file operations with history on one master PFS of a writable volume set, laid
 * out the way DragonFly's kernel lays them out (spec/RECORDS.md §1-5, §7; BTREE.md §7).
 *
 * ```ts
 * const vs = openVolumeSetForWrite(paths);
 * const w = new HammerWriter(vs, { pfs: 0 });
 * w.mkdir('/a', { mode: 0o755 });
 * w.writeFile('/a/f', data);          // one transaction (TID) per call ...
 * w.autoCommit = false;               // ... or many calls per transaction (import):
 * ...; w.maybeCommit(); ...; w.commit();
 * vs.close();
 * ```
 *
 * Model (what the kernel does, as far as the spec and the kernel-written images tell):
 *  - Every operation runs in a transaction; with autoCommit (default) each call commits on its
 *    own, so each call gets its own TID and the history shows every step. With autoCommit off,
 *    calls share the open transaction (like the kernel's flush groups) until commit().
 *  - Inodes are kept in memory while the transaction is open and written when it commits (the
 *    kernel's inode flush): a change to anything covered by the inode CRC (mode, owner, size,
 *    nlinks, parent, ctime, ...) retires the old INODE record (delete_tid = T) and inserts a new
 *    version (create_tid = T, new zone-9 payload); a change of mtime/atime only is written in
 *    place into the current payload (those 16 bytes are outside the CRC; UNDO comes from the
 *    transaction's diff). Directory entry changes update the directory's mtime that way, as
 *    the kernel's HAMMER_INODE_MTIME path does, so a directory does not get a new inode version
 *    per entry.
 *  - A record created in the open transaction cannot carry delete_tid = create_tid, so
 *    retiring such a record removes it physically (its space is freed); anything older is
 *    kept with delete_tid set (history).
 *  - obj_ids come from the TID counter (tx.allocTid()).
 *  - File data: DATA records keyed by end offset, 16 KiB blocks below 1 MiB and 64 KiB above;
 *    a file of at most 8 KiB has one record of round_up(size, 16) bytes at offset 0 (zone 11);
 *    whole blocks otherwise (zone 10). Partial block writes read the block's current bytes and
 *    write a new version of the whole block (copy-on-write). Truncation rewrites the block
 *    holding the new EOF with zeros past it and retires the records beyond; growing past 8 KiB
 *    replaces the small record by a full block.
 *  - Holes are records that do not exist (`sparse` writes skip all-zero whole blocks).
 * Paths are resolved through the writer's own view (in-memory inodes included); symlinks in the
 * middle of a path are followed, the last component never (rm/mv/ln act on the link itself).
 */
import {
  BadFieldError, ExistsError, IsDirectoryError, NoSpaceError, NotDirectoryError, NotFoundError, UsageError,
} from '../../errors.js';
import { BTree } from '../../btree/btree.js';
import { insertLeaf, markDeleted, deleteLeaf, writeRecordData } from '../../btree/modify.js';
import { forEachLeaf } from '../../btree/cursor.js';
import { ELM, makeKey, type BaseElm, type LeafElm } from '../../ondisk/btree-elm.js';
import { decodeInodeData, encodeInodeData, INO, idToUuid, inodeUid, inodeGid, type InodeData } from '../../ondisk/inode-data.js';
import { encodeEntryData, decodeEntryData } from '../../ondisk/entry-data.js';
import { encodeSnapshotData } from '../../ondisk/snapshot-data.js';
import { directoryNamekey } from '../../ondisk/dirhash.js';
import { setU64 } from '../../ondisk/int64.js';
import {
  HAMMER_RECTYPE_INODE, HAMMER_RECTYPE_DATA, HAMMER_RECTYPE_DIRENTRY, HAMMER_RECTYPE_FIX, HAMMER_RECTYPE_SNAPSHOT,
  HAMMER_RECTYPE_MAX, HAMMER_FIXKEY_SYMLINK, HAMMER_OBJTYPE_DIRECTORY, HAMMER_OBJTYPE_REGFILE, HAMMER_OBJTYPE_FIFO,
  HAMMER_OBJTYPE_CDEV, HAMMER_OBJTYPE_BDEV, HAMMER_OBJTYPE_SOFTLINK, HAMMER_OBJTYPE_SOCKET, HAMMER_OBJTYPE_PSEUDOFS,
  HAMMER_INODE_CAP_DIR_LOCAL_INO, HAMMER_INODE_CAP_DIRHASH_ALG1, HAMMER_INODE_CAP_DIRHASH_MASK, HAMMER_INODE_BASESYMLEN,
  HAMMER_BUFSIZE, HAMMER_XBUFSIZE, HAMMER_XDEMARC, HAMMER_HBUFSIZE, HAMMER_MAX_KEY, HAMMER_MIN_KEY, HAMMER_MAX_TID,
  HAMMER_BTREE_TYPE_RECORD, HAMMER_ENTRY_NAME_OFF, HAMMER_INODE_DATA_SIZE, LE,
} from '../../ondisk/constants.js';
import type { Transaction, CommitStats } from '../../volume/transaction.js';
import type { WritableVolumeSet } from '../../volume/writable-volume-set.js';
import { CURRENT, locInode, locMisc, readPayload, scanRecords, leafWhere, findRecord, type FsContext } from '../records.js';
import { dirLocalization } from '../directory.js';
import { readFileRange } from '../file.js';
import { getPfs } from '../pfs.js';
import type { Inode } from '../inode.js';

const KEY_MAX = HAMMER_MAX_KEY;
/** Longest name a directory entry may carry (DragonFly's MAXNAMLEN). */
export const MAX_NAME = 255;

export type NodeKind = 'file' | 'dir' | 'symlink' | 'fifo' | 'chr' | 'blk' | 'socket';

const OBJTYPE: Record<NodeKind, number> = {
  file: HAMMER_OBJTYPE_REGFILE, dir: HAMMER_OBJTYPE_DIRECTORY, symlink: HAMMER_OBJTYPE_SOFTLINK,
  fifo: HAMMER_OBJTYPE_FIFO, chr: HAMMER_OBJTYPE_CDEV, blk: HAMMER_OBJTYPE_BDEV, socket: HAMMER_OBJTYPE_SOCKET,
};

/** Attributes a caller may give a new object (defaults: 0644 files, 0755 dirs/symlinks, uid/gid 0, now). */
export interface NewAttrs {
  mode?: number;
  uid?: number;
  gid?: number;
  /** µs since the epoch. */
  mtime?: bigint;
  atime?: bigint;
  ctime?: bigint;
  rmajor?: number;
  rminor?: number;
}

export interface SetAttrs {
  /** Explicit ctime (import keeps the source's); otherwise a mode/owner change sets it to now. */
  ctime?: bigint;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: bigint;
  atime?: bigint;
}

export interface WriterOptions {
  /** PFS id (default 0); must be a master. */
  pfs?: number;
  /** Commit each operation on its own (default true). */
  autoCommit?: boolean;
  /** maybeCommit() commits once the open transaction holds this many dirty bytes (default 48 MiB). */
  batchBytes?: number;
  /**
   * Work inside a transaction the caller owns (several writers, e.g. one per PFS, in one atomic
   * commit): the writer never begins, commits or aborts it. commit() then only writes this
   * writer's in-memory inodes into it; the caller commits (or aborts) the transaction itself.
   */
  transaction?: Transaction;
}

/** One inode as the open transaction sees it. */
interface IState {
  objId: bigint;
  data: InodeData;
  /** The INODE leaf currently in the tree (null: created in this transaction, not written yet). */
  leaf: LeafElm | null;
  dirty: 'none' | 'times' | 'full';
  destroyed: boolean;
}

/** What a path names, as the writer sees it. */
export interface WriterEntry {
  objId: bigint;
  key: bigint;
  createTid: bigint;
  objType: number;
}

const enc = (s: string | Uint8Array) => (typeof s === 'string' ? Buffer.from(s, 'utf8') : s);

function blockSize(off: number): number {
  return off < HAMMER_XDEMARC ? HAMMER_BUFSIZE : HAMMER_XBUFSIZE;
}
function blockBase(off: number): number {
  return off < HAMMER_XDEMARC ? off - (off % HAMMER_BUFSIZE) : off - ((off - HAMMER_XDEMARC) % HAMMER_XBUFSIZE);
}
const round16 = (n: number) => (n + 15) & ~15;
/** Record length the kernel writes for the block at `base` of a file of `size` bytes. */
function recordLen(base: number, size: number): number {
  if (base === 0 && size <= HAMMER_HBUFSIZE) return round16(size);
  return blockSize(base);
}
function allZero(b: Uint8Array): boolean {
  // 8 bytes at a time where aligned: this runs over every imported block
  const n8 = b.byteOffset % 8 === 0 ? b.length >> 3 : 0;
  if (n8) {
    const w = new BigUint64Array(b.buffer, b.byteOffset, n8);
    for (let i = 0; i < n8; i++) if (w[i] !== 0n) return false;
  }
  for (let i = n8 << 3; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

export class HammerWriter {
  readonly pfs: number;
  readonly tree: BTree;
  readonly ctx: FsContext;
  autoCommit: boolean;
  batchBytes: number;
  private tx: Transaction | null = null;
  private readonly external: Transaction | null;
  private nowUs = 0n;
  private readonly inodes = new Map<bigint, IState>();
  /** Transactions committed by this writer (stats of the last one in lastCommit). */
  commits = 0;
  lastCommit: CommitStats | null = null;

  constructor(readonly vs: WritableVolumeSet, o: WriterOptions = {}) {
    this.pfs = o.pfs ?? 0;
    if (!Number.isInteger(this.pfs) || this.pfs < 0 || this.pfs > 0xffff) throw new UsageError(`PFS id must be 0..65535, got ${o.pfs}`, { structure: 'argument', field: 'pfs' });
    this.external = o.transaction ?? null;
    this.autoCommit = this.external ? false : (o.autoCommit ?? true);
    this.batchBytes = o.batchBytes ?? 48 * 1024 * 1024;
    this.tree = new BTree(vs);
    this.ctx = { vs, tree: this.tree, verifyData: true };
    const info = getPfs(this.ctx, this.pfs);
    const where = { structure: `PFS ${this.pfs}` };
    if (!info) throw new NotFoundError('no such PFS', where);
    if (info.deleted) throw new NotFoundError('PFS is deleted', where);
    if (info.slave) throw new UsageError('PFS is a slave: only mirror-write may change it (upgrade it with pfs-upgrade first)', where);
    if (!findRecord(this.tree, locInode(this.pfs), 1n, HAMMER_RECTYPE_INODE, 0n, CURRENT)) throw new NotFoundError('PFS has no root directory', where);
  }

  /* ------------------------------------------------------------------------------------------ */
  /* transactions                                                                                */
  /* ------------------------------------------------------------------------------------------ */

  /** The open transaction (opened on first use). */
  private t(): Transaction {
    if (!this.tx) {
      this.tx = this.external ?? this.vs.begin();
      this.nowUs = BigInt(Date.now()) * 1000n;
    }
    return this.tx;
  }

  /** TID of the open transaction (opens one). */
  get tid(): bigint {
    return this.t().tid;
  }

  /** Bytes a commit would write: changed 16 KiB buffers plus the transaction's new file data. */
  get pendingBytes(): number {
    return this.tx ? this.vs.overlay.pendingBytes : 0;
  }

  private op<T>(fn: (tx: Transaction) => T): T {
    const tx = this.t();
    let r: T;
    try {
      r = fn(tx);
    } catch (e) {
      this.abort();
      throw e;
    }
    if (this.autoCommit) this.commit();
    return r;
  }

  /** Write the in-memory inodes and commit; null if nothing was open (or the transaction is the caller's). */
  commit(): CommitStats | null {
    const tx = this.tx;
    if (!tx) return null;
    if (tx === this.external) {
      try {
        this.flushInodes(tx);
      } finally {
        this.inodes.clear();
        this.tx = null;
        this.tree.invalidate();
      }
      return null;
    }
    try {
      this.flushInodes(tx);
      this.lastCommit = tx.commit();
      this.commits++;
    } catch (e) {
      this.abort();
      throw e;
    } finally {
      this.inodes.clear();
      this.tx = null;
      this.tree.invalidate();
    }
    return this.lastCommit;
  }

  /** Commit when the open transaction holds more than batchBytes of changes. */
  maybeCommit(): boolean {
    if (this.tx && this.pendingBytes >= this.batchBytes) {
      this.commit();
      return true;
    }
    return false;
  }

  /** Drop the open transaction: the media keeps the last committed state. */
  abort(): void {
    if (this.tx && this.tx !== this.external) this.tx.abort();
    this.tx = null;
    this.inodes.clear();
    this.tree.invalidate();
  }

  /** Retire a record version: delete_tid = T, or physical removal if it was created in T. */
  private retire(tx: Transaction, key: BaseElm): void {
    if (key.createTid === tx.tid) deleteLeaf(tx, this.tree, key, { freeData: true });
    else markDeleted(tx, this.tree, key);
  }

  private flushInodes(tx: Transaction): void {
    for (const st of this.inodes.values()) {
      if (st.dirty === 'none') continue;
      if (st.destroyed) {
        if (st.leaf) this.retire(tx, st.leaf);
        continue;
      }
      if (st.leaf && st.dirty === 'times' && st.leaf.createTid !== tx.tid) {
        // mtime/atime lie outside the inode CRC: the kernel rewrites them in place
        const { buf, at } = tx.modify(st.leaf.dataOffset + BigInt(INO.mtime), 16);
        setU64(buf.dv, at, st.data.mtime);
        setU64(buf.dv, at + 8, st.data.atime);
        continue;
      }
      if (st.leaf) this.retire(tx, st.leaf);
      const d = writeRecordData(tx, HAMMER_RECTYPE_INODE, encodeInodeData(st.data));
      insertLeaf(tx, this.tree, {
        localization: locInode(this.pfs), objId: st.objId, recType: HAMMER_RECTYPE_INODE, key: 0n,
        createTid: tx.tid, deleteTid: 0n, objType: st.data.objType, btype: HAMMER_BTREE_TYPE_RECORD,
        createTs: tx.ts, deleteTs: 0, ...d,
      });
    }
  }

  /* ------------------------------------------------------------------------------------------ */
  /* inodes and paths                                                                            */
  /* ------------------------------------------------------------------------------------------ */

  private where(what: string) {
    return { structure: `${what} in PFS ${this.pfs}` };
  }

  /** The inode as the open transaction sees it (undefined if it does not exist now). */
  private ino(objId: bigint): IState | undefined {
    const c = this.inodes.get(objId);
    if (c) return c.destroyed ? undefined : c;
    const r = findRecord(this.tree, locInode(this.pfs), objId, HAMMER_RECTYPE_INODE, 0n, CURRENT);
    if (!r) return undefined;
    if (r.leaf.dataLen !== HAMMER_INODE_DATA_SIZE) throw new BadFieldError(`INODE record has data_len ${r.leaf.dataLen}, expected 128`, r.where);
    const data = decodeInodeData(readPayload(this.ctx, r.leaf, r.where), r.where);
    const st: IState = { objId, data, leaf: r.leaf, dirty: 'none', destroyed: false };
    this.inodes.set(objId, st);
    return st;
  }

  private touch(st: IState, kind: 'times' | 'full'): void {
    if (kind === 'full' || st.dirty === 'none') st.dirty = kind;
  }

  private isDir(st: IState): boolean {
    return st.data.objType === HAMMER_OBJTYPE_DIRECTORY || st.data.objType === HAMMER_OBJTYPE_PSEUDOFS;
  }

  /** Pseudo-inode for the fs readers (they need only these fields). */
  private asInode(st: IState): Inode {
    return { objId: st.objId, pfs: this.pfs, type: this.isDir(st) ? 'dir' : 'file', capFlags: st.data.capFlags, size: st.data.size, viewTid: CURRENT } as Inode;
  }

  private components(path: string | Uint8Array): Uint8Array[] {
    const b = enc(path);
    const out: Uint8Array[] = [];
    let s = 0;
    for (let i = 0; i <= b.length; i++) {
      if (i === b.length || b[i] === 0x2f) {
        if (i > s) out.push(b.subarray(s, i));
        s = i + 1;
      }
    }
    return out;
  }

  /**
   * The directory a list of components names. Symlinks met on the way are followed (relative
   * to the directory holding them, or from the PFS root when absolute), at most 32 of them;
   * a `@@PFS` link (another PFS) is refused: a writer works inside one PFS.
   */
  private walkDir(comps: Uint8Array[], shown: string): IState {
    let dir = this.ino(1n);
    if (!dir) throw new NotFoundError('PFS has no root directory', this.where('PFS root'));
    const root = dir;
    const todo = comps.slice();
    let hops = 0;
    let walked = '';
    while (todo.length) {
      const c = todo.shift()!;
      const name = Buffer.from(c).toString('utf8');
      walked += '/' + name;
      if (name === '.') continue;
      if (name === '..') {
        const p = dir.objId === 1n ? 1n : dir.data.parentObjId;
        const pd = this.ino(p);
        if (!pd) throw new NotFoundError('parent directory not found', this.where(`path ${walked}`));
        dir = pd;
        continue;
      }
      const e = this.findEntry(dir, c);
      if (!e) throw new NotFoundError('no such file or directory', this.where(`path ${walked}`));
      const st = this.ino(e.objId);
      if (!st) throw new NotFoundError(`directory entry points at a missing inode`, this.where(`path ${walked}`));
      if (st.data.objType === HAMMER_OBJTYPE_SOFTLINK) {
        if (++hops > 32) throw new BadFieldError('too many levels of symbolic links', this.where(`path ${walked}`));
        const target = this.linkTarget(st);
        if (/^@@(PFS\d{5}|-1:|0x)/.test(Buffer.from(target).toString('latin1'))) {
          throw new UsageError('path crosses into another PFS (use --pfs)', this.where(`path ${walked}`));
        }
        if (target[0] === 0x2f) dir = root;
        todo.unshift(...this.components(target));
        continue;
      }
      if (!this.isDir(st)) throw new NotDirectoryError('not a directory', this.where(`path ${walked} (in ${shown})`));
      dir = st;
    }
    return dir;
  }

  /** Target bytes of a symlink inode (inline in the inode, or its FIX record). */
  private linkTarget(st: IState): Uint8Array {
    const n = Number(st.data.size);
    if (n <= HAMMER_INODE_BASESYMLEN) return st.data.ext.slice(0, n);
    const r = findRecord(this.tree, locMisc(this.pfs), st.objId, HAMMER_RECTYPE_FIX, HAMMER_FIXKEY_SYMLINK, CURRENT);
    if (!r) throw new NotFoundError('symlink has no target record', this.where(`inode ${st.objId.toString(16)}`));
    return readPayload(this.ctx, r.leaf, r.where).slice(0, n);
  }

  /** Parent directory and last name of a path (the root itself has no name: UsageError). */
  private parentOf(path: string | Uint8Array): { dir: IState; name: Uint8Array; shown: string } {
    const shown = typeof path === 'string' ? path : Buffer.from(path).toString('utf8');
    const comps = this.components(path);
    const name = comps.pop();
    if (!name) throw new UsageError('the PFS root has no name', this.where(`path ${shown}`));
    const ns = Buffer.from(name).toString('latin1');
    if (ns === '.' || ns === '..') throw new UsageError(`"${ns}" cannot be created or removed`, this.where(`path ${shown}`));
    if (name.length > MAX_NAME) throw new UsageError(`name longer than ${MAX_NAME} bytes`, this.where(`path ${shown}`));
    if (name.includes(0)) throw new UsageError('name contains a NUL byte', this.where(`path ${shown}`));
    return { dir: this.walkDir(comps, shown), name, shown };
  }

  /** The current entry `name` of directory `dir`, or undefined. */
  private findEntry(dir: IState, name: Uint8Array): WriterEntry | undefined {
    const loc = dirLocalization(this.pfs, dir.data.capFlags);
    const nk = directoryNamekey(dir.data.capFlags, name);
    const alg = dir.data.capFlags & HAMMER_INODE_CAP_DIRHASH_MASK;
    let last = alg === 0 ? nk.key | 0xffffffffn : nk.key + nk.maxIterations;
    if (last > KEY_MAX) last = KEY_MAX;
    let hit: WriterEntry | undefined;
    scanRecords(this.tree, loc, dir.objId, HAMMER_RECTYPE_DIRENTRY, nk.key, last, CURRENT, (node, i) => {
      const at = node.elmAt(i);
      if (node.dv.getInt32(at + ELM.dataLen, LE) !== HAMMER_ENTRY_NAME_OFF + name.length) return;
      const leaf = node.leaf(i);
      const e = decodeEntryData(readPayload(this.ctx, leaf, leafWhere(node, i)), leafWhere(node, i));
      if (Buffer.compare(e.name, name) === 0) {
        hit = { objId: e.objId, key: leaf.key, createTid: leaf.createTid, objType: leaf.objType };
        return false;
      }
    });
    return hit;
  }

  /** Resolve a path to its entry and inode (the root: entry undefined). No symlink is followed. */
  lookup(path: string | Uint8Array): { objId: bigint; objType: number; data: InodeData } | undefined {
    const comps = this.components(path);
    try {
      if (comps.length === 0) {
        const r = this.ino(1n)!;
        return { objId: 1n, objType: r.data.objType, data: r.data };
      }
      const { dir, name } = this.parentOf(path);
      const e = this.findEntry(dir, name);
      if (!e) return undefined;
      const st = this.ino(e.objId);
      return st ? { objId: st.objId, objType: st.data.objType, data: st.data } : undefined;
    } catch (e) {
      if (e instanceof NotFoundError || e instanceof NotDirectoryError) return undefined;
      throw e;
    }
  }

  private addEntry(tx: Transaction, dir: IState, name: Uint8Array, target: IState): void {
    const loc = dirLocalization(this.pfs, dir.data.capFlags);
    const nk = directoryNamekey(dir.data.capFlags, name);
    let last = nk.key + nk.maxIterations;
    if (last > KEY_MAX) last = KEY_MAX;
    // Keys in use by current entries from the name's hash on (in order): take the first gap.
    // Deleted (historical) entries do not block a key (RECORDS.md §3.3).
    let k = nk.key;
    scanRecords(this.tree, loc, dir.objId, HAMMER_RECTYPE_DIRENTRY, nk.key, last, CURRENT, (node, i) => {
      const key = node.leaf(i).key;
      if (key === k) k++;
      else if (key > k) return false;
    });
    if (k > last) throw new NoSpaceError('directory hash bucket is full', this.where(`directory ${dir.objId.toString(16)}`));
    const payload = encodeEntryData({ objId: target.objId, localization: (this.pfs << 16) >>> 0, reserved01: 0, name });
    const d = writeRecordData(tx, HAMMER_RECTYPE_DIRENTRY, payload);
    insertLeaf(tx, this.tree, {
      localization: loc, objId: dir.objId, recType: HAMMER_RECTYPE_DIRENTRY, key: k, createTid: tx.tid, deleteTid: 0n,
      objType: target.data.objType, btype: HAMMER_BTREE_TYPE_RECORD, createTs: tx.ts, deleteTs: 0, ...d,
    });
    dir.data.mtime = this.nowUs;
    this.touch(dir, 'times');
  }

  private removeEntry(tx: Transaction, dir: IState, e: WriterEntry): void {
    const loc = dirLocalization(this.pfs, dir.data.capFlags);
    this.retire(tx, makeKey({ localization: loc, objId: dir.objId, recType: HAMMER_RECTYPE_DIRENTRY, key: e.key, createTid: e.createTid }));
    dir.data.mtime = this.nowUs;
    this.touch(dir, 'times');
  }

  private dirIsEmpty(dir: IState): boolean {
    let empty = true;
    scanRecords(this.tree, dirLocalization(this.pfs, dir.data.capFlags), dir.objId, HAMMER_RECTYPE_DIRENTRY, HAMMER_MIN_KEY, KEY_MAX, CURRENT, () => {
      empty = false;
      return false;
    });
    return empty;
  }

  private newInode(tx: Transaction, kind: NodeKind, parent: IState, a: NewAttrs): IState {
    const objId = tx.allocTid();
    const now = this.nowUs;
    let caps = 0;
    if (kind === 'dir') {
      if (tx.version >= 2) caps |= HAMMER_INODE_CAP_DIR_LOCAL_INO;
      if (tx.version >= 6) caps |= HAMMER_INODE_CAP_DIRHASH_ALG1;
    }
    const def = kind === 'file' ? 0o644 : kind === 'dir' || kind === 'symlink' ? 0o755 : 0o644;
    const data: InodeData = {
      version: 1, mode: (a.mode ?? def) & 0o7777, uflags: 0, rmajor: a.rmajor ?? 0, rminor: a.rminor ?? 0,
      ctime: a.ctime ?? now, parentObjId: parent.objId, uid: idToUuid(a.uid ?? 0), gid: idToUuid(a.gid ?? 0),
      objType: OBJTYPE[kind], capFlags: caps, reserved01: 0, reserved02: 0, nlinks: 0n, size: 0n,
      ext: new Uint8Array(HAMMER_INODE_BASESYMLEN), mtime: a.mtime ?? now, atime: a.atime ?? now,
    };
    const st: IState = { objId, data, leaf: null, dirty: 'full', destroyed: false };
    this.inodes.set(objId, st);
    tx.header.statInodes += 1n;
    return st;
  }

  /** Create an object named by `path` (ExistsError if the name is taken). */
  private create(tx: Transaction, path: string | Uint8Array, kind: NodeKind, a: NewAttrs): IState {
    const { dir, name, shown } = this.parentOf(path);
    return this.createAt(tx, dir, name, kind, a, shown);
  }

  private createAt(tx: Transaction, dir: IState, name: Uint8Array, kind: NodeKind, a: NewAttrs, shown: string): IState {
    if (this.findEntry(dir, name)) throw new ExistsError('file exists', this.where(`path ${shown}`));
    const st = this.newInode(tx, kind, dir, a);
    this.addEntry(tx, dir, name, st);
    st.data.nlinks = 1n;
    return st;
  }

  /** Retire an inode and every record it owns (nlinks reached 0). */
  private destroy(tx: Transaction, st: IState): void {
    const keys: BaseElm[] = [];
    // DATA, EXT, FIX, ... records of the object (MISC localization, rec_type 0x10..0xffff)
    forEachLeaf(
      this.tree,
      makeKey({ localization: locMisc(this.pfs), objId: st.objId, recType: HAMMER_RECTYPE_DATA, key: HAMMER_MIN_KEY, createTid: 1n }),
      makeKey({ localization: locMisc(this.pfs), objId: st.objId, recType: HAMMER_RECTYPE_MAX, key: HAMMER_MAX_KEY, createTid: HAMMER_MAX_TID }),
      (node, i) => {
        const at = node.elmAt(i);
        if (node.dv.getBigUint64(at + ELM.deleteTid, LE) === 0n) keys.push(node.leaf(i));
      },
    );
    for (const k of keys) this.retire(tx, k);
    st.destroyed = true;
    st.dirty = 'full';
    tx.header.statInodes -= 1n;
  }

  private dropLink(tx: Transaction, st: IState): void {
    st.data.nlinks = st.data.nlinks > 0n ? st.data.nlinks - 1n : 0n;
    st.data.ctime = this.nowUs;
    this.touch(st, 'full');
    if (st.data.nlinks === 0n) this.destroy(tx, st);
  }

  /* ------------------------------------------------------------------------------------------ */
  /* file data                                                                                   */
  /* ------------------------------------------------------------------------------------------ */

  /** Current DATA records overlapping block [base, base+bs): retire them. */
  private retireBlock(tx: Transaction, st: IState, base: number, bs: number): void {
    const keys: LeafElm[] = [];
    scanRecords(this.tree, locMisc(this.pfs), st.objId, HAMMER_RECTYPE_DATA, BigInt(base + 1), BigInt(base + bs), CURRENT, (node, i) => {
      keys.push(node.leaf(i));
    });
    for (const k of keys) this.retire(tx, k);
  }

  /**
   * Replace block `base` with `content` (its length is the record length), or a hole (null).
   * `past` says the block starts at or after EOF of an inode created in this transaction: no
   * record can be there (its obj_id is new and truncation retires whole blocks past EOF), so the
   * B-Tree search for one is skipped (a bulk import writes every block this way).
   */
  private putBlock(tx: Transaction, st: IState, base: number, content: Uint8Array | null, past = false): void {
    if (!past) this.retireBlock(tx, st, base, blockSize(base));
    if (!content) return;
    const d = writeRecordData(tx, HAMMER_RECTYPE_DATA, content);
    insertLeaf(tx, this.tree, {
      localization: locMisc(this.pfs), objId: st.objId, recType: HAMMER_RECTYPE_DATA, key: BigInt(base + content.length),
      createTid: tx.tid, deleteTid: 0n, objType: st.data.objType, btype: HAMMER_BTREE_TYPE_RECORD, createTs: tx.ts, deleteTs: 0, ...d,
    });
  }

  /** Bytes [base, base+len) of the file as it is now (zeros past `size` and in holes). */
  private oldBytes(st: IState, base: number, len: number, size: number): Uint8Array {
    const out = new Uint8Array(len);
    if (base >= size) return out;
    const b = readFileRange(this.ctx, { ...this.asInode(st), size: BigInt(size) }, base, len, CURRENT);
    out.set(b);
    return out;
  }

  private sizeOf(st: IState): number {
    if (st.data.size > BigInt(Number.MAX_SAFE_INTEGER)) throw new BadFieldError('file size beyond 2^53', this.where(`inode ${st.objId.toString(16)}`));
    return Number(st.data.size);
  }

  /** A small file (<= 8 KiB, one short record) is about to grow past 8 KiB: make block 0 whole. */
  private growSmall(tx: Transaction, st: IState, oldSize: number, newSize: number): void {
    if (oldSize > 0 && oldSize <= HAMMER_HBUFSIZE && newSize > HAMMER_HBUFSIZE) {
      this.putBlock(tx, st, 0, this.oldBytes(st, 0, HAMMER_BUFSIZE, oldSize));
    }
  }

  private writeAt(tx: Transaction, st: IState, offset: number, data: Uint8Array, sparse: boolean): void {
    if (st.data.objType !== HAMMER_OBJTYPE_REGFILE) throw new IsDirectoryError('not a regular file', this.where(`inode ${st.objId.toString(16)}`));
    if (!Number.isSafeInteger(offset) || offset < 0) throw new UsageError(`bad file offset ${offset}`, this.where('write'));
    const oldSize = this.sizeOf(st);
    const end = offset + data.length;
    const newSize = Math.max(oldSize, end);
    if (data.length > 0) {
      this.growSmall(tx, st, oldSize, newSize);
      let pos = offset;
      while (pos < end) {
        const base = blockBase(pos);
        const bs = blockSize(base);
        const len = recordLen(base, newSize);
        const from = pos - base;
        const to = Math.min(end, base + bs) - base;
        const whole = from === 0 && to >= len;
        let content: Uint8Array;
        if (whole) {
          content = data.subarray(pos - offset, pos - offset + len);
          if (content.length < len) {
            const c = new Uint8Array(len);
            c.set(content);
            content = c;
          }
        } else {
          content = this.oldBytes(st, base, len, oldSize);
          content.set(data.subarray(pos - offset, pos - offset + Math.min(to, len) - from), from);
        }
        // an all-zero block reads the same as a hole (bytes past EOF included)
        const hole = sparse && allZero(content);
        this.putBlock(tx, st, base, hole ? null : content, st.leaf === null && base >= oldSize);
        pos = base + to;
      }
    }
    if (newSize !== oldSize) {
      st.data.size = BigInt(newSize);
      st.data.mtime = this.nowUs;
      st.data.ctime = this.nowUs;
      this.touch(st, 'full');
    } else {
      st.data.mtime = this.nowUs;
      this.touch(st, 'times');
    }
  }

  private truncateTo(tx: Transaction, st: IState, newSize: number): void {
    if (st.data.objType !== HAMMER_OBJTYPE_REGFILE) throw new IsDirectoryError('not a regular file', this.where(`inode ${st.objId.toString(16)}`));
    if (!Number.isSafeInteger(newSize) || newSize < 0) throw new UsageError(`bad file size ${newSize}`, this.where('truncate'));
    const oldSize = this.sizeOf(st);
    if (newSize < oldSize) {
      const recs: LeafElm[] = [];
      scanRecords(this.tree, locMisc(this.pfs), st.objId, HAMMER_RECTYPE_DATA, BigInt(newSize + 1), KEY_MAX, CURRENT, (node, i) => {
        recs.push(node.leaf(i));
      });
      for (const r of recs) {
        const start = Number(r.key) - r.dataLen;
        if (start >= newSize) this.retire(tx, r);
      }
      // the block holding the new EOF keeps its bytes before EOF and gets zeros after it
      if (newSize > 0) {
        const base = blockBase(newSize - 1);
        const len = recordLen(base, newSize);
        const has = recs.some((r) => Number(r.key) - r.dataLen < newSize);
        if (has || (base === 0 && oldSize > HAMMER_HBUFSIZE && newSize <= HAMMER_HBUFSIZE)) {
          const content = this.oldBytes(st, base, len, newSize);
          this.putBlock(tx, st, base, content);
        }
      }
    } else if (newSize > oldSize) {
      this.growSmall(tx, st, oldSize, newSize);
    } else return;
    st.data.size = BigInt(newSize);
    st.data.mtime = this.nowUs;
    st.data.ctime = this.nowUs;
    this.touch(st, 'full');
  }

  private fileAt(path: string | Uint8Array): IState {
    const { dir, name, shown } = this.parentOf(path);
    const e = this.findEntry(dir, name);
    if (!e) throw new NotFoundError('no such file or directory', this.where(`path ${shown}`));
    const st = this.ino(e.objId);
    if (!st) throw new NotFoundError('directory entry points at a missing inode', this.where(`path ${shown}`));
    return st;
  }

  private nodeAt(path: string | Uint8Array): IState {
    if (this.components(path).length === 0) return this.ino(1n)!;
    return this.fileAt(path);
  }

  /* ------------------------------------------------------------------------------------------ */
  /* public operations                                                                           */
  /* ------------------------------------------------------------------------------------------ */

  /** mkdir PATH; with `parents`, missing parents too and an existing directory is fine. Returns the obj_id. */
  mkdir(path: string | Uint8Array, a: NewAttrs & { parents?: boolean } = {}): bigint {
    return this.op((tx) => {
      if (!a.parents) return this.create(tx, path, 'dir', a).objId;
      const comps = this.components(path);
      let id = 1n;
      for (let i = 1; i <= comps.length; i++) {
        const sub = Buffer.concat(comps.slice(0, i).flatMap((c) => [Buffer.from('/'), c]));
        const ex = this.lookup(sub);
        if (ex) {
          if (ex.objType !== HAMMER_OBJTYPE_DIRECTORY) throw new NotDirectoryError('not a directory', this.where(`path ${sub.toString('utf8')}`));
          id = ex.objId;
          continue;
        }
        id = this.create(tx, sub, 'dir', a).objId;
      }
      return id;
    });
  }

  /** Create (or, with `replace`, truncate and rewrite) a regular file holding `data`. */
  writeFile(path: string | Uint8Array, data: Uint8Array, a: NewAttrs & { replace?: boolean; sparse?: boolean } = {}): bigint {
    return this.op((tx) => {
      let st: IState;
      const ex = this.lookup(path);
      if (ex && a.replace) {
        if (ex.objType !== HAMMER_OBJTYPE_REGFILE) throw new IsDirectoryError('not a regular file', this.where(`path ${String(path)}`));
        st = this.ino(ex.objId)!;
        this.truncateTo(tx, st, 0);
      } else {
        st = this.create(tx, path, 'file', a);
      }
      this.writeAt(tx, st, 0, data, a.sparse ?? false);
      if (a.mtime !== undefined) st.data.mtime = a.mtime;
      if (a.atime !== undefined) st.data.atime = a.atime;
      return st.objId;
    });
  }

  /** Create an empty regular file; returns its obj_id. */
  createFile(path: string | Uint8Array, a: NewAttrs = {}): bigint {
    return this.op((tx) => this.create(tx, path, 'file', a).objId);
  }

  /** Write bytes at an offset of an existing file (extends it; holes stay holes). */
  write(path: string | Uint8Array, offset: number, data: Uint8Array, o: { sparse?: boolean } = {}): void {
    this.op((tx) => this.writeAt(tx, this.fileAt(path), offset, data, o.sparse ?? false));
  }

  /** write() by obj_id (import and streams, which already hold the inode number). */
  writeById(objId: bigint, offset: number, data: Uint8Array, o: { sparse?: boolean } = {}): void {
    this.op((tx) => {
      const st = this.ino(objId);
      if (!st) throw new NotFoundError('no such inode', this.where(`inode ${objId.toString(16)}`));
      this.writeAt(tx, st, offset, data, o.sparse ?? false);
    });
  }

  /** Set the size of a file (shrink: records past EOF retired, EOF block rewritten). */
  truncate(path: string | Uint8Array, size: number): void {
    this.op((tx) => this.truncateTo(tx, this.fileAt(path), size));
  }
  truncateById(objId: bigint, size: number): void {
    this.op((tx) => {
      const st = this.ino(objId);
      if (!st) throw new NotFoundError('no such inode', this.where(`inode ${objId.toString(16)}`));
      this.truncateTo(tx, st, size);
    });
  }

  /** unlink a non-directory. */
  unlink(path: string | Uint8Array): void {
    this.op((tx) => {
      const { dir, name, shown } = this.parentOf(path);
      const e = this.findEntry(dir, name);
      if (!e) throw new NotFoundError('no such file or directory', this.where(`path ${shown}`));
      const st = this.ino(e.objId);
      if (st && this.isDir(st)) throw new IsDirectoryError('is a directory (use rmdir)', this.where(`path ${shown}`));
      this.removeEntry(tx, dir, e);
      if (st) this.dropLink(tx, st);
    });
  }

  /** rmdir an empty directory. */
  rmdir(path: string | Uint8Array): void {
    this.op((tx) => {
      const { dir, name, shown } = this.parentOf(path);
      const e = this.findEntry(dir, name);
      if (!e) throw new NotFoundError('no such file or directory', this.where(`path ${shown}`));
      const st = this.ino(e.objId);
      if (!st) throw new NotFoundError('directory entry points at a missing inode', this.where(`path ${shown}`));
      if (!this.isDir(st)) throw new NotDirectoryError('not a directory', this.where(`path ${shown}`));
      if (!this.dirIsEmpty(st)) throw new UsageError('directory not empty', this.where(`path ${shown}`));
      this.removeEntry(tx, dir, e);
      st.data.nlinks = 0n;
      this.destroy(tx, st);
    });
  }

  /** rm -r: remove a file or a whole subtree (one transaction, or batches with autoCommit off). */
  removeTree(path: string | Uint8Array): number {
    const st = this.lookup(path);
    if (!st) throw new NotFoundError('no such file or directory', this.where(`path ${String(path)}`));
    if (st.objType !== HAMMER_OBJTYPE_DIRECTORY) {
      this.unlink(path);
      return 1;
    }
    let n = 0;
    const base = enc(path);
    const names: Uint8Array[] = [];
    const dir = this.ino(st.objId)!;
    scanRecords(this.tree, dirLocalization(this.pfs, dir.data.capFlags), dir.objId, HAMMER_RECTYPE_DIRENTRY, HAMMER_MIN_KEY, KEY_MAX, CURRENT, (node, i) => {
      names.push(decodeEntryData(readPayload(this.ctx, node.leaf(i), leafWhere(node, i)), leafWhere(node, i)).name);
    });
    for (const nm of names) {
      n += this.removeTree(Buffer.concat([base, Buffer.from('/'), nm]));
      // a batch caller (rm -r) keeps memory bounded: commit every batchBytes of changes
      if (!this.autoCommit) this.maybeCommit();
    }
    this.rmdir(path);
    return n + 1;
  }

  /** rename FROM TO (replaces a file, or an empty directory with a directory). */
  rename(from: string | Uint8Array, to: string | Uint8Array): void {
    this.op((tx) => {
      const s = this.parentOf(from);
      const se = this.findEntry(s.dir, s.name);
      if (!se) throw new NotFoundError('no such file or directory', this.where(`path ${s.shown}`));
      const src = this.ino(se.objId);
      if (!src) throw new NotFoundError('directory entry points at a missing inode', this.where(`path ${s.shown}`));
      const d = this.parentOf(to);
      if (this.isDir(src)) {
        // moving a directory below itself would cut it off from the root
        for (let p: IState | undefined = d.dir, hops = 0; p && hops < 4096; hops++) {
          if (p.objId === src.objId) throw new UsageError('cannot move a directory into itself', this.where(`path ${d.shown}`));
          if (p.objId === 1n) break;
          p = this.ino(p.data.parentObjId);
        }
      }
      const de = this.findEntry(d.dir, d.name);
      if (de) {
        if (de.objId === src.objId) return;
        const dst = this.ino(de.objId);
        if (dst && this.isDir(dst)) {
          if (!this.isDir(src)) throw new IsDirectoryError('target is a directory', this.where(`path ${d.shown}`));
          if (!this.dirIsEmpty(dst)) throw new UsageError('target directory not empty', this.where(`path ${d.shown}`));
          this.removeEntry(tx, d.dir, de);
          dst.data.nlinks = 0n;
          this.destroy(tx, dst);
        } else {
          if (this.isDir(src)) throw new NotDirectoryError('target is not a directory', this.where(`path ${d.shown}`));
          this.removeEntry(tx, d.dir, de);
          if (dst) this.dropLink(tx, dst);
        }
      }
      this.addEntry(tx, d.dir, d.name, src);
      // the source entry may have moved in the tree (re-find it by name)
      const again = this.findEntry(s.dir, s.name);
      if (again) this.removeEntry(tx, s.dir, again);
      if (src.data.parentObjId !== d.dir.objId) {
        src.data.parentObjId = d.dir.objId;
        src.data.ctime = this.nowUs;
        this.touch(src, 'full');
      }
    });
  }

  /** Hard link: a new name for an existing non-directory. */
  link(existing: string | Uint8Array, newPath: string | Uint8Array): void {
    this.op((tx) => {
      const st = this.fileAt(existing);
      if (this.isDir(st)) throw new IsDirectoryError('cannot hard-link a directory', this.where(`path ${String(existing)}`));
      this.linkInode(tx, st, newPath);
    });
  }
  /** Hard link by obj_id (import). */
  linkById(objId: bigint, newPath: string | Uint8Array): void {
    this.op((tx) => {
      const st = this.ino(objId);
      if (!st) throw new NotFoundError('no such inode', this.where(`inode ${objId.toString(16)}`));
      this.linkInode(tx, st, newPath);
    });
  }
  private linkInode(tx: Transaction, st: IState, newPath: string | Uint8Array): void {
    const { dir, name, shown } = this.parentOf(newPath);
    if (this.findEntry(dir, name)) throw new ExistsError('file exists', this.where(`path ${shown}`));
    this.addEntry(tx, dir, name, st);
    st.data.nlinks += 1n;
    st.data.ctime = this.nowUs;
    this.touch(st, 'full');
  }

  /** Symbolic link PATH -> target (<= 24 bytes inline, longer in a FIX record). */
  symlink(path: string | Uint8Array, target: string | Uint8Array, a: NewAttrs = {}): bigint {
    const t = enc(target);
    if (t.length === 0) throw new UsageError('empty symlink target', this.where(`path ${String(path)}`));
    if (t.length > 1023) throw new UsageError('symlink target longer than 1023 bytes', this.where(`path ${String(path)}`));
    return this.op((tx) => this.symlinkOn(tx, this.create(tx, path, 'symlink', a), t));
  }

  private symlinkOn(tx: Transaction, st: IState, t: Uint8Array): bigint {
    st.data.size = BigInt(t.length);
    if (t.length <= HAMMER_INODE_BASESYMLEN) {
      st.data.ext = new Uint8Array(HAMMER_INODE_BASESYMLEN);
      st.data.ext.set(t);
    } else {
      const d = writeRecordData(tx, HAMMER_RECTYPE_FIX, t);
      insertLeaf(tx, this.tree, {
        localization: locMisc(this.pfs), objId: st.objId, recType: HAMMER_RECTYPE_FIX, key: HAMMER_FIXKEY_SYMLINK,
        createTid: tx.tid, deleteTid: 0n, objType: HAMMER_OBJTYPE_SOFTLINK, btype: HAMMER_BTREE_TYPE_RECORD, createTs: tx.ts, deleteTs: 0, ...d,
      });
    }
    return st.objId;
  }

  /**
   * Create `name` in directory `dirId` (import: no path walk per object). kind 'symlink' needs
   * `target`. Returns the new obj_id.
   */
  createIn(dirId: bigint, name: Uint8Array, kind: NodeKind, a: NewAttrs = {}, target?: Uint8Array): bigint {
    return this.op((tx) => {
      const dir = this.ino(dirId);
      if (!dir || !this.isDir(dir)) throw new NotDirectoryError('not a directory', this.where(`inode ${dirId.toString(16)}`));
      const shown = Buffer.from(name).toString('utf8');
      if (name.length === 0 || name.length > MAX_NAME || name.includes(0x2f) || name.includes(0) || shown === '.' || shown === '..') {
        throw new UsageError('bad file name', this.where(`name ${shown}`));
      }
      if (kind === 'symlink' && (!target || target.length === 0 || target.length > 1023)) throw new UsageError('bad symlink target', this.where(`name ${shown}`));
      const st = this.createAt(tx, dir, name, kind, a, shown);
      if (kind === 'symlink') this.symlinkOn(tx, st, target!);
      return st.objId;
    });
  }

  /** Hard link inode `objId` as `name` in directory `dirId`. */
  linkIn(dirId: bigint, name: Uint8Array, objId: bigint): void {
    this.op((tx) => {
      const dir = this.ino(dirId);
      const st = this.ino(objId);
      if (!dir || !this.isDir(dir)) throw new NotDirectoryError('not a directory', this.where(`inode ${dirId.toString(16)}`));
      if (!st) throw new NotFoundError('no such inode', this.where(`inode ${objId.toString(16)}`));
      if (this.isDir(st)) throw new IsDirectoryError('cannot hard-link a directory', this.where(`inode ${objId.toString(16)}`));
      const shown = Buffer.from(name).toString('utf8');
      if (this.findEntry(dir, name)) throw new ExistsError('file exists', this.where(`name ${shown}`));
      this.addEntry(tx, dir, name, st);
      st.data.nlinks += 1n;
      st.data.ctime = this.nowUs;
      this.touch(st, 'full');
    });
  }

  /** mknod: fifo, character/block device (rmajor/rminor), socket. */
  mknod(path: string | Uint8Array, kind: 'fifo' | 'chr' | 'blk' | 'socket', a: NewAttrs = {}): bigint {
    return this.op((tx) => this.create(tx, path, kind, a).objId);
  }

  /** chmod/chown/utimes. Mode/owner changes make a new inode version; times alone are written in place. */
  setattr(path: string | Uint8Array, a: SetAttrs): void {
    this.op(() => this.setattrOn(this.nodeAt(path), a));
  }
  setattrById(objId: bigint, a: SetAttrs): void {
    this.op(() => {
      const st = this.ino(objId);
      if (!st) throw new NotFoundError('no such inode', this.where(`inode ${objId.toString(16)}`));
      this.setattrOn(st, a);
    });
  }
  private setattrOn(st: IState, a: SetAttrs): void {
    let full = false;
    if (a.mode !== undefined && (a.mode & 0o7777) !== st.data.mode) {
      st.data.mode = a.mode & 0o7777;
      full = true;
    }
    if (a.uid !== undefined && a.uid !== inodeUid(st.data)) {
      st.data.uid = idToUuid(a.uid);
      full = true;
    }
    if (a.gid !== undefined && a.gid !== inodeGid(st.data)) {
      st.data.gid = idToUuid(a.gid);
      full = true;
    }
    if (a.mtime !== undefined) st.data.mtime = a.mtime;
    if (a.atime !== undefined) st.data.atime = a.atime;
    if (full || a.ctime !== undefined) {
      st.data.ctime = a.ctime ?? this.nowUs;
      this.touch(st, 'full');
    } else if (a.mtime !== undefined || a.atime !== undefined) this.touch(st, 'times');
  }

  /** touch: create an empty file, or set mtime/atime (default now) of an existing object. */
  touchPath(path: string | Uint8Array, a: { mtime?: bigint; atime?: bigint; create?: boolean } = {}): void {
    this.op((tx) => {
      const ex = this.lookup(path);
      if (!ex) {
        if (a.create === false) throw new NotFoundError('no such file or directory', this.where(`path ${String(path)}`));
        this.create(tx, path, 'file', { mtime: a.mtime, atime: a.atime });
        return;
      }
      this.setattrOn(this.nodeAt(path), { mtime: a.mtime ?? this.nowUs, atime: a.atime ?? this.nowUs });
    });
  }

  /**
   * Snapshot of this PFS: a SNAPSHOT record on its root inode whose TID is the last committed
   * TID (everything committed before this call is visible as of it). Returns that TID.
   */
  snapshot(label = ''): bigint {
    if (this.tx) this.commit();
    return this.op((tx) => {
      if (Buffer.byteLength(label, 'latin1') > 63) throw new UsageError('snapshot label longer than 63 bytes', this.where('snapshot'));
      const snapTid = tx.tid - 1n;
      const payload = encodeSnapshotData({ tid: snapTid, ts: this.nowUs, label });
      const d = writeRecordData(tx, HAMMER_RECTYPE_SNAPSHOT, payload);
      insertLeaf(tx, this.tree, {
        localization: locInode(this.pfs), objId: 1n, recType: HAMMER_RECTYPE_SNAPSHOT, key: BigInt.asIntN(64, snapTid),
        createTid: tx.tid, deleteTid: 0n, objType: HAMMER_OBJTYPE_DIRECTORY, btype: HAMMER_BTREE_TYPE_RECORD, createTs: tx.ts, deleteTs: 0, ...d,
      });
      return snapTid;
    });
  }

  /** obj_id of a path (NotFoundError if missing). */
  objIdOf(path: string | Uint8Array): bigint {
    const r = this.lookup(path);
    if (!r) throw new NotFoundError('no such file or directory', this.where(`path ${String(path)}`));
    return r.objId;
  }
}

export { blockBase, blockSize, recordLen };

/**
 * Write a stream into a file (create or replace it, or with `offset`/`append` write into an
 * existing one). Runs with autoCommit off and commits every `batchBytes` of changes and at the
 * end, so memory stays bounded whatever the stream's length. Returns the bytes written.
 */
export async function writeStream(
  w: HammerWriter, path: string | Uint8Array, src: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  o: { offset?: number; append?: boolean; mode?: number } = {},
): Promise<{ objId: bigint; bytes: number }> {
  const saved = w.autoCommit;
  w.autoCommit = false;
  try {
    const ex = w.lookup(path);
    const shown = typeof path === 'string' ? path : Buffer.from(path).toString('utf8');
    let id: bigint;
    let pos = 0;
    if (ex && ex.objType !== HAMMER_OBJTYPE_REGFILE) throw new IsDirectoryError('not a regular file', { structure: `path ${shown}` });
    if (o.offset !== undefined || o.append) {
      if (!ex) throw new NotFoundError('no such file (offset/append write into an existing file)', { structure: `path ${shown}` });
      id = ex.objId;
      pos = o.append ? Number(ex.data.size) : o.offset!;
    } else if (ex) {
      id = ex.objId;
      w.truncateById(id, 0);
      if (o.mode !== undefined) w.setattrById(id, { mode: o.mode });
    } else {
      id = w.createFile(path, { mode: o.mode });
    }
    // Gather the stream into 1 MiB pieces (a multiple of every block size), so a block is
    // written once rather than once per small chunk.
    const PIECE = 1024 * 1024;
    let pending: Uint8Array[] = [];
    let pendingLen = 0;
    let total = 0;
    const flush = () => {
      if (!pendingLen) return;
      const b = pending.length === 1 ? pending[0] : Buffer.concat(pending, pendingLen);
      w.writeById(id, pos, b);
      pos += b.length;
      total += b.length;
      pending = [];
      pendingLen = 0;
      w.maybeCommit();
    };
    for await (const chunk of src) {
      pending.push(chunk);
      pendingLen += chunk.length;
      if (pendingLen >= PIECE) flush();
    }
    flush();
    w.commit();
    return { objId: id, bytes: total };
  } catch (e) {
    w.abort();
    throw e;
  } finally {
    w.autoCommit = saved;
  }
}
