/**
 * The FUSE operation table of a read-only HAMMER mount, over an FsSource (source.ts).
 *
 * libfuse's high-level API is path based: every lookup arrives as getattr(full path). Paths are
 * resolved component by component and every resolution is cached for the life of the mount,
 * which is sound because the volumes are opened read-only under a shared lock (no writer can
 * change them while we serve).
 *
 * History in paths (as DragonFly's hammer_vop_nresolve() allows):
 *   - `name@@0x<16 hex>`   the entry `name` of this directory as of that TID, and everything under it;
 *   - `@@0x<16 hex>` alone  this directory itself as of that TID;
 *   - `@@-1:nnnnn` / `@@0x<tid>:nnnnn`  the root of PFS nnnnn (current / as of tid), the form a
 *     `@@PFSnnnnn` symlink expands to.
 * A suffix that does not parse is an ordinary name, as in DragonFly.
 * Snapshots of the mounted PFS appear under `/.snapshots/<label or 0x<tid>>/`: a hidden directory
 * (not listed by readdir of /, reachable by name) unless the PFS has a real `.snapshots` entry,
 * which wins.
 *
 * Every handler replies exactly once; errors become errnos (errno.ts), and damage (CRC, bad
 * fields) is logged with its volume and offset. Nothing here touches the mountpoint or blocks on
 * another process: the event loop that runs these handlers is the one serving the kernel.
 */
import { InoMap } from './inomap.js';
import { Errno, errnoFor, EISDIR, EINVAL, ENOENT, ENOTDIR, EROFS, ENOSYS } from './errno.js';
import type { FileReaderRef, FsNode, FsSource, NodeAttr, NodeKind, SnapshotRef, TreeView } from './source.js';

const S_IFMT: Record<NodeKind, number> = {
  file: 0o100000, dir: 0o040000, symlink: 0o120000, fifo: 0o010000, socket: 0o140000, chr: 0o020000, blk: 0o060000,
};
const O_ACCMODE = 3;
const O_RDONLY = 0;
const O_TRUNC = 0o1000;
const W_OK = 2;
/** HAMMER's buffer size: the natural I/O unit to advertise as st_blksize. */
const BLKSIZE = 16384;
/** Read-ahead window bounds for sequential reads on one open file. */
const RA_MIN = 128 * 1024;
const RA_MAX = 4 * 1024 * 1024;
const RA_BUDGET = 64 * 1024 * 1024;
/**
 * Sequential requests at least this large are read straight into the kernel's reply buffer (the
 * kernel's own read-ahead sends 128 KiB requests): the file reader continues its cursor from the
 * previous request, so a window buffer would only add a copy. Smaller requests use the window.
 */
const DIRECT_MIN = 64 * 1024;
/** File readers (B-Tree cursors) kept per open file; see Handle.readers. */
const READERS_PER_FILE = 2;
/** Resolved paths kept (each holds a decoded inode, well under 1 KiB). */
const PATH_CACHE_MAX = 20_000;
/**
 * A directory listing remembers name -> obj_id for directories up to this size: the lookups
 * that follow a readdir (`ls -l`, `find`: one per entry) then skip the directory hash search.
 */
const CHILDREN_MAX = 10_000;

/** The stat object fuse-native's getStatArray() takes; times in ms (the binding's precision). */
export interface FuseStat {
  mode: number;
  uid: number;
  gid: number;
  size: number;
  dev: number;
  nlink: number;
  ino: number;
  rdev: number;
  blksize: number;
  blocks: number;
  atime: number;
  mtime: number;
  ctime: number;
}

type Resolved =
  | { t: 'node'; view: TreeView; node: FsNode; ino: number; top: boolean; st?: FuseStat; attr?: NodeAttr; children?: Map<string, bigint> }
  | { t: 'snapdir'; ino: number; st?: FuseStat }
  | { t: 'missing'; errno: number };

