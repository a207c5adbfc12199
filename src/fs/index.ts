/**
 * The filesystem view of a HAMMER volume set: one PFS, seen as of one TID (now by default; a
 * slave PFS as of its sync_end_tid, as the kernel mounts it). Everything is read through bounded
 * B-Tree cursor ranges (no whole-tree scans per lookup), synchronously, and fails with the typed
 * errors of src/errors.ts.
 *
 * ```ts
 * const vs = openVolumeSet(paths);
 * const fs = HammerFs.open(vs, { pfs: 1 });
 * const r = fs.resolve('/dir/file@@0x0000000100000400');
 * for (const chunk of fs.stream(r.inode)) out.write(chunk);
 * ```
 *
 * Inodes carry the TID they were looked up as of (`viewTid`); readdir/read/readlink on an inode
 * default to that TID, so an inode reached through `name@@0x...` keeps showing that past.
 */
import { NotDirectoryError, NotFoundError, UsageError } from '../errors.js';
import { BTree } from '../btree/btree.js';
import { HAMMER_MAX_TID } from '../ondisk/constants.js';
import type { VolumeSet } from '../volume/volume-set.js';
import { CURRENT, type FsContext } from './records.js';
import { loadInode, inodeVersions, fileTypeOf, ifmtOf, type Inode, type FileType } from './inode.js';
import { lookupEntry, readDirectory, entryVersions, type DirEntry } from './directory.js';
import { readFileRange, readFileInto, streamFile, dataRecords, FileReader, type DataRecord } from './file.js';
import { readSymlink, presentPfsLink, pfsLinkId } from './symlink.js';
import { listPfs, getPfs, type PfsInfo } from './pfs.js';
import { listSnapshots, type SnapshotInfo } from './snapshot.js';
import { inodeHistory, type InodeHistory, type HistoryTid } from './history.js';
import { resolvePath, parsePath, pfsDefaultAsof, type Resolved, type PathComponent } from './path.js';

export type { Inode, FileType, DirEntry, DataRecord, PfsInfo, SnapshotInfo, InodeHistory, HistoryTid, Resolved, PathComponent, FsContext };
export { CURRENT, fileTypeOf, ifmtOf, parsePath, pfsLinkId, presentPfsLink, FileReader };

export interface HammerFsOptions {
  /** PFS id, 0..65535 (default 0). */
  pfs?: number;
  /** View as of this TID; undefined, 0 or 0xffffffffffffffff = now (slave: sync_end_tid). */
  asof?: bigint;
  /** Check data CRCs of every payload read (default true). */
  verifyData?: boolean;
  /** Reuse a BTree over `vs` (shares its CRC verdict cache). */
  tree?: BTree;
}

export class HammerFs {
  /** PFS id this view reads. */
  readonly pfs: number;
  /** Effective as-of TID of this view (CURRENT = now). */
  readonly asof: bigint;
  /** The PFS record (or PFS 0 defaults) this view was opened on. */
  readonly pfsInfo: PfsInfo;

  private constructor(
    readonly ctx: FsContext,
    pfs: number,
    asof: bigint,
    info: PfsInfo,
  ) {
    this.pfs = pfs;
    this.asof = asof;
    this.pfsInfo = info;
  }

  /**
   * Open a view of PFS `o.pfs` as of `o.asof`. Throws UsageError for a bad PFS id, NotFoundError
   * if the PFS has no record (ids other than 0), is deleted, or has no root inode at that TID.
   */
  static open(vs: VolumeSet, o: HammerFsOptions = {}): HammerFs {
    const ctx: FsContext = { vs, tree: o.tree ?? new BTree(vs), verifyData: o.verifyData ?? true };
    return HammerFs.fromContext(ctx, o.pfs ?? 0, o.asof);
  }

