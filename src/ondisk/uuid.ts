/**
 * DragonFly uuid_t on disk: time_low (u32 LE), time_mid (u16 LE), time_hi (u16 LE), then 8 bytes
 * as-is. The text form prints the first three fields big-endian (spec/ONDISK.md §4.1).
 */
export type UuidBytes = Uint8Array; // 16 bytes, on-disk order

export function uuidToString(b: Uint8Array, at = 0): string {
  const h = (i: number) => b[at + i].toString(16).padStart(2, '0');
  const le = (idx: number[]) => idx.map(h).join('');
  return `${le([3, 2, 1, 0])}-${le([5, 4])}-${le([7, 6])}-${le([8, 9])}-${le([10, 11, 12, 13, 14, 15])}`;
}

/** Parse "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" into on-disk bytes; undefined if malformed. */
export function uuidFromString(s: string): Uint8Array | undefined {
  const m = /^([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})$/i.exec(s.trim());
  if (!m) return undefined;
  const hexBytes = (x: string) => Array.from({ length: x.length / 2 }, (_, i) => parseInt(x.slice(2 * i, 2 * i + 2), 16));
  const out = new Uint8Array(16);
  out.set(hexBytes(m[1]).reverse(), 0);
  out.set(hexBytes(m[2]).reverse(), 4);
  out.set(hexBytes(m[3]).reverse(), 6);
  out.set(hexBytes(m[4] + m[5]), 8);
  return out;
}

export const HAMMER_FSTYPE_UUID = '61dc63ac-6e38-11dc-8513-01301bb8a9f5';

export function uuidEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== 16 || b.length !== 16) return false;
  for (let i = 0; i < 16; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Inode uid/gid UUIDs carry the numeric id as u32 LE at bytes 12..15. */
export function uuidToId(b: Uint8Array, at = 0): number {
  return (b[at + 12] | (b[at + 13] << 8) | (b[at + 14] << 16) | (b[at + 15] << 24)) >>> 0;
}
export function idToUuid(id: number): Uint8Array {
  const u = new Uint8Array(16);
  new DataView(u.buffer).setUint32(12, id >>> 0, true);
  return u;
}

/** A random version-4 UUID in on-disk byte order (as libuuid's bytes are stored by newfs). */
export function randomUuidBytes(): Uint8Array {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  return b;
}