interface Handle {
  view: TreeView;
  node: FsNode;
  /**
   * File readers, each continuing its B-Tree cursor across the reads that follow it. Two, because
   * the kernel's read-ahead requests arrive on several FUSE threads and so slightly out of order:
   * with one reader every swapped pair would cost a descent from the root.
   */
  readers: FileReaderRef[];
  size: number;
  /** Read-ahead buffer: file bytes [bufPos, bufPos + bufLen). */
  buf: Uint8Array | null;
  bufPos: number;
  bufLen: number;
  /** Where the previous read ended: a read starting here is sequential. */
  lastEnd: number;
  window: number;
}

export interface OpsOptions {
  pfs: number;
  asof?: bigint;
  /** Where damage and internal errors are reported (one line each, no newline). */
  log: (line: string) => void;
}

/** µs (bigint) → ms (number) for the binding; ms since the epoch stays far below 2^53. */
function usToMs(us: bigint): number {
  return Number(us / 1000n);
}

/** Linux makedev() from a major/minor pair, cut to the u32 the binding passes as st_rdev. */
export function linuxDev(major: number, minor: number): number {
  return ((minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xff) << 12)) >>> 0;
}

const HISTORY_RE = /^(.*)@@(?:0x([0-9a-fA-F]{16})|(-1))(?::([0-9]{5}))?$/;

/** Parse `name@@0x<tid>[:nnnnn]` / `name@@-1[:nnnnn]`; undefined when `name` carries no (valid) suffix. */
export function parseHistoryName(name: string): { name: string; tid: bigint | undefined; pfs: number | undefined } | undefined {
  const m = HISTORY_RE.exec(name);
  if (!m) return undefined;
  const tid = m[2] !== undefined ? BigInt('0x' + m[2]) : undefined;
  const pfs = m[4] !== undefined ? Number(m[4]) : undefined;
  if (pfs !== undefined && pfs > 65535) return undefined;
  return { name: m[1], tid, pfs };
}

export class HammerFuseOps {
  readonly inos: InoMap;
  private readonly primary: TreeView;
  private cache = new Map<string, Resolved>();
  private handles = new Map<number, Handle>();
  private nextFh = 1;
  /** Bytes held in read-ahead buffers of open handles (bounded by RA_BUDGET). */
  private raBytes = 0;
  private snapNames: Map<string, SnapshotRef> | undefined;
  private snapList: string[] | undefined;
  private logged = new Set<string>();
  /** Counters for tests and the bench. */
  readonly stats = { lookups: 0, reads: 0, readBytes: 0, raFills: 0, errors: 0 };

  constructor(
    private readonly source: FsSource,
    private readonly opts: OpsOptions,
  ) {
    this.primary = source.view(opts.pfs, opts.asof);
    this.inos = new InoMap(this.primary.key);
    const root = this.primary.root();
    this.cache.set('/', { t: 'node', view: this.primary, node: root, ino: this.inos.ino(this.primary.key, root.objId), top: true });
  }

  // ---------------------------------------------------------------- resolution

  /** Resolve an absolute FUSE path; throws Errno. */
  resolve(path: string): Exclude<Resolved, { t: 'missing' }> {
    const r = this.resolveCached(path);
    if (r.t === 'missing') throw new Errno(r.errno);
    return r;
  }

  private resolveCached(path: string): Resolved {
    const hit = this.cache.get(path);
    if (hit) return hit;
    const cut = path.lastIndexOf('/');
    const parentPath = cut <= 0 ? '/' : path.slice(0, cut);
    const name = path.slice(cut + 1);
    const parent = this.resolveCached(parentPath);
    let r: Resolved;
    if (parent.t === 'missing') r = parent;
    else {
      try {
        r = this.step(parent, name);
      } catch (e) {
        if (!(e instanceof Errno)) throw e;
        r = { t: 'missing', errno: e.errno };
      }
    }
    if (this.cache.size >= PATH_CACHE_MAX) {
      // Oldest first: Map iteration order is insertion order. "/" is re-added right away.
      const first = this.cache.keys().next().value as string;
      const root = this.cache.get('/')!;
      this.cache.delete(first);
      if (first === '/') this.cache.set('/', root);
    }
    this.cache.set(path, r);
    return r;
  }

