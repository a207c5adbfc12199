/**
 * A read-only device of any declared size whose content is a few byte ranges over zeros. Lets
 * the fuzzers build volume sets of real (1 GiB) geometry from a 2 KiB header without allocating
 * the volume; reads past the declared size fail like a real device (ShortReadError).
 */
import { ShortReadError } from '../src/errors.js';
import type { BlockDevice } from '../src/io/device.js';

export class SparseDevice implements BlockDevice {
  readonly isBlockDevice = false;
  private readonly extents: { pos: number; bytes: Uint8Array }[] = [];
  reads = 0;
  constructor(
    readonly path: string,
    readonly size: number,
  ) {}
  /** Lay `bytes` at `pos` (later extents win where they overlap). */
  put(pos: number, bytes: Uint8Array): this {
    this.extents.push({ pos, bytes });
    return this;
  }
  read(pos: number, len: number): Uint8Array {
    const b = new Uint8Array(len);
    this.readInto(b, pos);
    return b;
  }
  readInto(buf: Uint8Array, pos: number): void {
    this.reads++;
    if (pos < 0 || pos + buf.length > this.size) throw new ShortReadError('short read', { structure: 'device', path: this.path, rawOffset: pos });
    buf.fill(0);
    const end = pos + buf.length;
    for (const e of this.extents) {
      const s = Math.max(pos, e.pos), t = Math.min(end, e.pos + e.bytes.length);
      if (s < t) buf.set(e.bytes.subarray(s - e.pos, t - e.pos), s - pos);
    }
  }
  close(): void {}
}
