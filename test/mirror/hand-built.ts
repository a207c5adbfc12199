// Mirror records built byte by byte, the way DragonFly lays them out (hammer_ioctl.h), with no
// help from src/ondisk/mrecord.ts: the codec and the reader are tested against these.
import CRC32 from 'crc-32';

export const SIG = 0x4dd97272;
export const T = { REC: 1, PFSD: 2, UPDATE: 3, SYNC: 4, SKIP: 5, PASS: 6, TERM: 7, IDLE: 8 } as const;

/** One record: head + body, padded to 8 with `padByte` (DragonFly leaves pad bytes undefined). */
export function mrec(type: number, body: Uint8Array = new Uint8Array(0), o: { padByte?: number; crc?: 'ieee' | 'bad' | number } = {}): Uint8Array {
  const size = 16 + body.length;
  const padded = (size + 7) & ~7;
  const b = new Uint8Array(padded).fill(o.padByte ?? 0);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, SIG, true);
  dv.setUint32(8, size, true);
  dv.setUint32(12, type >>> 0, true);
  b.set(body, 16);
  let crc = CRC32.buf(b.subarray(8, size)) >>> 0;
  if (o.crc === 'bad') crc = (crc ^ 1) >>> 0;
  else if (typeof o.crc === 'number') crc = o.crc;
  dv.setUint32(4, crc, true);
  return b;
}

export interface KeySpec {
  lo: number;
  obj: bigint;
  rt: number;
  key: bigint;
  ctid: bigint;
  dtid?: bigint;
  ot?: number;
}
function base(dv: DataView, at: number, k: KeySpec, btype = 0x52): void {
  dv.setBigInt64(at + 0, k.obj, true);
  dv.setBigInt64(at + 8, k.key, true);
  dv.setBigUint64(at + 16, k.ctid, true);
  dv.setBigUint64(at + 24, k.dtid ?? 0n, true);
  dv.setUint16(at + 32, k.rt, true);
  dv.setUint8(at + 34, k.ot ?? 2);
  dv.setUint8(at + 35, btype);
  dv.setUint32(at + 36, k.lo >>> 0, true);
}
/** Leaf element (64 bytes) + payload. data_crc: IEEE CRC of the payload unless given. */
export function leafBody(k: KeySpec, payload?: Uint8Array, o: { dataOffset?: bigint; dataLen?: number; dataCrc?: number } = {}): Uint8Array {
  const p = payload ?? new Uint8Array(0);
  const b = new Uint8Array(64 + p.length);
  const dv = new DataView(b.buffer);
  base(dv, 0, k);
  dv.setUint32(40, 1795500000, true);
  dv.setUint32(44, k.dtid ? 1795600000 : 0, true);
  dv.setBigUint64(48, o.dataOffset ?? (p.length ? 0xb000000022000000n : 0n), true);
  dv.setInt32(56, o.dataLen ?? p.length, true);
  // INODE payloads: the CRC covers the first 112 bytes only (mtime/atime excluded)
  const covered = k.rt === 1 ? p.subarray(0, 112) : p;
  dv.setUint32(60, o.dataCrc ?? (p.length ? CRC32.buf(covered) >>> 0 : 0), true);
  b.set(p, 64);
  return b;
}
export function skipBody(beg: KeySpec, end: KeySpec): Uint8Array {
  const b = new Uint8Array(80);
  const dv = new DataView(b.buffer);
  base(dv, 0, beg, 0x4c);
  base(dv, 40, end, 0x4c);
  return b;
}
/** PFSD body: version, reserved, 292-byte pseudofs data. */
export function pfsdBody(o: { version?: number; syncBeg?: bigint; syncEnd: bigint; shared?: number; slave?: boolean; label?: string }): Uint8Array {
  const b = new Uint8Array(8 + 292);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, o.version ?? 1, true);
  dv.setBigUint64(8 + 0, 1n, true);
  dv.setBigUint64(8 + 8, o.syncBeg ?? 1n, true);
  dv.setBigUint64(8 + 16, o.syncEnd, true);
  b.fill(o.shared ?? 0x11, 8 + 40, 8 + 56);
  b.fill(0x22, 8 + 56, 8 + 72);
  dv.setUint32(8 + 76, o.slave ? 1 : 0, true);
  const label = new TextEncoder().encode(o.label ?? 'hand-built');
  b.set(label, 8 + 80);
  return b;
}
export function updateBody(tid: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, tid, true);
  return b;
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const n = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const K = (obj: bigint, key: bigint, ctid: bigint, o: Partial<KeySpec> = {}): KeySpec => ({ lo: 0x00010002, obj, rt: 0x10, key, ctid, ...o });
const payload = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

/**
 * A stream as DragonFly's mirror-read writes it, with the awkward parts a reader must take:
 * three batches (the second IDLE), a REC re-sent after an interrupted MIRROR_READ call (same
 * key twice), payload sizes not a multiple of 8 with garbage pad bytes, PASS and SKIP, TERM.
 * Returns the bytes and the record start offsets.
 */
export function dragonflyStream(): { bytes: Uint8Array; starts: number[]; parts: Uint8Array[] } {
  const A = K(0x100000020n, 0x1000n, 0x100000100n);
  const B = K(0x100000020n, 0x2000n, 0x100000100n, { dtid: 0x100000180n });
  const C = K(0x100000021n, 0x13n, 0x100000050n);
  const parts = [
    mrec(T.PFSD, pfsdBody({ syncEnd: 0x100000200n }), { padByte: 0xee }),
    mrec(T.PFSD, pfsdBody({ syncEnd: 0x100000150n }), { padByte: 0xee }),
    mrec(T.REC, leafBody(A, payload(13, 1)), { padByte: 0xa5 }),
    mrec(T.REC, leafBody(A, payload(13, 1)), { padByte: 0x5a }), // re-sent after EINTR
    mrec(T.REC, leafBody({ ...B, dtid: 0n }, payload(1001, 7)), { padByte: 0xff }),
    mrec(T.PASS, leafBody(C)),
    mrec(T.SKIP, skipBody(K(0x100000022n, 0n, 1n), K(0x100000030n, 0n, 1n))),
    mrec(T.SYNC),
    mrec(T.PFSD, pfsdBody({ syncEnd: 0x100000200n })),
    mrec(T.PFSD, pfsdBody({ syncBeg: 0x100000151n, syncEnd: 0x100000151n })),
    mrec(T.IDLE),
    mrec(T.PFSD, pfsdBody({ syncEnd: 0x100000200n })),
    mrec(T.PFSD, pfsdBody({ syncBeg: 0x100000152n, syncEnd: 0x100000200n })),
    // INODE-localized records sort before MISC ones
    mrec(T.REC, leafBody(K(0x100000040n, 0n, 0x100000190n, { rt: 0x01, lo: 0x00010001, ot: 1 }), payload(128, 3))),
    mrec(T.PASS, leafBody(A)),
    mrec(T.PASS, leafBody(B)), // the deletion arrives as a PASS carrying delete_tid
    mrec(T.SYNC),
    mrec(T.TERM),
  ];
  const starts: number[] = [];
  let o = 0;
  for (const p of parts) {
    starts.push(o);
    o += p.length;
  }
  return { bytes: concat(parts), starts, parts };
}
