/**
 * Copy a subtree of the filesystem view to the local disk: directories, regular files (streamed in
 * 1 MiB chunks: bounded memory whatever the size), symlinks (stored target bytes), hardlinks (a
 * second name of an obj_id already written becomes link(2) to the first), FIFOs (mkfifo(1)),
 * device nodes (mknod(1), root only; otherwise reported), sockets (reported: a socket cannot be
 * recreated without a listening process). Permission bits are applied, then atime/mtime, and
 * uid/gid when running as root. Directories get their mode and times after their contents are
 * written, so read-only directories and mtimes survive.
 *
 * This is the one place in src/fs that writes host files; it never writes the HAMMER volumes.
 * Names are handled as bytes (Buffer paths), so names that are not UTF-8 are kept exactly.
 */
import * as nodefs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { IoError } from '../errors.js';
import type { HammerFs, Inode } from './index.js';

export interface ExtractReport {
  dirs: number;
  files: number;
  bytes: number;
  symlinks: number;
  hardlinks: number;
  fifos: number;
  devices: number;
  /** Things that could not be recreated (path inside the filesystem), with why. */
  skipped: { path: string; reason: string }[];
}

export interface ExtractOptions {
  /** Called after every file chunk and every object (bytes so far, objects so far). */
  onProgress?: (bytes: number, objects: number) => void;
  /** Set uid/gid (default: when running as root). */
  chown?: boolean;
}

const SLASH = Buffer.from('/');
const join = (a: Buffer, b: Uint8Array) => Buffer.concat([a, SLASH, b]);

function hostErr(e: unknown, what: string, p: Buffer): IoError {
  const code = (e as NodeJS.ErrnoException)?.code ?? 'error';
  return new IoError(`cannot ${what} (${code})`, { structure: `local file ${p.toString('utf8')}` }, { cause: e });
}

function setTimes(p: Buffer, ino: Inode, link: boolean): void {
  // µs -> seconds as a double loses nothing visible below a microsecond for present-day dates.
  const at = Number(ino.atime) / 1e6;
  const mt = Number(ino.mtime) / 1e6;
  if (link) nodefs.lutimesSync(p, at, mt);
  else nodefs.utimesSync(p, at, mt);
}

/**
 * What extracting `path` would write: bytes of file data (each hardlinked inode once) and number
 * of objects. One inode load per entry; used to give a progress display a total.
 */
export function subtreeTotals(fs: HammerFs, path: string): { bytes: number; objects: number } {
  const seen = new Set<bigint>();
  let bytes = 0;
  let objects = 0;
  const onPath = new Set<bigint>(); // directory loops in a damaged tree must not recurse forever
  const visit = (ino: Inode) => {
    objects++;
    if (ino.type === 'dir' || ino.type === 'pfs') {
      if (onPath.has(ino.objId)) return;
      onPath.add(ino.objId);
      for (const e of fs.entries(ino)) {
        const c = fs.inode(e.objId, ino.viewTid);
        if (c) visit(c);
      }
      onPath.delete(ino.objId);
    } else if ((ino.type === 'file' || ino.type === 'dbfile') && !seen.has(ino.objId)) {
      if (ino.nlinks > 1n) seen.add(ino.objId);
      bytes += Number(ino.size);
    }
  };
  visit(fs.resolve(path).inode);
  return { bytes, objects };
}

/**
 * Extract what `path` names in `fs` to `dest`: a directory's contents go into `dest` (created if
 * missing); anything else is written as `dest/<its name>`. Throws IoError on host I/O failures,
 * HAMMER errors on damaged records; objects that cannot be made are listed in `skipped`.
 */
