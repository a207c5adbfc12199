/**
 * Devices layered over another device, for tests, fuzzing and dry runs: DeviceFilter delegates
 * everything (subclasses override readInto/write to inject faults or patches), and CowDevice is
 * a copy-on-write overlay — writes land in memory pages, reads see them over the untouched
 * inner device — so a pristine 1 GiB image can be cloned per crash point or per fuzz run
 * without copying it.
 */
import { IoError } from '../errors.js';
import type { BlockDevice, WritableBlockDevice } from './device.js';

export abstract class DeviceFilter implements BlockDevice {
  constructor(readonly inner: BlockDevice) {}
  get path(): string {
    return this.inner.path;
  }
  get size(): number {
    return this.inner.size;
  }
  get isBlockDevice(): boolean {
    return this.inner.isBlockDevice;
  }
  read(pos: number, len: number): Uint8Array {
    const b = new Uint8Array(len);
    this.readInto(b, pos);
    return b;
  }
  readInto(buf: Uint8Array, pos: number): void {
    this.inner.readInto(buf, pos);
  }
  /** The inner device is not closed: it usually outlives its filters. */
  close(): void {}
}

export class CowDevice extends DeviceFilter implements WritableBlockDevice {
  readonly writable = true as const;
  /** Every write, in order (position and length). */
  readonly writes: { pos: number; len: number }[] = [];
  constructor(
    inner: BlockDevice,
    readonly pageSize = 4096,
    /** page index -> page bytes; pages are replaced on write, never mutated, so clones share them */
    private pages = new Map<number, Uint8Array>(),
  ) {
    super(inner);
  }
  /** An independent overlay with the same content so far. */
  clone(): CowDevice {
    return new CowDevice(this.inner, this.pageSize, new Map(this.pages));
  }
  /** Forget every write: back to the inner device's content. */
  reset(): void {
    this.pages.clear();
    this.writes.length = 0;
  }
  /** Number of pages written so far. */
  get dirtyPages(): number {
    return this.pages.size;
  }
  override readInto(buf: Uint8Array, pos: number): void {
    this.inner.readInto(buf, pos);
    if (this.pages.size === 0 || buf.length === 0) return;
    const ps = this.pageSize;
    const first = Math.floor(pos / ps), last = Math.floor((pos + buf.length - 1) / ps);
    for (let i = first; i <= last; i++) {
      const p = this.pages.get(i);
      if (!p) continue;
      const start = i * ps;
      const s = Math.max(pos, start), e = Math.min(pos + buf.length, start + p.length);
      if (s < e) buf.set(p.subarray(s - start, e - start), s - pos);
    }
  }
  write(pos: number, d: Uint8Array): void {
    if (pos < 0 || pos + d.length > this.size) throw new IoError('write past end', { structure: 'device', path: this.path, rawOffset: pos });
    this.writes.push({ pos, len: d.length });
    if (d.length === 0) return;
    const ps = this.pageSize;
    const first = Math.floor(pos / ps), last = Math.floor((pos + d.length - 1) / ps);
    for (let i = first; i <= last; i++) {
      const start = i * ps;
      const page = this.pages.get(i)?.slice() ?? this.inner.read(start, Math.min(ps, this.size - start));
      const s = Math.max(pos, start), e = Math.min(pos + d.length, start + ps);
      page.set(d.subarray(s - pos, e - pos), s - start);
      this.pages.set(i, page);
    }
  }
  sync(): void {}
}
