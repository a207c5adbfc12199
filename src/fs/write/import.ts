/**
 * import: copy a local directory tree into a HAMMER PFS, like makefs does for an image:
 * regular files (holes kept: all-zero whole blocks are not written), directories, symlinks,
 * hard links (same st_dev/st_ino -> one inode, more directory entries), fifos, sockets and
 * device nodes, with modes, owners and times (µs) of the source.
 *
 * Transactions: the writer runs with autoCommit off and commits whenever the open transaction
 * holds `batchBytes` of changed buffers (a transaction keeps its dirty buffers in memory), and
 * once at the end. Every commit is a consistent state: a crash keeps a prefix of the import.
 * Names are taken as raw bytes (readdir with buffer encoding), never re-encoded.
 */
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { IoError, UsageError, NotDirectoryError } from '../../errors.js';
import { HAMMER_OBJTYPE_DIRECTORY } from '../../ondisk/constants.js';
import type { HammerWriter, NewAttrs } from './writer.js';

export interface ImportOptions {
  /** Skip all-zero whole blocks (keep holes). Default true. */
  sparse?: boolean;
  /** Copy uid/gid (default true). */
  owners?: boolean;
  /** Commit when the open transaction holds this many changed bytes (default: the writer's). */
  batchBytes?: number;
  /** Called after every object (and every MiB of a big file). */
  progress?: (p: ImportStats) => void;
}

export interface ImportStats {
  files: number;
  dirs: number;
  symlinks: number;
  hardlinks: number;
  special: number;
  bytes: number;
  /** Bytes of all-zero blocks left as holes. */
  holeBytes: number;
  commits: number;
  /** obj_id of the import's top directory. */
  topObjId: bigint;
}

/** Read size per syscall; a multiple of every block size. */
const CHUNK = 1024 * 1024;

const us = (ns: bigint) => ns / 1000n;

function attrsOf(st: fs.BigIntStats, owners: boolean): NewAttrs {
  return {
    mode: Number(st.mode & 0o7777n),
    uid: owners ? Number(st.uid) : 0,
    gid: owners ? Number(st.gid) : 0,
    mtime: us(st.mtimeNs),
    atime: us(st.atimeNs),
    ctime: us(st.ctimeNs),
  };
}

/** Linux dev_t -> major/minor (glibc's gnu_dev_major/minor layout). */
function devParts(rdev: bigint): { rmajor: number; rminor: number } {
  const major = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn)) >>> 0;
  const minor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn)) >>> 0;
  return { rmajor: major, rminor: minor };
}

function ioError(e: unknown, p: string | Buffer): IoError {
  const code = (e as NodeJS.ErrnoException).code ?? 'error';
  return new IoError(`cannot read source (${code})`, { structure: 'import source', path: String(p) }, { cause: e });
}

/**
 * Copy `srcDir` into the PFS at `destPath` (created with parents if missing; an existing
 * directory receives the tree's contents). Returns what was copied.
 */
