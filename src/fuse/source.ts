/**
 * What the FUSE layer needs from a HAMMER filesystem view, stated once so the operation table
 * (ops.ts) does not depend on the shape of src/fs. adapter.ts implements it over HammerFs.
 *
 * A TreeView is one PFS as of one TID (or "current"). Nodes are opaque handles the view hands
 * out; the FUSE layer only keeps them for the life of the mount (the media is opened with a
 * shared lock, so nothing can change underneath and caching resolutions is safe).
 */

export type NodeKind = 'file' | 'dir' | 'symlink' | 'fifo' | 'socket' | 'chr' | 'blk';

/** Inode attributes as stored (64-bit values stay bigint until the FUSE boundary). */
export interface NodeAttr {
  objId: bigint;
  kind: NodeKind;
  /** Permission bits only (07777). */
  perm: number;
  uid: number;
  gid: number;
  size: bigint;
  nlinks: bigint;
  /** Microseconds since the epoch, as HAMMER stores them. */
  atimeUs: bigint;
  mtimeUs: bigint;
  ctimeUs: bigint;
  rdevMajor: number;
  rdevMinor: number;
}

/** A directory entry as found in the directory, without loading the target inode. */
export interface DirEntryRef {
  name: string;
  objId: bigint;
  /** From the B-Tree element when the view knows it (saves an inode load for d_type). */
  kind?: NodeKind;
}

/** Reads of one file (see TreeView.reader). */
export interface FileReaderRef {
  /** Copy file bytes [pos, pos+len) into into[intoOff...]; returns the count (short at EOF). */
  readInto(pos: number, len: number, into: Uint8Array, intoOff?: number): number;
  /** Whether a read at `pos` is cheap (continues the previous one). */
  continues(pos: number): boolean;
  /** Where the previous read ended (-1 if none). */
  readonly position: number;
}

export interface FsNode {
  readonly objId: bigint;
}

export interface TreeView {
  /** Stable identity of (PFS, as-of) used to keep inode numbers apart between views. */
  readonly key: string;
  readonly pfs: number;
  /** The TID this view reads as of; undefined = the current state. */
  readonly asof: bigint | undefined;
  root(): FsNode;
  /** The node `name` names in directory `dir`, or undefined. Throws HammerError on damage. */
  lookup(dir: FsNode, name: string): FsNode | undefined;
  /** The node of obj_id `objId` in this view (its inode as of this view's TID), or undefined. */
  lookupObj(objId: bigint): FsNode | undefined;
  attr(node: FsNode): NodeAttr;
  /** Entries of a directory, without "." and "..". */
  readdir(dir: FsNode): DirEntryRef[];
  /**
   * Copy file bytes [pos, pos+len) into `into` (from offset 0); returns the count copied
   * (short at end of file). Holes read as zeros.
   */
  read(node: FsNode, pos: number, len: number, into: Uint8Array): number;
  /**
   * A reader for repeated reads of one file: reads that continue the previous one are cheaper
   * (no new B-Tree descent). Same contract as read(), at an offset in `into`.
   */
  reader(node: FsNode): FileReaderRef;
  /** Symlink target bytes as the view presents them. */
  readlink(node: FsNode): Uint8Array;
  /** The same PFS as of another TID (the `name@@0x<tid>` syntax). */
  at(tid: bigint): TreeView;
}

export interface SnapshotRef {
  tid: bigint;
  label: string;
}

export interface StatfsInfo {
  blockSize: number;
  blocks: number;
  blocksFree: number;
  files: number;
  namemax: number;
}

export interface FsSource {
  /** The view of PFS `pfs` as of `asof` (undefined: current; a slave's default is its sync_end_tid). */
  view(pfs: number, asof?: bigint): TreeView;
  /** Snapshot records of a PFS, in TID order. */
  snapshots(pfs: number): SnapshotRef[];
  statfs(): StatfsInfo;
  /** Volume number, device byte and path of a HAMMER offset, for error reports (optional). */
  locate?(off: bigint): { volNo: number; rawOffset: number; path: string } | undefined;
  close(): void;
}