  private static fromContext(ctx: FsContext, pfs: number, asof: bigint | undefined): HammerFs {
    if (!Number.isInteger(pfs) || pfs < 0 || pfs > 0xffff) throw new UsageError(`PFS id must be 0..65535, got ${pfs}`, { structure: 'argument', field: 'pfs' });
    const info = getPfs(ctx, pfs);
    if (!info) throw new NotFoundError('no such PFS', { structure: `PFS ${pfs}` });
    if (info.deleted) throw new NotFoundError('PFS is deleted', { structure: `PFS ${pfs}` });
    const t = asof === undefined || asof === 0n || asof === HAMMER_MAX_TID ? pfsDefaultAsof(info) : asof;
    const fs = new HammerFs(ctx, pfs, t, info);
    fs.root(); // fail early if the PFS has no root directory as of t
    return fs;
  }

  get vs(): VolumeSet {
    return this.ctx.vs;
  }
  get tree(): BTree {
    return this.ctx.tree;
  }

  /** Another view over the same volumes (shared tree): other PFS and/or TID. */
  view(o: { pfs?: number; asof?: bigint }): HammerFs {
    return HammerFs.fromContext(this.ctx, o.pfs ?? this.pfs, o.asof);
  }

  /** The PFS root directory (obj_id 1) as of the view's TID. Throws NotFoundError if none. */
  root(): Inode {
    const r = loadInode(this.ctx, this.pfs, 1n, this.asof);
    if (!r) throw new NotFoundError(`no root directory as of ${this.asof === CURRENT ? 'now' : '0x' + this.asof.toString(16).padStart(16, '0')}`, { structure: `PFS ${this.pfs}` });
    return r;
  }

  /**
   * Resolve a path (with `name@@0x<tid>` history components) to its inode. The last component is
   * not followed when it is a symlink unless `follow`. Throws NotFoundError / NotDirectoryError.
   */
  resolve(path: string | Uint8Array, o: { follow?: boolean } = {}): Resolved {
    return resolvePath(this.ctx, this.pfs, this.asof, path, o);
  }

  /** lstat(): the inode a path names (symlinks not followed). */
  stat(path: string | Uint8Array): Inode {
    return this.resolve(path).inode;
  }

  /** Whether `path` names something visible (no throw for missing names). */
  exists(path: string | Uint8Array): boolean {
    try {
      this.resolve(path);
      return true;
    } catch (e) {
      if (e instanceof NotFoundError || e instanceof NotDirectoryError) return false;
      throw e;
    }
  }

  /** Inode `objId` of this PFS as of `asof` (default: the view's TID), or undefined. */
  inode(objId: bigint, asof: bigint = this.asof): Inode | undefined {
    return loadInode(this.ctx, this.pfs, objId, asof);
  }

  /** Every stored version of inode `objId`, oldest first. */
  inodeVersions(objId: bigint): Inode[] {
    return inodeVersions(this.ctx, this.pfs, objId);
  }

  /** Look `name` up in directory `dir` as of `asof` (default dir.viewTid). */
  lookup(dir: Inode, name: string | Uint8Array, asof: bigint = dir.viewTid): DirEntry | undefined {
    return lookupEntry(this.ctx, dir, typeof name === 'string' ? Buffer.from(name, 'utf8') : name, asof);
  }

  /**
   * Entries of directory `dir` as of `asof` (default dir.viewTid), in cookie (key) order, streamed.
   * Throws BadFieldError if `dir` is not a directory.
   */
  entries(dir: Inode, asof: bigint = dir.viewTid): Generator<DirEntry> {
    return readDirectory(this.ctx, dir, asof);
  }

  /**
   * All entries of a directory (path or inode) as an array; with `dots`, "." and ".." first
   * (".." from parent_obj_id; the PFS root is its own parent).
   */
  readdir(dir: Inode | string, o: { dots?: boolean; asof?: bigint } = {}): DirEntry[] {
    const d = typeof dir === 'string' ? this.resolve(dir, { follow: true }).inode : dir;
    const asof = o.asof ?? d.viewTid;
    const out: DirEntry[] = [];
    if (o.dots) {
      const parentId = d.objId === 1n ? 1n : d.parentObjId;
      const dot = (name: string, objId: bigint, key: bigint): DirEntry => ({
        name: Buffer.from(name), nameStr: name, objId, localization: (this.pfs << 16) >>> 0, objType: d.objType, type: 'dir', key, createTid: 0n, deleteTid: 0n,
      });
      out.push(dot('.', d.objId, 0n), dot('..', parentId, 1n));
    }
    for (const e of readDirectory(this.ctx, d, asof)) out.push(e);
    return out;
  }

