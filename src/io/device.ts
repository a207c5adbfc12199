/**
 * Block devices: image files, loop devices and /dev nodes, with synchronous positional I/O.
 *
 * Synchronous on purpose: every B-Tree step needs the previous node, so async reads only add a
 * thread-pool round trip per buffer (measured ~3x slower on a full walk) and async plumbing in
 * every layer above. The read-only/write split lives in the types: BlockDevice can only read;
 * WritableBlockDevice comes only from openDeviceForWrite(), which holds an exclusive lock.
 *
 * Locks: image files and device nodes take flock(2) (shared for readers, exclusive for writers,
 * non-blocking). Block devices opened for writing also use O_EXCL, which Linux turns into an
 * exclusive claim on the device (fails with EBUSY if mounted or claimed by another process).
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import { IoError, LockedError, ShortReadError } from '../errors.js';

const require = createRequire(import.meta.url);
type FsExt = {
  flockSync(fd: number, flags: 'sh' | 'ex' | 'shnb' | 'exnb' | 'un'): void;
  seekSync(fd: number, offset: number, whence: number): number;
};
let fsExt: FsExt | null | undefined;
function loadFsExt(): FsExt | null {
  if (fsExt === undefined) {
    try {
      fsExt = require('fs-ext') as FsExt;
    } catch {
      fsExt = null;
    }
  }
  return fsExt;
}

export interface BlockDevice {
  readonly path: string;
  /** Size in bytes (from the device itself for block devices, not stat). */
  readonly size: number;
  readonly isBlockDevice: boolean;
  /** Read exactly `len` bytes at `pos`; ShortReadError past the end. */
  read(pos: number, len: number): Uint8Array;
  /** Fill `buf` from `pos`. */
  readInto(buf: Uint8Array, pos: number): void;
  close(): void;
}
export interface WritableBlockDevice extends BlockDevice {
  readonly writable: true;
  write(pos: number, data: Uint8Array): void;
  sync(): void;
}

export type LockMode = 'shared' | 'exclusive' | 'none';

export interface OpenOptions {
  /** Default: 'shared' for readers. 'none' is for forensics on media another process holds. */
  lock?: LockMode;
}

function deviceSize(fd: number, st: fs.Stats, path: string): number {
  if (!st.isBlockDevice()) return st.size;
  const ext = loadFsExt();
  if (ext) {
    const end = ext.seekSync(fd, 0, 2 /* SEEK_END */);
    ext.seekSync(fd, 0, 0);
    return end;
  }
  // Fallback without the addon: /sys/dev/block/MAJ:MIN/size counts 512-byte sectors.
  const maj = Math.floor(st.rdev / 256) & 0xfff, min = (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00);
  try {
    return Number(fs.readFileSync(`/sys/dev/block/${maj}:${min}/size`, 'utf8').trim()) * 512;
  } catch (e) {
    throw new IoError('cannot determine block device size', { structure: 'device', path }, { cause: e });
  }
}

function takeLock(fd: number, mode: LockMode, path: string): void {
  if (mode === 'none') return;
  const ext = loadFsExt();
  if (!ext) {
    if (mode === 'exclusive') throw new LockedError('cannot lock for writing: the fs-ext addon is not installed', { structure: 'device', path });
    return;
  }
  try {
    ext.flockSync(fd, mode === 'exclusive' ? 'exnb' : 'shnb');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EAGAIN' || code === 'EWOULDBLOCK') {
      throw new LockedError(
        mode === 'exclusive'
          ? 'volume is in use by another process (flock held); refusing to write'
          : 'volume is being written by another process (exclusive flock held); use --no-lock to look anyway',
        { structure: 'device', path },
      );
    }
    throw new IoError(`flock failed: ${code}`, { structure: 'device', path }, { cause: e });
  }
}

function ioError(e: unknown, what: string, path: string, pos?: number): IoError {
  const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
  return new IoError(`${what} failed (${code})`, { structure: 'device', path, rawOffset: pos }, { cause: e });
}

class FileDevice implements BlockDevice {
  constructor(
    readonly path: string,
    protected fd: number,
    readonly size: number,
    readonly isBlockDevice: boolean,
  ) {}
  read(pos: number, len: number): Uint8Array {
    const b = new Uint8Array(len);
    this.readInto(b, pos);
    return b;
  }
  readInto(buf: Uint8Array, pos: number): void {
    if (pos < 0 || pos + buf.length > this.size) {
      throw new ShortReadError(`read of ${buf.length} bytes past the end of the device (size ${this.size})`, {
        structure: 'device', path: this.path, rawOffset: pos,
      });
    }
    let done = 0;
    while (done < buf.length) {
      let n: number;
      try {
        n = fs.readSync(this.fd, buf, done, buf.length - done, pos + done);
      } catch (e) {
        throw ioError(e, 'read', this.path, pos + done);
      }
      if (n === 0) throw new ShortReadError('short read', { structure: 'device', path: this.path, rawOffset: pos + done });
      done += n;
    }
  }
  close(): void {
    if (this.fd >= 0) {
      try {
        fs.closeSync(this.fd);
      } finally {
        this.fd = -1;
      }
    }
  }
}

class WritableFileDevice extends FileDevice implements WritableBlockDevice {
  readonly writable = true as const;
  write(pos: number, data: Uint8Array): void {
    if (pos < 0 || pos + data.length > this.size) {
      throw new IoError(`write of ${data.length} bytes past the end of the device`, { structure: 'device', path: this.path, rawOffset: pos });
    }
    let done = 0;
    while (done < data.length) {
      try {
        done += fs.writeSync(this.fd, data, done, data.length - done, pos + done);
      } catch (e) {
        throw ioError(e, 'write', this.path, pos + done);
      }
    }
  }
  sync(): void {
    try {
      fs.fsyncSync(this.fd);
    } catch (e) {
      throw ioError(e, 'fsync', this.path);
    }
  }
}

function openFd(path: string, flags: number): number {
  try {
    return fs.openSync(path, flags);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EBUSY') throw new LockedError('device is busy (mounted, or opened exclusively by another process)', { structure: 'device', path });
    throw new IoError(`cannot open (${code})`, { structure: 'device', path }, { cause: e });
  }
}

/** Open read-only with a shared lock (unless lock: 'none'). */
export function openDevice(path: string, o: OpenOptions = {}): BlockDevice {
  const fd = openFd(path, fs.constants.O_RDONLY);
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile() && !st.isBlockDevice()) throw new IoError('not a regular file or block device', { structure: 'device', path });
    takeLock(fd, o.lock ?? 'shared', path);
    return new FileDevice(path, fd, deviceSize(fd, st, path), st.isBlockDevice());
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}

/** Open read-write holding an exclusive lock; O_EXCL on block devices. */
export function openDeviceForWrite(path: string): WritableBlockDevice {
  let st: fs.Stats;
  try {
    st = fs.statSync(path);
  } catch (e) {
    throw ioError(e, 'stat', path);
  }
  const flags = fs.constants.O_RDWR | (st.isBlockDevice() ? fs.constants.O_EXCL : 0);
  const fd = openFd(path, flags);
  try {
    const fst = fs.fstatSync(fd);
    if (!fst.isFile() && !fst.isBlockDevice()) throw new IoError('not a regular file or block device', { structure: 'device', path });
    takeLock(fd, 'exclusive', path);
    return new WritableFileDevice(path, fd, deviceSize(fd, fst, path), fst.isBlockDevice());
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}
