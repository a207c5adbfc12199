/**
 * FsSource over src/fs's HammerFs: one TreeView per (PFS, as-of TID), shared B-Tree and buffer
 * cache. Nodes are HammerFs Inodes (they carry objId, so they satisfy FsNode).
 *
 * Symlinks are presented as DragonFly's kernel presents them: a `@@PFSnnnnn` link reads back as
 * `@@-1:nnnnn` (master) or `@@0x<sync_end_tid>:nnnnn` (slave), which ops.ts resolves to that PFS's
 * root, so following a PFS link inside the mount lands in the PFS.
 */
import { HammerFs, type Inode, type FileType } from '../fs/index.js';
import { HAMMER_BIGBLOCK_SIZE } from '../ondisk/constants.js';
import type { DirEntryRef, FileReaderRef, FsNode, FsSource, NodeAttr, NodeKind, SnapshotRef, StatfsInfo, TreeView } from './source.js';

const BLOCK = 16384;

function kindOf(t: FileType): NodeKind {
  switch (t) {
    case 'dir':
    case 'pfs':
      return 'dir';
    case 'symlink':
    case 'fifo':
    case 'socket':
    case 'chr':
    case 'blk':
      return t;
    default:
      // 'file', 'dbfile' and anything unknown read as a regular file (its DATA records).
      return 'file';
  }
}

class HammerTreeView implements TreeView {
  readonly key: string;
  readonly pfs: number;
  readonly asof: bigint;

  constructor(
    private readonly src: HammerSource,
    private readonly fs: HammerFs,
  ) {
    this.pfs = fs.pfs;
    this.asof = fs.asof;
    this.key = `${fs.pfs}@${fs.asof.toString(16)}`;
  }

  root(): FsNode {
    return this.fs.root();
  }

  lookup(dir: FsNode, name: string): FsNode | undefined {
    // The directory may come from another view (name@@tid): only its obj_id and cap flags
    // matter for the lookup, which runs as of this view's TID.
    const e = this.fs.lookup(dir as Inode, name, this.asof);
    if (!e) return undefined;
    return this.fs.inode(e.objId, this.asof);
  }

  lookupObj(objId: bigint): FsNode | undefined {
    return this.fs.inode(objId, this.asof);
  }

  attr(node: FsNode): NodeAttr {
    const i = node as Inode;
    return {
      objId: i.objId, kind: kindOf(i.type), perm: i.mode & 0o7777, uid: i.uid, gid: i.gid, size: i.size, nlinks: i.nlinks,
      atimeUs: i.atime, mtimeUs: i.mtime, ctimeUs: i.ctime, rdevMajor: i.rmajor, rdevMinor: i.rminor,
    };
  }

  readdir(dir: FsNode): DirEntryRef[] {
    const out: DirEntryRef[] = [];
    for (const e of this.fs.entries(dir as Inode, this.asof)) out.push({ name: e.nameStr, objId: e.objId, kind: e.type === 'unknown' ? undefined : kindOf(e.type) });
    return out;
  }

  read(node: FsNode, pos: number, len: number, into: Uint8Array): number {
    return this.fs.readInto(node as Inode, pos, len, into, 0, this.asof);
  }

  reader(node: FsNode): FileReaderRef {
    return this.fs.reader(node as Inode, this.asof);
  }

  readlink(node: FsNode): Uint8Array {
    return this.fs.readlinkPresented(node as Inode, this.asof);
  }

  at(tid: bigint): TreeView {
    return this.src.view(this.pfs, tid);
  }
}

export class HammerSource implements FsSource {
  private views = new Map<string, TreeView>();

  /**
   * `base` is the mount's view, opened with `baseAsof` as asked (undefined = default); other
   * views share its volume set and B-Tree.
   */
  constructor(
    private readonly base: HammerFs,
    private readonly baseAsof: bigint | undefined,
  ) {}

  view(pfs: number, asof?: bigint): TreeView {
    const k = `${pfs}@${asof === undefined ? 'default' : asof.toString(16)}`;
    let v = this.views.get(k);
    if (!v) {
      const fs = pfs === this.base.pfs && asof === this.baseAsof ? this.base : this.base.view({ pfs, asof });
      v = new HammerTreeView(this, fs);
      this.views.set(k, v);
    }
    return v;
  }

  snapshots(pfs: number): SnapshotRef[] {
    return this.base.snapshots(pfs).map((s) => ({ tid: s.tid, label: s.label }));
  }

  statfs(): StatfsInfo {
    const h = this.base.vs.root;
    const perBig = HAMMER_BIGBLOCK_SIZE / BLOCK;
    return {
      blockSize: BLOCK,
      blocks: Number(h.statBigblocks) * perBig,
      blocksFree: Number(h.statFreebigblocks) * perBig,
      files: Number(h.statInodes),
      namemax: 255,
    };
  }

  locate(off: bigint): { volNo: number; rawOffset: number; path: string } | undefined {
    const vs = this.base.vs;
    const l = vs.locate(off);
    return { volNo: l.vol, rawOffset: l.pos, path: vs.volumes[l.vol].device.path };
  }

  close(): void {
    this.views.clear();
  }
}
