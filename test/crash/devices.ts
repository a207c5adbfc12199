// Devices for crash testing: a copy-on-write overlay over a pristine image (cheap clones, so
// every crash point starts from the same state without copying a 1 GiB file), and a device that
// "loses power" at the Nth write across all volumes, optionally dropping a random subset of the
// writes issued since the last fsync (what a volatile disk cache may do).
import { IoError } from '../../src/errors.js';
import type { WritableBlockDevice } from '../../src/io/device.js';
import { CowDevice, DeviceFilter } from '../../src/io/device-filter.js';

// The copy-on-write overlay lives in src/io (shared with the fuzzers); re-exported for the harness.
export { CowDevice };

/** Shared write counter and crash plan for all volumes of one set. */
export class PowerCut {
  writes = 0;
  dead = false;
  constructor(
    /** 1-based index of the write at which power fails (Infinity = never). */
    readonly at: number,
    /** Keep unsynced writes with this probability at the crash (1 = all reach the media). */
    readonly keep: number,
    readonly rng: () => number,
  ) {}
}

export class CrashDevice extends DeviceFilter implements WritableBlockDevice {
  readonly writable = true as const;
  private pending: { pos: number; data: Uint8Array }[] = [];
  constructor(
    override readonly inner: WritableBlockDevice,
    readonly cut: PowerCut,
    private readonly peers: () => CrashDevice[],
  ) {
    super(inner);
  }
  override get isBlockDevice(): boolean {
    return false;
  }
  override readInto(buf: Uint8Array, pos: number): void {
    this.inner.readInto(buf, pos);
    for (const w of this.pending) {
      const s = Math.max(pos, w.pos), e = Math.min(pos + buf.length, w.pos + w.data.length);
      if (s < e) buf.set(w.data.subarray(s - w.pos, e - w.pos), s - pos);
    }
  }
  private fail(): never {
    throw new IoError('power cut (simulated)', { structure: 'device', path: this.path });
  }
  write(pos: number, d: Uint8Array): void {
    if (this.cut.dead) this.fail();
    this.cut.writes++;
    this.pending.push({ pos, data: d.slice() });
    if (this.cut.writes >= this.cut.at) {
      this.cut.dead = true;
      for (const p of this.peers()) p.crash();
      this.fail();
    }
  }
  /** Power fails: each unsynced write lands or not. */
  private crash(): void {
    for (const w of this.pending) if (this.cut.rng() < this.cut.keep) this.inner.write(w.pos, w.data);
    this.pending = [];
  }
  sync(): void {
    if (this.cut.dead) this.fail();
    for (const w of this.pending) this.inner.write(w.pos, w.data);
    this.pending = [];
  }
}

/** Wrap every volume of a set in CrashDevices sharing one PowerCut. */
export function crashSet(inners: WritableBlockDevice[], cut: PowerCut): CrashDevice[] {
  const devs: CrashDevice[] = [];
  for (const d of inners) devs.push(new CrashDevice(d, cut, () => devs));
  return devs;
}