  private step(parent: Exclude<Resolved, { t: 'missing' }>, name: string): Resolved {
    this.stats.lookups++;
    if (parent.t === 'snapdir') {
      const s = this.snapshotNames().get(name) ?? this.snapshotByTidName(name);
      if (!s) throw new Errno(ENOENT);
      const view = this.source.view(this.opts.pfs, s.tid);
      return this.nodeRes(view, view.root(), false);
    }
    if (this.attrOf(parent).kind !== 'dir') throw new Errno(ENOTDIR);
    const h = parseHistoryName(name);
    if (h) {
      if (h.pfs !== undefined) {
        // PFS root as of a TID (`@@-1:nnnnn`); with a name in front it is not a form DragonFly
        // resolves, so treat the whole thing as an ordinary (absent) name.
        if (h.name !== '') throw new Errno(ENOENT);
        const view = this.source.view(h.pfs, h.tid);
        return this.nodeRes(view, view.root(), false);
      }
      // `@@-1` is HAMMER_MAX_TID: the current state (a slave's: its sync_end_tid).
      const view = h.tid === undefined ? this.source.view(parent.view.pfs) : parent.view.at(h.tid);
      if (h.name === '') {
        const self = view.lookupObj(parent.node.objId);
        if (!self) throw new Errno(ENOENT);
        return this.nodeRes(view, self, false);
      }
      const n = view.lookup(parent.node, h.name);
      if (!n) throw new Errno(ENOENT);
      return this.nodeRes(view, n, false);
    }
    const known = parent.children?.get(name);
    const n = known !== undefined ? parent.view.lookupObj(known) : parent.view.lookup(parent.node, name);
    if (n) return this.nodeRes(parent.view, n, false);
    if (parent.top && name === '.snapshots') return { t: 'snapdir', ino: this.inos.synthetic('.snapshots') };
    throw new Errno(ENOENT);
  }

  private nodeRes(view: TreeView, node: FsNode, top: boolean): Resolved {
    return { t: 'node', view, node, ino: this.inos.ino(view.key, node.objId), top };
  }

  private attrOf(r: { t: 'node'; view: TreeView; node: FsNode; attr?: NodeAttr }): NodeAttr {
    if (!r.attr) r.attr = r.view.attr(r.node);
    return r.attr;
  }

  /** Snapshot directory names: the label when it is a usable, unique file name, else 0x<tid>. */
  private snapshotNames(): Map<string, SnapshotRef> {
    if (this.snapNames) return this.snapNames;
    const snaps = this.source.snapshots(this.opts.pfs);
    const count = new Map<string, number>();
    for (const s of snaps) count.set(s.label, (count.get(s.label) ?? 0) + 1);
    const m = new Map<string, SnapshotRef>();
    for (const s of snaps) {
      const l = s.label;
      const usable = l !== '' && l !== '.' && l !== '..' && !l.includes('/') && !l.includes('\0') && count.get(l) === 1 && !HISTORY_RE.test(l);
      const tidName = '0x' + s.tid.toString(16).padStart(16, '0');
      m.set(usable && !m.has(l) ? l : tidName, s);
    }
    this.snapNames = m;
    this.snapList = [...m.keys()];
    return m;
  }

  private snapshotByTidName(name: string): SnapshotRef | undefined {
    if (!/^0x[0-9a-fA-F]{16}$/.test(name)) return undefined;
    const tid = BigInt(name);
    for (const s of this.snapshotNames().values()) if (s.tid === tid) return s;
    return undefined;
  }

  // ---------------------------------------------------------------- attributes

  /** The stat of a resolved path (cached with the resolution). */
  statOf(r: Exclude<Resolved, { t: 'missing' }>): FuseStat {
    if (r.st) return r.st;
    if (r.t === 'snapdir') {
      const root = this.resolve('/');
      const rs = this.statOf(root);
      r.st = { ...rs, mode: S_IFMT.dir | 0o555, nlink: 2, ino: r.ino, size: 0, blocks: 0, uid: 0, gid: 0 };
      return r.st;
    }
    const a = this.attrOf(r);
    const size = a.size > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(a.size);
    r.st = {
      mode: S_IFMT[a.kind] | (a.perm & 0o7777),
      uid: a.uid >>> 0,
      gid: a.gid >>> 0,
      size,
      dev: 0,
      // nlink 0 would tell `find` & co. the file is gone; HAMMER keeps it ≥ 1 for visible inodes.
      nlink: a.nlinks > 0xffffffffn ? 0xffffffff : Math.max(1, Number(a.nlinks)),
      ino: r.ino,
      rdev: a.kind === 'chr' || a.kind === 'blk' ? linuxDev(a.rdevMajor, a.rdevMinor) : 0,
      blksize: BLKSIZE,
      blocks: Math.ceil(size / 512),
      atime: usToMs(a.atimeUs),
      mtime: usToMs(a.mtimeUs),
      ctime: usToMs(a.ctimeUs),
    };
    return r.st;
  }

