/**
 * Inodes as of a TID. An inode is the INODE record (localization PFS<<16|1, obj_id, key 0); every
 * change other than mtime/atime creates a new version of it (old one gets delete_tid), so "the
 * inode as of T" is the one version visible at T (spec/RECORDS.md §2, BTREE.md §7).
 * mtime/atime are updated in place and are therefore the latest values whatever the TID.
 */
import { BadFieldError } from '../errors.js';
import { decodeInodeData, inodeUid, inodeGid, type InodeData } from '../ondisk/inode-data.js';
import {
  HAMMER_RECTYPE_INODE, HAMMER_INODE_DATA_SIZE, HAMMER_OBJTYPE_DIRECTORY, HAMMER_OBJTYPE_REGFILE,
  HAMMER_OBJTYPE_DBFILE, HAMMER_OBJTYPE_FIFO, HAMMER_OBJTYPE_CDEV, HAMMER_OBJTYPE_BDEV,
  HAMMER_OBJTYPE_SOFTLINK, HAMMER_OBJTYPE_PSEUDOFS, HAMMER_OBJTYPE_SOCKET,
} from '../ondisk/constants.js';
import type { LeafElm } from '../ondisk/btree-elm.js';
import { collectRecords, findRecord, locInode, readPayload, type FsContext } from './records.js';
import type { Where } from '../errors.js';

/** File types by HAMMER obj_type, named as `ls`/find(1) users know them. */
export type FileType = 'dir' | 'file' | 'dbfile' | 'fifo' | 'chr' | 'blk' | 'symlink' | 'pfs' | 'socket' | 'unknown';

export function fileTypeOf(objType: number): FileType {
  switch (objType) {
    case HAMMER_OBJTYPE_DIRECTORY: return 'dir';
    case HAMMER_OBJTYPE_REGFILE: return 'file';
    case HAMMER_OBJTYPE_DBFILE: return 'dbfile';
    case HAMMER_OBJTYPE_FIFO: return 'fifo';
    case HAMMER_OBJTYPE_CDEV: return 'chr';
    case HAMMER_OBJTYPE_BDEV: return 'blk';
    case HAMMER_OBJTYPE_SOFTLINK: return 'symlink';
    case HAMMER_OBJTYPE_PSEUDOFS: return 'pfs';
    case HAMMER_OBJTYPE_SOCKET: return 'socket';
    default: return 'unknown';
  }
}

/** S_IFMT bits of a type (POSIX values, as Linux and DragonFly share them). */
export function ifmtOf(t: FileType): number {
  switch (t) {
    case 'dir': case 'pfs': return 0o040000;
    case 'file': case 'dbfile': return 0o100000;
    case 'fifo': return 0o010000;
    case 'chr': return 0o020000;
    case 'blk': return 0o060000;
    case 'symlink': return 0o120000;
    case 'socket': return 0o140000;
    default: return 0;
  }
}

/** One version of an inode, with the record that holds it. */
export interface Inode {
  objId: bigint;
  pfs: number;
  type: FileType;
  objType: number;
  /** Permission bits (07777); the type is in `type`. */
  mode: number;
  uid: number;
  gid: number;
  size: bigint;
  nlinks: bigint;
  /** µs since the epoch. */
  ctime: bigint;
  mtime: bigint;
  atime: bigint;
  parentObjId: bigint;
  uflags: number;
  capFlags: number;
  rmajor: number;
  rminor: number;
  /** TIDs and timestamps (seconds) of this INODE record version. */
  createTid: bigint;
  deleteTid: bigint;
  createTs: number;
  deleteTs: number;
  dataOffset: bigint;
  /**
   * The TID this inode was looked up as of (CURRENT = now). Reads of its data, entries and target
   * default to this TID, so an inode reached through `name@@0x...` keeps showing that past.
   */
  viewTid: bigint;
  /** The decoded payload as stored. */
  data: InodeData;
}

function toInode(ctx: FsContext, pfs: number, leaf: LeafElm, where: Where, viewTid: bigint): Inode {
  if (leaf.dataLen !== HAMMER_INODE_DATA_SIZE) {
    throw new BadFieldError(`INODE record has data_len ${leaf.dataLen}, expected 128`, { ...where, field: 'data_len' });
  }
  const d = decodeInodeData(readPayload(ctx, leaf, where), where);
  return {
    objId: leaf.objId, pfs, type: fileTypeOf(d.objType), objType: d.objType, mode: d.mode & 0o7777,
    uid: inodeUid(d), gid: inodeGid(d), size: d.size, nlinks: d.nlinks, ctime: d.ctime, mtime: d.mtime, atime: d.atime,
    parentObjId: d.parentObjId, uflags: d.uflags, capFlags: d.capFlags, rmajor: d.rmajor, rminor: d.rminor,
    createTid: leaf.createTid, deleteTid: leaf.deleteTid, createTs: leaf.createTs, deleteTs: leaf.deleteTs,
    dataOffset: leaf.dataOffset, viewTid: viewTid || leaf.createTid, data: d,
  };
}

/** The inode `objId` of PFS `pfs` as of `asof` (CURRENT for now), or undefined if none is visible. */
export function loadInode(ctx: FsContext, pfs: number, objId: bigint, asof: bigint): Inode | undefined {
  const r = findRecord(ctx.tree, locInode(pfs), objId, HAMMER_RECTYPE_INODE, 0n, asof);
  return r ? toInode(ctx, pfs, r.leaf, r.where, asof) : undefined;
}

/**
 * Every stored version of an inode, oldest first (B-Tree order is by create_tid). Each version's
 * viewTid is its create_tid: the state right after that change.
 */
export function inodeVersions(ctx: FsContext, pfs: number, objId: bigint): Inode[] {
  return collectRecords(ctx.tree, locInode(pfs), objId, HAMMER_RECTYPE_INODE, 0n, 0n).map((r) => toInode(ctx, pfs, r.leaf, r.where, 0n));
}