export function extractTree(fs: HammerFs, path: string, dest: string, o: ExtractOptions = {}): ExtractReport {
  const rep: ExtractReport = { dirs: 0, files: 0, bytes: 0, symlinks: 0, hardlinks: 0, fifos: 0, devices: 0, skipped: [] };
  const root = (process.getuid?.() ?? 1) === 0;
  const doChown = o.chown ?? root;
  const linked = new Map<bigint, Buffer>();
  const onPath = new Set<bigint>(); // directories being extracted above the current object
  let objects = 0;
  const progress = () => o.onProgress?.(rep.bytes, objects);

  const attrs = (p: Buffer, ino: Inode, isLink: boolean) => {
    try {
      if (doChown) nodefs.lchownSync(p, ino.uid, ino.gid);
      if (!isLink) nodefs.chmodSync(p, ino.mode);
      setTimes(p, ino, isLink);
    } catch (e) {
      throw hostErr(e, 'set attributes', p);
    }
  };

  const writeFile = (p: Buffer, ino: Inode) => {
    let fd: number;
    try {
      fd = nodefs.openSync(p, 'wx', 0o600);
    } catch (e) {
      throw hostErr(e, 'create file', p);
    }
    try {
      for (const chunk of fs.stream(ino)) {
        let done = 0;
        while (done < chunk.length) done += nodefs.writeSync(fd, chunk, done, chunk.length - done);
        rep.bytes += chunk.length;
        progress();
      }
    } catch (e) {
      if (e instanceof Error && 'where' in e) throw e;
      throw hostErr(e, 'write file', p);
    } finally {
      nodefs.closeSync(fd);
    }
  };

  // p: local path; shown: the path inside the filesystem, for reports.
  const one = (p: Buffer, ino: Inode, shown: string) => {
    objects++;
    switch (ino.type) {
      case 'dir':
      case 'pfs': {
        try {
          nodefs.mkdirSync(p, { recursive: true, mode: 0o700 });
        } catch (e) {
          throw hostErr(e, 'create directory', p);
        }
        rep.dirs++;
        for (const e of fs.entries(ino)) {
          // Stored names never hold '/' or NUL and are never "." or ".."; refuse them if a damaged
          // image says otherwise, rather than write outside dest.
          const n = Buffer.from(e.name);
          if (n.length === 0 || n.includes(0x2f) || n.includes(0) || n.equals(Buffer.from('.')) || n.equals(Buffer.from('..'))) {
            rep.skipped.push({ path: (shown === '/' ? '' : shown) + '/' + e.nameStr, reason: 'invalid name in directory entry' });
            continue;
          }
          const child = fs.inode(e.objId, ino.viewTid);
          if (!child) {
            rep.skipped.push({ path: (shown === '/' ? '' : shown) + '/' + e.nameStr, reason: 'directory entry points at an inode that is not visible' });
            continue;
          }
          if (onPath.has(child.objId)) {
            // A damaged tree: a directory containing itself or an ancestor. Don't follow it.
            rep.skipped.push({ path: (shown === '/' ? '' : shown) + '/' + e.nameStr, reason: 'directory loop (entry names a directory that contains it)' });
            continue;
          }
          onPath.add(ino.objId);
          one(join(p, n), child, (shown === '/' ? '' : shown) + '/' + e.nameStr);
          onPath.delete(ino.objId);
        }
        attrs(p, ino, false);
        break;
      }
      case 'file':
      case 'dbfile': {
        const first = linked.get(ino.objId);
        if (first) {
          try {
            nodefs.linkSync(first, p);
          } catch (e) {
            throw hostErr(e, 'create hard link', p);
          }
          rep.hardlinks++;
          break;
        }
        writeFile(p, ino);
        attrs(p, ino, false);
        if (ino.nlinks > 1n) linked.set(ino.objId, p);
        rep.files++;
        break;
      }
      case 'symlink': {
        // Read the target first: a damaged record is a HAMMER error, not a host one.
        const target = Buffer.from(fs.readlink(ino));
        try {
          nodefs.symlinkSync(target, p);
        } catch (e) {
          throw hostErr(e, 'create symlink', p);
        }
        attrs(p, ino, true);
        rep.symlinks++;
        break;
      }
      case 'fifo': {
        const r = spawnSync('mkfifo', ['-m', '600', p.toString('utf8')], { stdio: 'ignore' });
        if (r.status !== 0) {
          rep.skipped.push({ path: shown, reason: 'mkfifo failed' });
          break;
        }
        attrs(p, ino, false);
        rep.fifos++;
        break;
      }
      case 'chr':
      case 'blk': {
        if (!root) {
          rep.skipped.push({ path: shown, reason: `${ino.type === 'chr' ? 'character' : 'block'} device ${ino.rmajor},${ino.rminor}: mknod needs root` });
          break;
        }
        const r = spawnSync('mknod', ['-m', '600', p.toString('utf8'), ino.type === 'chr' ? 'c' : 'b', String(ino.rmajor), String(ino.rminor)], { stdio: 'ignore' });
        if (r.status !== 0) {
          rep.skipped.push({ path: shown, reason: `mknod ${ino.rmajor},${ino.rminor} failed` });
          break;
        }
        attrs(p, ino, false);
        rep.devices++;
        break;
      }
      default:
        rep.skipped.push({ path: shown, reason: `${ino.type} cannot be recreated` });
    }
    progress();
  };

  const r = fs.resolve(path);
  let ino = r.inode;
  if (ino.type === 'symlink' && /\/$/.test(path)) ino = fs.resolve(path, { follow: true }).inode;
  const d = Buffer.from(dest);
  const shownRoot = path.replace(/\/+$/, '') || '/';
  if (ino.type === 'dir' || ino.type === 'pfs') one(d, ino, shownRoot);
  else {
    try {
      nodefs.mkdirSync(d, { recursive: true });
    } catch (e) {
      throw hostErr(e, 'create directory', d);
    }
    const name = r.entry ? Buffer.from(r.entry.name) : Buffer.from('root');
    one(join(d, name), ino, shownRoot);
  }
  return rep;
}
