// src/io: MemoryDevice / FaultDevice semantics, the buffer cache, file locks (EAGAIN -> LockedError).
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MemoryDevice, FaultDevice } from '../../../src/io/memory-device.js';
import { BufferCache, CACHE_BUFSIZE } from '../../../src/io/cache.js';
import { openDevice, openDeviceForWrite } from '../../../src/io/device.js';
import { IoError, LockedError, NoSpaceError, ShortReadError } from '../../../src/errors.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hammerfs-io-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('MemoryDevice', () => {
  it('reads what was written; short reads are ShortReadError with the position', () => {
    const d = new MemoryDevice('mem', new Uint8Array(1024));
    d.write(100, Uint8Array.of(1, 2, 3));
    expect([...d.read(99, 5)]).toEqual([0, 1, 2, 3, 0]);
    expect(() => d.read(1020, 8)).toThrow(ShortReadError);
    try {
      d.read(1020, 8);
    } catch (e) {
      expect((e as ShortReadError).where).toMatchObject({ path: 'mem', rawOffset: 1020 });
    }
    expect(() => d.write(1023, Uint8Array.of(1, 2))).toThrow(IoError);
  });
});

describe('FaultDevice', () => {
  it('fails exactly the Nth read with a typed I/O error', () => {
    const f = new FaultDevice(new MemoryDevice('m', new Uint8Array(64)), { failReadAt: 3 });
    f.read(0, 8);
    f.read(8, 8);
    expect(() => f.read(16, 8)).toThrow(IoError);
    expect(f.read(16, 8)).toHaveLength(8);
    expect(f.reads).toBe(4);
  });
  it('after the Nth write every write fails; ENOSPC and short writes as planned', () => {
    const inner = new MemoryDevice('m', new Uint8Array(64));
    const f = new FaultDevice(inner, { failWriteAt: 2, writeFault: 'short' });
    f.write(0, Uint8Array.of(9));
    expect(() => f.write(10, Uint8Array.of(1, 2, 3, 4))).toThrow(IoError);
    expect([...inner.data.subarray(10, 14)]).toEqual([1, 2, 0, 0]); // half was written
    expect(() => f.write(20, Uint8Array.of(1))).toThrow(IoError);
    expect(() => f.sync()).toThrow(IoError);
    const g = new FaultDevice(new MemoryDevice('m', new Uint8Array(64)), { failWriteAt: 1, writeFault: 'ENOSPC' });
    expect(() => g.write(0, Uint8Array.of(1))).toThrow(NoSpaceError);
  });
});

describe('BufferCache', () => {
  it('returns one DataView per buffer, counts hits, evicts least recently used over budget', () => {
    const data = Uint8Array.from({ length: CACHE_BUFSIZE * 4 }, (_, i) => (i >> 14) + 1);
    const c = new BufferCache([new MemoryDevice('m', data)], CACHE_BUFSIZE * 2);
    const a = c.get(0, 0);
    expect(a.bytes[0]).toBe(1);
    expect(a.dv.getUint8(CACHE_BUFSIZE - 1)).toBe(1);
    expect(c.get(0, 0)).toBe(a);
    c.get(0, CACHE_BUFSIZE);
    c.get(0, 0); // touch: buffer 1 becomes the oldest
    c.get(0, 2 * CACHE_BUFSIZE);
    expect(c.sizeBytes).toBe(2 * CACHE_BUFSIZE);
    expect(c.hits).toBe(2);
    expect(c.get(0, 0)).toBe(a); // still cached
    expect(c.misses).toBe(3);
    c.get(0, CACHE_BUFSIZE); // was evicted: a miss
    expect(c.misses).toBe(4);
  });
  it('update() writes through into a cached buffer across a boundary', () => {
    const c = new BufferCache([new MemoryDevice('m', new Uint8Array(CACHE_BUFSIZE * 2))]);
    const b0 = c.get(0, 0), b1 = c.get(0, CACHE_BUFSIZE);
    c.update(0, CACHE_BUFSIZE - 2, Uint8Array.of(1, 2, 3, 4));
    expect([...b0.bytes.subarray(CACHE_BUFSIZE - 2)]).toEqual([1, 2]);
    expect([...b1.bytes.subarray(0, 2)]).toEqual([3, 4]);
  });
});

describe('file devices and locks', () => {
  const file = path.join(dir, 'vol.img');
  fs.writeFileSync(file, Buffer.alloc(65536, 7));
  it('size from the file, reads, short read past the end', () => {
    const d = openDevice(file);
    try {
      expect(d.size).toBe(65536);
      expect(d.isBlockDevice).toBe(false);
      expect([...d.read(65534, 2)]).toEqual([7, 7]);
      expect(() => d.read(65535, 2)).toThrow(ShortReadError);
    } finally {
      d.close();
    }
  });
  it('a writer is refused while a reader holds the shared lock, and vice versa (EAGAIN -> LockedError)', () => {
    const r = openDevice(file);
    try {
      expect(() => openDeviceForWrite(file)).toThrow(LockedError);
    } finally {
      r.close();
    }
    const w = openDeviceForWrite(file);
    try {
      expect(() => openDevice(file)).toThrow(LockedError);
      const look = openDevice(file, { lock: 'none' }); // --no-lock looks anyway
      expect(look.size).toBe(65536);
      look.close();
      w.write(0, Uint8Array.of(1));
    } finally {
      w.close();
    }
    const r2 = openDevice(file);
    expect(r2.read(0, 1)[0]).toBe(1);
    r2.close();
  });
  it('a missing file is a typed error naming the path', () => {
    expect(() => openDevice(path.join(dir, 'missing.img'))).toThrow(/cannot open \(ENOENT\)/);
  });
});
