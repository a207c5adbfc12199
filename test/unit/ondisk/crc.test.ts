// CRC known answers ("123456789" check values) and the version rules of hammer_crc.h.
import { describe, expect, it } from 'vitest';
import { crc32, crc32c, crcAlgFor, testCrc, hammerCrc, crcTwoPart } from '../../../src/ondisk/crc.js';

const CHECK = new TextEncoder().encode('123456789');

describe('crc', () => {
  it('CRC-32 (IEEE) check value cbf43926', () => expect(crc32(CHECK).toString(16)).toBe('cbf43926'));
  it('CRC-32C (Castagnoli) check value e3069283', () => expect(crc32c(CHECK).toString(16)).toBe('e3069283'));
  it('continuing a CRC over two pieces equals one pass', () => {
    expect(crc32(CHECK.subarray(4), crc32(CHECK.subarray(0, 4)))).toBe(crc32(CHECK));
    expect(crc32c(CHECK.subarray(3), crc32c(CHECK.subarray(0, 3)))).toBe(crc32c(CHECK));
  });
  it('results are unsigned 32-bit numbers', () => {
    for (let i = 0; i < 64; i++) {
      const b = Uint8Array.from({ length: i }, (_, k) => (k * 37 + i) & 255);
      for (const v of [crc32(b), crc32c(b)]) expect(v >>> 0).toBe(v);
    }
  });
  it('version rules: <= 6 CRC-32 only; 7 CRC-32C, falling back to CRC-32', () => {
    expect([1, 4, 6, 7].map(crcAlgFor)).toEqual(['crc32', 'crc32', 'crc32', 'crc32c']);
    const f = (alg: 'crc32' | 'crc32c') => (alg === 'crc32' ? crc32(CHECK) : crc32c(CHECK));
    expect(testCrc(7, 0xe3069283, f)).toBe('crc32c');
    expect(testCrc(7, 0xcbf43926, f)).toBe('crc32');
    expect(testCrc(6, 0xcbf43926, f)).toBe('crc32');
    expect(testCrc(6, 0xe3069283, f)).toBe(null);
    expect(testCrc(7, 0x12345678, f)).toBe(null);
    expect(hammerCrc(7, CHECK)).toBe(0xe3069283);
    expect(hammerCrc(6, CHECK)).toBe(0xcbf43926);
  });
  it('two-part CRC is the XOR of the parts', () => {
    const b = Uint8Array.from({ length: 100 }, (_, i) => i);
    expect(crcTwoPart('crc32c', b, 0, 10, 20, 100)).toBe((crc32c(b.subarray(0, 10)) ^ crc32c(b.subarray(20, 100))) >>> 0);
  });
});