  /**
   * Forensic listing of directory `dir`: every stored version of its entries, live and deleted,
   * created at or before `o.asof` (default dir.viewTid; now = all), in key order. With
   * `deletedOnly`, only the entries deleted by then whose records survive. Each entry carries its
   * create/delete TIDs and timestamps. Throws BadFieldError if `dir` is not a directory.
   */
  entryVersions(dir: Inode, o: { asof?: bigint; deletedOnly?: boolean } = {}): DirEntry[] {
    return [...entryVersions(this.ctx, dir, { asof: o.asof ?? dir.viewTid, deletedOnly: o.deletedOnly })];
  }

  /** Bytes [offset, offset+length) of a file as of `asof` (default ino.viewTid), clipped to its size. */
  read(ino: Inode, offset: number, length: number, asof: bigint = ino.viewTid): Uint8Array {
    return readFileRange(this.ctx, ino, offset, length, asof);
  }

  /**
   * Copy bytes [offset, offset+length) of a file as of `asof` (default ino.viewTid), clipped to its
   * size, into out[outOff...]; returns the count copied. Holes are written as zeros.
   */
  readInto(ino: Inode, offset: number, length: number, out: Uint8Array, outOff = 0, asof: bigint = ino.viewTid): number {
    return readFileInto(this.ctx, ino, offset, length, asof, out, outOff);
  }

  /**
   * A reader for one file as of `asof` (default ino.viewTid): for many reads of the same file,
   * sequential ones continue where the previous read stopped instead of seeking from the root.
   */
  reader(ino: Inode, asof: bigint = ino.viewTid): FileReader {
    return new FileReader(this.ctx, ino, asof);
  }

  /** The whole file in chunks (bounded memory), as of `o.asof` (default ino.viewTid). */
  stream(ino: Inode, o: { asof?: bigint; chunkSize?: number } = {}): Generator<Uint8Array> {
    return streamFile(this.ctx, ino, o.asof ?? ino.viewTid, o.chunkSize);
  }

  /** Whole file content of a path (symlinks followed). For big files prefer stream(). */
  readFile(path: string | Uint8Array): Uint8Array {
    const r = this.resolve(path, { follow: true });
    const size = Number(r.inode.size);
    return this.read(r.inode, 0, size, r.asof);
  }

  /** Stored symlink target bytes as of `asof` (default ino.viewTid). */
  readlink(ino: Inode, asof: bigint = ino.viewTid): Uint8Array {
    return readSymlink(this.ctx, ino, asof);
  }

  /** Symlink target as DragonFly presents it (`@@PFSnnnnn` expanded). */
  readlinkPresented(ino: Inode, asof: bigint = ino.viewTid): Uint8Array {
    return presentPfsLink(readSymlink(this.ctx, ino, asof), this.listPfs());
  }

  /** DATA records of a file visible as of `asof` (default ino.viewTid); `asof: null` = every version. */
  dataRecords(ino: Inode, asof: bigint | null = ino.viewTid): DataRecord[] {
    return dataRecords(this.ctx, ino, asof === null ? undefined : asof);
  }

  /** Every version of the inode and its data records, and the TIDs at which they changed. */
  history(ino: Inode | bigint): InodeHistory {
    return inodeHistory(this.ctx, this.pfs, typeof ino === 'bigint' ? ino : ino.objId);
  }

  /** Every PFS of the filesystem (PFS 0 first; deleted ones flagged). */
  listPfs(): PfsInfo[] {
    return listPfs(this.ctx);
  }

  /** Snapshots of PFS `pfs` (default this view's PFS). */
  snapshots(pfs: number = this.pfs): SnapshotInfo[] {
    return listSnapshots(this.ctx, pfs);
  }
}