  // ---------------------------------------------------------------- operations (sync cores)

  getattr(path: string): FuseStat {
    return this.statOf(this.resolve(path));
  }

  /** Names and light stats (type and ino: all readdir's filler uses) of a directory. */
  readdir(path: string): { names: string[]; stats: Partial<FuseStat>[] } {
    const r = this.resolve(path);
    const names = ['.', '..'];
    const self = this.statOf(r);
    const parent = path === '/' ? self : this.statOf(this.resolve(path.slice(0, Math.max(1, path.lastIndexOf('/')))));
    const stats: Partial<FuseStat>[] = [{ mode: self.mode, ino: self.ino }, { mode: parent.mode, ino: parent.ino }];
    if (r.t === 'snapdir') {
      this.snapshotNames();
      for (const n of this.snapList!) {
        names.push(n);
        stats.push({ mode: S_IFMT.dir, ino: this.statOf(this.resolve(path + '/' + n)).ino });
      }
      return { names, stats };
    }
    if ((self.mode & 0o170000) !== S_IFMT.dir) throw new Errno(ENOTDIR);
    const list = r.view.readdir(r.node);
    let children: Map<string, bigint> | undefined;
    if (!r.children && list.length <= CHILDREN_MAX) children = r.children = new Map();
    for (const e of list) {
      // Same view, same TID: the entry a lookup of this name finds (the first one, in key order).
      if (children && !children.has(e.name)) children.set(e.name, e.objId);
      names.push(e.name);
      let kind = e.kind;
      if (!kind) {
        // The entry did not say: ask the inode (d_type drives `find -type` and ls colouring).
        const n = r.view.lookupObj(e.objId);
        kind = n ? r.view.attr(n).kind : 'file';
      }
      stats.push({ mode: S_IFMT[kind], ino: this.inos.ino(r.view.key, e.objId) });
    }
    return { names, stats };
  }

  open(path: string, flags: number): number {
    if ((flags & O_ACCMODE) !== O_RDONLY || (flags & O_TRUNC) !== 0) throw new Errno(EROFS);
    const r = this.resolve(path);
    if (r.t !== 'node') throw new Errno(EISDIR);
    const st = this.statOf(r);
    if ((st.mode & 0o170000) === S_IFMT.dir) throw new Errno(EISDIR);
    let fh = this.nextFh;
    while (this.handles.has(fh) || fh === 0) fh = (fh + 1) >>> 0;
    this.nextFh = (fh + 1) >>> 0;
    this.handles.set(fh, { view: r.view, node: r.node, readers: [], size: st.size, buf: null, bufPos: 0, bufLen: 0, lastEnd: -1, window: RA_MIN });
    return fh;
  }

  /** Bytes currently held in read-ahead buffers (all open files). */
  get readAheadBytes(): number {
    return this.raBytes;
  }

  release(fh: number): void {
    const h = this.handles.get(fh);
    if (h?.buf) this.raBytes -= h.buf.length;
    this.handles.delete(fh);
  }

  /** The reader of `h` that a read at `pos` continues best (else the least recently used one). */
  private readerFor(h: Handle, pos: number): FileReaderRef {
    const rs = h.readers;
    let best: FileReaderRef | undefined;
    for (const r of rs) if (r.continues(pos) && (!best || r.position > best.position)) best = r;
    if (!best) {
      if (rs.length < READERS_PER_FILE) best = h.view.reader(h.node);
      else best = rs.pop()!;
    } else {
      rs.splice(rs.indexOf(best), 1);
    }
    rs.unshift(best); // most recently used first
    return best;
  }

