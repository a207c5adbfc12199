/**
 * Devices for tests and tools: an in-memory volume, and a fault-injecting wrapper that fails
 * the Nth read or write (EIO / ENOSPC / short write), after e2fsprogs' test_io.
 */
import { IoError, NoSpaceError, ShortReadError } from '../errors.js';
import type { BlockDevice, WritableBlockDevice } from './device.js';

export class MemoryDevice implements WritableBlockDevice {
  readonly writable = true as const;
  readonly isBlockDevice = false;
  constructor(
    readonly path: string,
    readonly data: Uint8Array,
  ) {}
  get size() {
    return this.data.length;
  }
  read(pos: number, len: number): Uint8Array {
    const b = new Uint8Array(len);
    this.readInto(b, pos);
    return b;
  }
  readInto(buf: Uint8Array, pos: number): void {
    if (pos < 0 || pos + buf.length > this.data.length) throw new ShortReadError('short read', { structure: 'device', path: this.path, rawOffset: pos });
    buf.set(this.data.subarray(pos, pos + buf.length));
  }
  write(pos: number, d: Uint8Array): void {
    if (pos < 0 || pos + d.length > this.data.length) throw new IoError('write past end', { structure: 'device', path: this.path, rawOffset: pos });
    this.data.set(d, pos);
  }
  sync(): void {}
  close(): void {}
}

export type Fault = 'EIO' | 'ENOSPC' | 'short';
export interface FaultPlan {
  /** Fail the Nth (1-based) read; undefined = never. */
  failReadAt?: number;
  /** Fail the Nth (1-based) write and every write after it (the device "died"). */
  failWriteAt?: number;
  writeFault?: Fault;
}

/** Wraps a device; counts reads/writes and fails as planned. */
export class FaultDevice implements WritableBlockDevice {
  readonly writable = true as const;
  reads = 0;
  writes = 0;
  constructor(
    readonly inner: BlockDevice & Partial<WritableBlockDevice>,
    readonly plan: FaultPlan,
  ) {}
  get path() { return this.inner.path; }
  get size() { return this.inner.size; }
  get isBlockDevice() { return this.inner.isBlockDevice; }
  read(pos: number, len: number): Uint8Array {
    const b = new Uint8Array(len);
    this.readInto(b, pos);
    return b;
  }
  readInto(buf: Uint8Array, pos: number): void {
    this.reads++;
    if (this.plan.failReadAt !== undefined && this.reads === this.plan.failReadAt) {
      throw new IoError('injected read fault (EIO)', { structure: 'device', path: this.path, rawOffset: pos });
    }
    this.inner.readInto(buf, pos);
  }
  write(pos: number, d: Uint8Array): void {
    this.writes++;
    if (this.plan.failWriteAt !== undefined && this.writes >= this.plan.failWriteAt) {
      const f = this.plan.writeFault ?? 'EIO';
      const where = { structure: 'device', path: this.path, rawOffset: pos };
      if (f === 'short' && this.writes === this.plan.failWriteAt && d.length > 1) {
        this.inner.write!(pos, d.subarray(0, d.length >> 1));
      }
      if (f === 'ENOSPC') throw new NoSpaceError('injected write fault (ENOSPC)', where);
      throw new IoError(`injected write fault (${f})`, where);
    }
    this.inner.write!(pos, d);
  }
  sync(): void {
    if (this.plan.failWriteAt !== undefined && this.writes >= this.plan.failWriteAt) {
      throw new IoError('injected fsync fault', { structure: 'device', path: this.path });
    }
    this.inner.sync?.();
  }
  close(): void {
    this.inner.close();
  }
}