export function importTree(w: HammerWriter, srcDir: string, destPath: string, o: ImportOptions = {}): ImportStats {
  const sparse = o.sparse ?? true;
  const owners = o.owners ?? true;
  const stats: ImportStats = { files: 0, dirs: 0, symlinks: 0, hardlinks: 0, special: 0, bytes: 0, holeBytes: 0, commits: 0, topObjId: 0n };
  let top: fs.BigIntStats;
  try {
    top = fs.statSync(srcDir, { bigint: true });
  } catch (e) {
    throw ioError(e, srcDir);
  }
  if (!top.isDirectory()) throw new NotDirectoryError('import source is not a directory', { structure: 'import source', path: srcDir });
  const saved = { auto: w.autoCommit, batch: w.batchBytes };
  w.autoCommit = false;
  if (o.batchBytes !== undefined) w.batchBytes = o.batchBytes;
  const commits0 = w.commits;
  const seen = new Map<string, bigint>(); // "dev:ino" of multiply-linked sources -> obj_id
  const buf = Buffer.allocUnsafe(CHUNK);
  const tick = () => {
    if (w.maybeCommit()) stats.commits = w.commits - commits0;
    o.progress?.(stats);
  };

  const copyFile = (src: Buffer, objId: bigint, size: number) => {
    let fd: number;
    try {
      fd = fs.openSync(src, 'r');
    } catch (e) {
      throw ioError(e, src);
    }
    try {
      let off = 0;
      while (off < size) {
        let n: number;
        try {
          n = fs.readSync(fd, buf, 0, Math.min(CHUNK, size - off), off);
        } catch (e) {
          throw ioError(e, src);
        }
        if (n === 0) break; // the file shrank while we read it: keep what we got
        const chunk = buf.subarray(0, n);
        w.writeById(objId, off, chunk, { sparse });
        off += n;
        stats.bytes += n;
        tick();
      }
      // a trailing hole (or a file that shrank) still has the source's size
      if (off < size) w.truncateById(objId, size);
    } finally {
      fs.closeSync(fd);
    }
  };

  const walk = (src: Buffer, dirId: bigint) => {
    let names: Buffer[];
    try {
      names = fs.readdirSync(src, { encoding: 'buffer' }) as Buffer[];
    } catch (e) {
      throw ioError(e, src);
    }
    names.sort(Buffer.compare);
    for (const name of names) {
      const p = Buffer.concat([src, Buffer.from('/'), name]);
      let st: fs.BigIntStats;
      try {
        st = fs.lstatSync(p, { bigint: true });
      } catch (e) {
        throw ioError(e, p);
      }
      const a = attrsOf(st, owners);
      if (st.isDirectory()) {
        const id = w.createIn(dirId, name, 'dir', a);
        stats.dirs++;
        walk(p, id);
        // entries added below changed its mtime: put the source's back
        w.setattrById(id, { mtime: a.mtime, atime: a.atime });
        tick();
        continue;
      }
      const linkKey = st.nlink > 1n ? `${st.dev}:${st.ino}` : '';
      const prev = linkKey ? seen.get(linkKey) : undefined;
      if (prev !== undefined) {
        w.linkIn(dirId, name, prev);
        w.setattrById(prev, { ctime: a.ctime });
        stats.hardlinks++;
        tick();
        continue;
      }
      let id: bigint;
      if (st.isFile()) {
        id = w.createIn(dirId, name, 'file', a);
        const size = Number(st.size);
        copyFile(p, id, size);
        const hole = Number(st.size) - Number(st.blocks * 512n);
        if (sparse && hole > 0) stats.holeBytes += hole;
        w.setattrById(id, { mtime: a.mtime, atime: a.atime, ctime: a.ctime });
        stats.files++;
      } else if (st.isSymbolicLink()) {
        let target: Buffer;
        try {
          target = fs.readlinkSync(p, { encoding: 'buffer' });
        } catch (e) {
          throw ioError(e, p);
        }
        id = w.createIn(dirId, name, 'symlink', a, target);
        stats.symlinks++;
      } else if (st.isFIFO()) {
        id = w.createIn(dirId, name, 'fifo', a);
        stats.special++;
      } else if (st.isSocket()) {
        id = w.createIn(dirId, name, 'socket', a);
        stats.special++;
      } else if (st.isCharacterDevice() || st.isBlockDevice()) {
        id = w.createIn(dirId, name, st.isCharacterDevice() ? 'chr' : 'blk', { ...a, ...devParts(st.rdev) });
        stats.special++;
      } else {
        continue;
      }
      if (linkKey) seen.set(linkKey, id);
      tick();
    }
  };

  try {
    let topId: bigint;
    const ex = w.lookup(destPath);
    if (ex) {
      if (ex.objType !== HAMMER_OBJTYPE_DIRECTORY) throw new UsageError('import destination exists and is not a directory', { structure: 'import destination', path: destPath });
      topId = ex.objId;
    } else {
      topId = w.mkdir(destPath, { ...attrsOf(top, owners), parents: true });
    }
    stats.topObjId = topId;
    walk(Buffer.from(nodePath.resolve(srcDir)), topId);
    if (!ex) w.setattrById(topId, { mtime: us(top.mtimeNs), atime: us(top.atimeNs) });
    w.commit();
    stats.commits = w.commits - commits0;
    o.progress?.(stats);
    return stats;
  } catch (e) {
    w.abort();
    throw e;
  } finally {
    w.autoCommit = saved.auto;
    w.batchBytes = saved.batch;
  }
}