  /**
   * Copy file bytes at `pos` into `out` (the kernel's reply buffer). Sequential reads (each one
   * starting where the previous ended) fill a per-handle window that doubles up to RA_MAX, so a
   * large file streams in big B-Tree range scans while memory stays bounded per open file.
   */
  read(path: string, fh: number, out: Uint8Array, len: number, pos: number): number {
    let h = this.handles.get(fh);
    if (!h) {
      // Some kernels read through a file handle we never saw (e.g. after a failed open race);
      // serve it by path without read-ahead.
      const r = this.resolve(path);
      if (r.t !== 'node') throw new Errno(EISDIR);
      h = { view: r.view, node: r.node, readers: [], size: this.statOf(r).size, buf: null, bufPos: 0, bufLen: 0, lastEnd: -1, window: RA_MIN };
    }
    this.stats.reads++;
    if (pos >= h.size || len <= 0) return 0;
    const want = Math.min(len, h.size - pos);
    let done = 0;
    while (done < want) {
      const p = pos + done;
      if (h.buf && p >= h.bufPos && p < h.bufPos + h.bufLen) {
        const off = p - h.bufPos;
        const n = Math.min(want - done, h.bufLen - off);
        out.set(h.buf.subarray(off, off + n), done);
        done += n;
        continue;
      }
      const sequential = p === h.lastEnd || (h.buf !== null && p === h.bufPos + h.bufLen);
      if (!sequential || want - done >= DIRECT_MIN) {
        // Random access, or a request big enough to be worth its own read: exactly what was
        // asked, straight into the reply buffer.
        if (!sequential) h.window = RA_MIN;
        const n = this.readerFor(h, p).readInto(p, want - done, out, done);
        done += n;
        if (n === 0) break;
        continue;
      }
      h.window = Math.min(RA_MAX, h.window * 2);
      const span = Math.min(Math.max(h.window, want - done), h.size - p);
      if (!h.buf || h.buf.length < span) {
        // Grow the window buffer, within a budget shared by all open files: many files read
        // sequentially at once fall back to plain reads instead of piling up buffers.
        const have = h.buf ? h.buf.length : 0;
        if (this.raBytes - have + span > RA_BUDGET) {
          const n = this.readerFor(h, p).readInto(p, want - done, out, done);
          done += n;
          if (n === 0) break;
          continue;
        }
        this.raBytes += span - have;
        h.buf = new Uint8Array(span);
      }
      h.bufPos = p;
      try {
        h.bufLen = this.readerFor(h, p).readInto(p, span, h.buf, 0);
      } catch (e) {
        // Damage somewhere in the read-ahead window must not fail a request for bytes before
        // it: retry exactly the requested range (which throws if the damage is in there).
        h.bufLen = 0;
        h.window = RA_MIN;
        if (span <= want - done) throw e;
        const n = this.readerFor(h, p).readInto(p, want - done, out, done);
        done += n;
        if (n === 0) break;
        continue;
      }
      this.stats.raFills++;
      if (h.bufLen === 0) break;
    }
    h.lastEnd = pos + done;
    this.stats.readBytes += done;
    return done;
  }

  readlink(path: string): string {
    const r = this.resolve(path);
    if (r.t !== 'node' || this.attrOf(r).kind !== 'symlink') throw new Errno(EINVAL);
    return Buffer.from(r.view.readlink(r.node)).toString('utf8');
  }

  access(path: string, mode: number): void {
    this.resolve(path);
    if (mode & W_OK) throw new Errno(EROFS);
  }

  statfs(): { bsize: number; frsize: number; blocks: number; bfree: number; bavail: number; files: number; ffree: number; favail: number; fsid: number; flag: number; namemax: number } {
    const s = this.source.statfs();
    const u32 = (n: number) => Math.max(0, Math.min(0xffffffff, Math.floor(n)));
    // ST_RDONLY (1) | ST_NOSUID (2): what `mount -o ro,nosuid` would report.
    return {
      bsize: s.blockSize, frsize: s.blockSize, blocks: u32(s.blocks), bfree: u32(s.blocksFree), bavail: u32(s.blocksFree),
      files: u32(s.files), ffree: 0, favail: 0, fsid: 0, flag: 1 | 2, namemax: s.namemax,
    };
  }

