/**
 * File data as of a TID (spec/RECORDS.md §4). DATA records (PFS<<16|MISC, obj_id, DATA) are keyed
 * by their *end* offset: a record covers [key - data_len, key). So the records touching
 * [off, off+len) are those with off < key < off + len + 64 KiB (a record is at most 64 KiB), and a
 * range scan starts at key off+1 (as the kernel's range lookups do). No record = hole = zeros;
 * data_offset 0 with data_len > 0 = zeros; bytes past inode.size are not file data.
 */
import { BadFieldError } from '../errors.js';
import { HAMMER_RECTYPE_DATA, HAMMER_XBUFSIZE } from '../ondisk/constants.js';
import { toSafeNumber } from '../ondisk/int64.js';
import type { Inode } from './inode.js';
import { leafWhere, locMisc, readPayload, scanRecords, collectRecords, type FsContext } from './records.js';

/** One DATA record as a reader sees it. */
export interface DataRecord {
  /** File offset of the first byte (key - data_len). */
  offset: bigint;
  length: number;
  /** End offset (the B-Tree key). */
  key: bigint;
  dataOffset: bigint;
  createTid: bigint;
  deleteTid: bigint;
  createTs: number;
  deleteTs: number;
}

function fileSize(ino: Inode): number {
  return toSafeNumber(ino.size, { structure: `inode ${ino.objId.toString(16)} in PFS ${ino.pfs}`, field: 'size' });
}

/**
 * Bytes [offset, offset+length) of the file as of `asof`, clipped to the inode's size. Returns a
 * new array (safe to modify). Throws CrcMismatchError / BadFieldError on damaged records.
 */
export function readFileRange(ctx: FsContext, ino: Inode, offset: number, length: number, asof: bigint): Uint8Array {
  const size = fileSize(ino);
  if (offset < 0 || length < 0) throw new BadFieldError('negative read offset or length', { structure: 'read request' });
  const start = Math.min(offset, size);
  const end = Math.min(size, offset + length);
  const out = new Uint8Array(end - start);
  if (end <= start) return out;
  scanRecords(ctx.tree, locMisc(ino.pfs), ino.objId, HAMMER_RECTYPE_DATA, BigInt(start + 1), BigInt(end + HAMMER_XBUFSIZE - 1), asof, (node, i) => {
    const leaf = node.leaf(i);
    const where = leafWhere(node, i);
    if (leaf.dataLen <= 0 || leaf.dataLen > HAMMER_XBUFSIZE) throw new BadFieldError(`DATA record data_len ${leaf.dataLen} out of range 1..65536`, { ...where, field: 'data_len' });
    const recEnd = Number(leaf.key); // key <= end + 64 KiB here, so it is a safe integer
    const recBeg = recEnd - leaf.dataLen;
    const from = Math.max(recBeg, start);
    const to = Math.min(recEnd, end);
    if (from >= to) return;
    if (leaf.dataOffset === 0n) return; // zero-fill record: out is already zero
    const payload = readPayload(ctx, leaf, where);
    out.set(payload.subarray(from - recBeg, to - recBeg), from - start);
  });
  return out;
}

/**
 * The whole file as of `asof` in chunks of at most `chunkSize` bytes (default 1 MiB): bounded
 * memory whatever the file size. Each chunk is a fresh array.
 */
export function* streamFile(ctx: FsContext, ino: Inode, asof: bigint, chunkSize = 1 << 20): Generator<Uint8Array> {
  const size = fileSize(ino);
  for (let off = 0; off < size; off += chunkSize) {
    yield readFileRange(ctx, ino, off, Math.min(chunkSize, size - off), asof);
  }
}

/**
 * DATA records of a file: the versions visible as of `asof`, or every stored version when `asof`
 * is undefined (history). Key order, then create_tid order.
 */
export function dataRecords(ctx: FsContext, ino: Pick<Inode, 'pfs' | 'objId'>, asof?: bigint): DataRecord[] {
  return collectRecords(ctx.tree, locMisc(ino.pfs), ino.objId, HAMMER_RECTYPE_DATA, -0x8000000000000000n, 0x7fffffffffffffffn, asof).map(({ leaf }) => ({
    offset: leaf.key - BigInt(leaf.dataLen), length: leaf.dataLen, key: leaf.key, dataOffset: leaf.dataOffset,
    createTid: leaf.createTid, deleteTid: leaf.deleteTid, createTs: leaf.createTs, deleteTs: leaf.deleteTs,
  }));
}
