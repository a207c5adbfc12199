/**
 * Buffer cache of 16 KiB buffers keyed by (volume, byte position), LRU with a byte budget, after
 * sbin/hammer's cache.c. Each buffer carries one DataView created once, so decoders take
 * (dv, offset) and never build views per field. Knows nothing about HAMMER.
 */
import type { BlockDevice } from './device.js';

export const CACHE_BUFSIZE = 16384;

export interface CachedBuffer {
  readonly vol: number;
  readonly pos: number; // device byte position, 16 KiB aligned relative to the volume's buffer grid
  readonly bytes: Uint8Array;
  readonly dv: DataView;
}

export class BufferCache {
  private map = new Map<number, CachedBuffer>();
  hits = 0;
  misses = 0;
  /**
   * Bumped whenever cached bytes are changed or dropped from outside (update, invalidate,
   * clear): facts derived from cached or device bytes (data CRC verdicts, positioned readers)
   * are only reused while it stays the same.
   */
  writeGen = 0;
  constructor(
    private readonly devices: readonly BlockDevice[],
    private readonly budgetBytes = 64 * 1024 * 1024,
  ) {}
  private key(vol: number, pos: number): number {
    // pos < 2^52 bytes and is 16 KiB aligned: pos/16384 < 2^38, times 256 volumes stays < 2^53.
    return (pos / CACHE_BUFSIZE) * 256 + vol;
  }
  /** The buffer starting at `pos` (must be 16 KiB aligned) of volume `vol`. */
  get(vol: number, pos: number): CachedBuffer {
    const k = this.key(vol, pos);
    const hit = this.map.get(k);
    if (hit) {
      this.hits++;
      this.map.delete(k);
      this.map.set(k, hit);
      return hit;
    }
    this.misses++;
    const bytes = this.devices[vol].read(pos, CACHE_BUFSIZE);
    const b: CachedBuffer = { vol, pos, bytes, dv: new DataView(bytes.buffer, bytes.byteOffset, bytes.length) };
    this.map.set(k, b);
    if (this.map.size * CACHE_BUFSIZE > this.budgetBytes) {
      const oldest = this.map.keys().next().value as number;
      this.map.delete(oldest);
    }
    return b;
  }
  /**
   * True when get() returns exactly what the devices hold (this class, not a subclass that puts
   * private copies in front, like the write overlay): readers may then read large spans straight
   * from the device into their own memory, bypassing (and not polluting) the cache.
   */
  get mirrorsDevices(): boolean {
    return this.get === BufferCache.prototype.get;
  }
  /** The device behind volume `vol` (for reads that bypass the cache; see mirrorsDevices). */
  device(vol: number): BlockDevice {
    return this.devices[vol];
  }
  /** Drop a cached buffer (after a write that bypassed it). */
  invalidate(vol: number, pos: number): void {
    this.writeGen++;
    this.map.delete(this.key(vol, pos - (pos % CACHE_BUFSIZE)));
  }
  /** If the buffer holding [pos, pos+data.length) is cached, update it in place (write-through). */
  update(vol: number, pos: number, data: Uint8Array): void {
    this.writeGen++;
    let done = 0;
    while (done < data.length) {
      const p = pos + done;
      const base = p - (p % CACHE_BUFSIZE);
      const n = Math.min(data.length - done, base + CACHE_BUFSIZE - p);
      const b = this.map.get(this.key(vol, base));
      if (b) b.bytes.set(data.subarray(done, done + n), p - base);
      done += n;
    }
  }
  clear(): void {
    this.writeGen++;
    this.map.clear();
  }
  get sizeBytes(): number {
    return this.map.size * CACHE_BUFSIZE;
  }
}