  // ---------------------------------------------------------------- fuse-native glue

  /** Run `fn`, turning any throw into an errno (and a log line for damage or bugs). */
  private guard<T>(what: string, path: string, fn: () => T): { ok: true; v: T } | { ok: false; errno: number } {
    try {
      return { ok: true, v: fn() };
    } catch (e) {
      const { errno, log } = errnoFor(e, this.source.locate ? (off) => this.source.locate!(off) : undefined);
      if (log) {
        this.stats.errors++;
        const line = `${what} ${path}: ${log}`;
        if (!this.logged.has(line)) {
          if (this.logged.size > 1000) this.logged.clear();
          this.logged.add(line);
          this.opts.log(line);
        }
      }
      return { ok: false, errno };
    }
  }

  /**
   * The ops object for `new Fuse(mnt, ops, ...)`. Callback conventions are fuse-native's:
   * cb(0 | -errno, value) — except read, whose first argument is the byte count.
   */
  fuseOps(): Record<string, unknown> {
    type Cb = (code: number, ...v: unknown[]) => void;
    const erofs = (...args: unknown[]) => (args[args.length - 1] as Cb)(EROFS);
    return {
      init: (cb: Cb) => cb(0),
      getattr: (path: string, cb: Cb) => {
        const r = this.guard('getattr', path, () => this.getattr(path));
        return r.ok ? cb(0, r.v) : cb(r.errno);
      },
      readdir: (path: string, cb: Cb) => {
        const r = this.guard('readdir', path, () => this.readdir(path));
        return r.ok ? cb(0, r.v.names, r.v.stats) : cb(r.errno);
      },
      open: (path: string, flags: number, cb: Cb) => {
        const r = this.guard('open', path, () => this.open(path, flags));
        return r.ok ? cb(0, r.v) : cb(r.errno);
      },
      release: (path: string, fh: number, cb: Cb) => {
        this.release(fh);
        cb(0);
      },
      read: (path: string, fh: number, buf: Buffer, len: number, pos: number, cb: Cb) => {
        const r = this.guard('read', path, () => this.read(path, fh, buf, len, pos));
        return r.ok ? cb(r.v) : cb(r.errno);
      },
      readlink: (path: string, cb: Cb) => {
        const r = this.guard('readlink', path, () => this.readlink(path));
        return r.ok ? cb(0, r.v) : cb(r.errno);
      },
      access: (path: string, mode: number, cb: Cb) => {
        const r = this.guard('access', path, () => this.access(path, mode));
        return r.ok ? cb(0) : cb(r.errno);
      },
      statfs: (path: string, cb: Cb) => {
        const r = this.guard('statfs', path, () => this.statfs());
        return r.ok ? cb(0, r.v) : cb(r.errno);
      },
      // HAMMER has no extended attributes. ENOSYS (rather than ENODATA / an empty list) makes
      // the kernel stop asking for the rest of the mount and answer EOPNOTSUPP itself: `ls -l`
      // asks two xattrs (SELinux label, POSIX ACL) of every file, two round trips per file.
      getxattr: (path: string, name: string, pos: number, cb: Cb) => cb(ENOSYS),
      listxattr: (path: string, cb: Cb) => cb(ENOSYS),
      // Every operation that would change the filesystem: EROFS (the kernel already refuses most
      // of them on an `ro` mount; these cover the rest, e.g. utimens on a FUSE mount).
      write: (path: string, fh: number, buf: Buffer, len: number, pos: number, cb: Cb) => cb(EROFS),
      create: erofs, truncate: erofs, ftruncate: erofs, chown: erofs, chmod: erofs, mknod: erofs,
      setxattr: erofs, removexattr: erofs, unlink: erofs, rename: erofs, link: erofs, symlink: erofs,
      mkdir: erofs, rmdir: erofs, utimens: erofs, fsync: (...a: unknown[]) => (a[a.length - 1] as Cb)(0),
      flush: (...a: unknown[]) => (a[a.length - 1] as Cb)(0),
    };
  }

  /** Release everything (handles, caches); the source is closed by its owner. */
  close(): void {
    this.handles.clear();
    this.raBytes = 0;
    this.cache.clear();
  }
}

