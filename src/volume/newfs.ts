/**
 * newfs: lay down a fresh HAMMER filesystem on one or more volumes, exactly as DragonFly's
 * newfs_hammer does (sbin/newfs_hammer/newfs_hammer.c with sbin/hammer/ondisk.c and
 * blockmap.c): volume headers, the two-layer freemap (layer1 on volume 0, layer2 at the start
 * of every volume), the UNDO FIFO filled with 512-byte DUMMY records, one B-Tree leaf holding
 * the root directory inode and the PFS 0 record.
 *
 * Given the same fsid and clock the bytes are those of newfs_hammer except two fields it
 * leaves wrong and we set right: vol_crc (newfs_hammer never computes it, so it stays 0) and
 * the entry_crc of the vol0_blockmap entries (it CRCs zones 8/9 before their first allocation
 * and never CRCs zones 0..2, 5..7). Everything else, quirks included, is reproduced on
 * purpose so images can be compared byte for byte: vol0_next_tid 0x100000000 while the root
 * records carry create_tid 0x100000001, mirror_tid 0 on the root leaf, DUMMY FIFO records
 * even for versions 1..3, boot area and memory log at their minimum sizes.
 *
 * How it works: plan() replays newfs_hammer's allocation order on a small in-memory model of
 * the big-blocks (bootstrap allocations, then the zone-8/9 iterator walk of alloc_blockmap())
 * without touching any device; write() then emits each structure in large chunks: whole
 * 8 MiB freemap and UNDO big-blocks built from repeated entry patterns, and read-modify-write
 * of the two 16 KiB buffers that hold the root node and the meta data (newfs_hammer does not
 * clear the rest of those buffers, so neither do we). Areas newfs_hammer never writes (header
 * junk past the 16 KiB header buffer, boot area, memory log, free big-blocks) are left alone.
 */
import * as fs from 'node:fs';
import { ExistsError, IoError, UsageError, type Where } from '../errors.js';
import { openDeviceForWrite, type WritableBlockDevice } from '../io/device.js';
import {
  LE, HAMMER_BUFSIZE, HAMMER_BUFMASK, HAMMER_BIGBLOCK_SIZE, HAMMER_MAX_VOLUMES,
  HAMMER_VOL_JUNK_SIZE, HAMMER_FSBUF_VOLUME, HAMMER_FSBUF_VOLUME_REV, HAMMER_VOL_VERSION_MIN,
  HAMMER_VOL_VERSION_MAX, HAMMER_VOL_VERSION_DEFAULT, HAMMER_BLOCKMAP_UNAVAIL,
  HAMMER_BLOCKMAP_RADIX2, HAMMER_LAYER1_BYTES, HAMMER_LAYER2_BYTES, HAMMER_MAX_ZONES, HAMMER_UNDO_LAYER2,
  HAMMER_ZONE_UNDO_INDEX, HAMMER_ZONE_FREEMAP_INDEX, HAMMER_ZONE_BTREE_INDEX, HAMMER_ZONE_META_INDEX,
  HAMMER_ZONE_UNAVAIL_INDEX, HAMMER_ZONE_RAW_BUFFER_INDEX, HAMMER_OFF_SHORT_MASK, HAMMER_VOLUME_HEADER_SIZE,
  HAMMER_BTREE_NODE_SIZE, HAMMER_BTREE_TYPE_LEAF, HAMMER_BTREE_TYPE_RECORD, HAMMER_BTREE_ELM_SIZE,
  HAMMER_RECTYPE_INODE, HAMMER_RECTYPE_PFS, HAMMER_OBJTYPE_DIRECTORY, HAMMER_LOCALIZE_INODE,
  HAMMER_LOCALIZE_MISC, HAMMER_INODE_DATA_SIZE, HAMMER_PFS_DATA_SIZE, HAMMER_INODE_CAP_DIR_LOCAL_INO,
  HAMMER_INODE_CAP_DIRHASH_ALG1, HAMMER_HEAD_SIGNATURE, HAMMER_TAIL_SIGNATURE, HAMMER_HEAD_TYPE_DUMMY,
  HAMMER_UNDO_ALIGN,
} from '../ondisk/constants.js';
import { crcFn, crcAlgFor } from '../ondisk/crc.js';
import { sealBlockmapEntry, type BlockmapEntry } from '../ondisk/blockmap.js';
import { encodeVolumeHeader, sealVolumeHeader, VOL } from '../ondisk/volume-header.js';
import { encodeLeafElm } from '../ondisk/btree-elm.js';
import { NODE, setNodeHeader, sealBtreeNode } from '../ondisk/btree-node.js';
import { encodeInodeData, recordDataCrc } from '../ondisk/inode-data.js';
import { encodePfsData, PFSD } from '../ondisk/pfs-data.js';
import { encodeOffset, zoneBase, volOf, shortOffset, layer1Index } from '../ondisk/offset.js';
import { setU64, setI64 } from '../ondisk/int64.js';
import { uuidFromString, uuidToString, randomUuidBytes, HAMMER_FSTYPE_UUID } from '../ondisk/uuid.js';

/* Size limits of the areas before zone-2 (hammer_disk.h). */
export const HAMMER_BOOT_MINBYTES = 32 * 1024;
export const HAMMER_BOOT_MAXBYTES = 256 * 1024 * 1024;
export const HAMMER_MEM_MINBYTES = 256 * 1024;
export const HAMMER_MEM_MAXBYTES = 64 * 1024 * 1024 * 1024;
export const HAMMER_MIN_UNDO_BIGBLOCKS = 64;
export const HAMMER_MAX_UNDO_BIGBLOCKS = 128;
export const HAMMER_MIN_UNDO_BYTES = HAMMER_MIN_UNDO_BIGBLOCKS * HAMMER_BIGBLOCK_SIZE; // 512 MiB
export const HAMMER_MAX_UNDO_BYTES = HAMMER_MAX_UNDO_BIGBLOCKS * HAMMER_BIGBLOCK_SIZE; // 1 GiB
/** First TID newfs_hammer hands out (vol0_next_tid); the root records take the next one. */
export const NEWFS_FIRST_TID = 0x0000000100000000n;
const HAMMER_OBJID_ROOT = 1n;
const HAMMER_INODE_DATA_VERSION = 1;
const GIB = 1024 * 1024 * 1024;
/** Big-blocks one layer2 big-block describes (4 TiB). */
const L2_SPAN_BLOCKS = HAMMER_BLOCKMAP_RADIX2;
/** Layer1 slots reserved for each volume (volume bits 59..52 sit on top of the 10 bits of 4 TiB chunks). */
const L1_PER_VOLUME = 1024;

export interface NewfsOptions {
  /** Filesystem label (vol_label and the PFS 0 label); at most 63 bytes are kept, as newfs_hammer does. */
  label: string;
  /** HAMMER volume version 1..7 (default 7). */
  version?: number;
  /**
   * UNDO/REDO FIFO size in bytes. Undefined or 0: newfs_hammer's rule, max(512 MiB, 0.1% of
   * volume 0's buffer area). Rounded up to a whole big-block, at least 1, at most 1 GiB.
   * Below 512 MiB needs `force`.
   */
  undoSize?: number;
  /** Boot area bytes (multiple of 16 KiB, 32 KiB..256 MiB; default 32 KiB; below 32 KiB needs `force`). */
  bootSize?: number;
  /** Memory log bytes (multiple of 16 KiB, 256 KiB..64 GiB; default 256 KiB; below needs `force`). */
  memlogSize?: number;
  /** Overwrite volumes that already hold HAMMER, accept sizes below the minimums. */
  force?: boolean;
  /** 16 fsid bytes in on-disk order (default: a random version-4 UUID, as libuuid gives). */
  fsid?: Uint8Array;
  /** The clock in µs since the epoch for the root inode's times (default: now). */
  timeUs?: bigint;
  /** Leaf create_ts in seconds (default: floor(timeUs / 10^6)). */
  createTs?: number;
}

export interface NewfsVolume {
  volNo: number;
  path: string;
  /** "REGFILE" or "DEVICE", as newfs_hammer prints it. */
  type: 'REGFILE' | 'DEVICE';
  size: number;
  botBeg: number;
  memBeg: number;
  bufBeg: number;
  bufEnd: number;
  /** Whole big-blocks in the buffer area. */
  bigBlocks: number;
  /** Big-blocks of this volume left free after formatting. */
  freeBigBlocks: number;
}

export interface NewfsResult {
  version: number;
  label: string;
  fsid: Uint8Array;
  /** fsid as hammer(8) prints it. */
  fsidText: string;
  timeUs: bigint;
  createTs: number;
  volumes: NewfsVolume[];
  totalSize: number;
  bootAreaSize: number;
  memoryLogSize: number;
  undoSize: number;
  /** Bytes of volume 0 taken by the bootstrap allocations (freemap + UNDO), newfs_hammer's total-pre-allocated. */
  totalPreallocated: number;
  bigBlocks: bigint;
  freeBigBlocks: bigint;
  nextTid: bigint;
  btreeRoot: bigint;
  inodeOffset: bigint;
  pfsOffset: bigint;
  /** Non-fatal remarks (small filesystem, sizes below the recommended minimums). */
  warnings: string[];
}

/* ------------------------------------------------------------------------------------------ */
/* Planning: newfs_hammer's allocation order on a model of the big-blocks                      */
/* ------------------------------------------------------------------------------------------ */

interface VolModel {
  v: NewfsVolume;
  /** layer2 zone of each whole big-block of the volume. */
  zones: Uint8Array;
  /** append_off / bytes_free of big-blocks that are neither wholly used nor wholly free. */
  partial: Map<number, { appendOff: number; bytesFree: number }>;
  /** Next big-block the bootstrap allocator hands out (newfs_hammer's vol_free_off). */
  freeOff: number;
  /** Big-block index of the layer2 big-block of each 4 TiB chunk. */
  l2Blocks: number[];
}

interface Plan {
  res: NewfsResult;
  vols: VolModel[];
  /** layer1 entries that are not UNAVAIL, by layer1 index. */
  layer1: Map<number, { phys: bigint; blocksFree: number }>;
  blockmap: BlockmapEntry[];
  undoArray: bigint[];
  l1Block: number;
}

/** Volume geometry and sizes of one device, as newfs needs them. */
export interface NewfsTarget {
  path: string;
  size: number;
  isBlockDevice: boolean;
}

const where = (v: { volNo: number; path: string }, structure = 'volume'): Where => ({ structure, volNo: v.volNo, path: v.path });
const noRoom = (v: NewfsVolume) => new UsageError('ran out of room, filesystem too small', where(v));

function checkAreaSize(name: string, size: number, min: number, max: number, force: boolean, warnings: string[], field: string): void {
  const w: Where = { structure: 'argument', field };
  if (!Number.isSafeInteger(size) || size < 0) throw new UsageError(`${name} must be a byte count, got ${size}`, w);
  if (size % HAMMER_BUFSIZE !== 0) throw new UsageError(`${name} ${size} is not a multiple of 16 KiB`, w);
  if (size > max) throw new UsageError(`the maximum ${name} is ${sizeToStr(max).trim()}`, w);
  if (size < min) {
    if (!force) throw new UsageError(`the minimum ${name} is ${sizeToStr(min).trim()} (--force allows less)`, w);
    warnings.push(`${name} ${sizeToStr(size).trim()} is below the minimum ${sizeToStr(min).trim()}${field === 'undoSize' ? ' (DragonFly may panic when the FIFO fills)' : ''}`);
  }
}

/**
 * Work out the whole layout without touching a device. Throws UsageError for bad options and
 * volumes too small to hold the layout (the messages newfs_hammer gives, in our words).
 */
function plan(targets: NewfsTarget[], o: NewfsOptions): Plan {
  const warnings: string[] = [];
  const force = o.force === true;
  if (targets.length === 0) throw new UsageError('at least one volume is needed', { structure: 'argument', field: 'f' });
  if (targets.length > HAMMER_MAX_VOLUMES) throw new UsageError(`the maximum number of volumes is ${HAMMER_MAX_VOLUMES}`, { structure: 'argument', field: 'f' });
  if (typeof o.label !== 'string' || o.label.length === 0) throw new UsageError('a filesystem label must be given', { structure: 'argument', field: 'label' });
  const version = o.version ?? HAMMER_VOL_VERSION_DEFAULT;
  if (!Number.isInteger(version) || version < HAMMER_VOL_VERSION_MIN || version > HAMMER_VOL_VERSION_MAX) {
    throw new UsageError(`cannot format HAMMER version ${version} (1..7)`, { structure: 'argument', field: 'version' });
  }
  const bootSize = o.bootSize ?? HAMMER_BOOT_MINBYTES;
  const memlogSize = o.memlogSize ?? HAMMER_MEM_MINBYTES;
  checkAreaSize('boot area size', bootSize, HAMMER_BOOT_MINBYTES, HAMMER_BOOT_MAXBYTES, force, warnings, 'bootSize');
  checkAreaSize('memory log size', memlogSize, HAMMER_MEM_MINBYTES, HAMMER_MEM_MAXBYTES, force, warnings, 'memlogSize');
  const undoReq = o.undoSize ?? 0;
  if (o.undoSize !== undefined) {
    checkAreaSize('UNDO/REDO FIFO size', undoReq, HAMMER_MIN_UNDO_BYTES, HAMMER_MAX_UNDO_BYTES, force, warnings, 'undoSize');
  }
  const fsid = o.fsid ?? randomUuidBytes();
  if (fsid.length !== 16) throw new UsageError('fsid must be 16 bytes', { structure: 'argument', field: 'fsid' });
  const timeUs = o.timeUs ?? BigInt(Date.now()) * 1000n;
  if (timeUs < 0n || timeUs > 0xffffffffffffffffn) throw new UsageError('time out of range', { structure: 'argument', field: 'time' });
  const createTs = o.createTs ?? Number((timeUs / 1000000n) & 0xffffffffn);

  // Volume geometry: header junk, boot area, memory log, then zone-2 up to the last whole 16 KiB.
  const vols: VolModel[] = targets.map((t, volNo) => {
    const botBeg = HAMMER_VOL_JUNK_SIZE;
    const memBeg = botBeg + bootSize;
    const bufBeg = memBeg + memlogSize;
    const bufEnd = t.size - (t.size % HAMMER_BUFSIZE);
    const v: NewfsVolume = {
      volNo, path: t.path, type: t.isBlockDevice ? 'DEVICE' : 'REGFILE', size: t.size,
      botBeg, memBeg, bufBeg, bufEnd, bigBlocks: 0, freeBigBlocks: 0,
    };
    const bufSize = bufEnd - bufBeg;
    if (bufSize < HAMMER_VOLUME_HEADER_SIZE) throw new UsageError(`volume ${volNo} is too small to hold the volume header (${t.size} bytes)`, where(v));
    if (bufSize > Number(HAMMER_OFF_SHORT_MASK)) throw new UsageError(`volume ${volNo} is too large`, where(v));
    v.bigBlocks = Math.floor(bufSize / HAMMER_BIGBLOCK_SIZE);
    return { v, zones: new Uint8Array(v.bigBlocks), partial: new Map(), freeOff: 0, l2Blocks: [] };
  });

  const layer1 = new Map<number, { phys: bigint; blocksFree: number }>();
  const z2 = (vol: number, block: number) => encodeOffset(HAMMER_ZONE_RAW_BUFFER_INDEX, vol, block * HAMMER_BIGBLOCK_SIZE);
  // bootstrap_bigblock(): hand out the volume's next big-block before the freemap exists.
  const bootstrap = (m: VolModel): number => {
    if (m.freeOff >= m.v.bigBlocks) throw noRoom(m.v);
    return m.freeOff++;
  };
  // initialize_freemap(): a layer2 big-block per 4 TiB chunk, then every big-block's entry.
  const initializeFreemap = (m: VolModel): number => {
    if (m.v.bigBlocks === 0) throw noRoom(m.v);
    const chunks = Math.ceil(m.v.bigBlocks / L2_SPAN_BLOCKS);
    for (let c = 0; c < chunks; c++) {
      const blk = bootstrap(m);
      m.l2Blocks.push(blk);
      layer1.set(m.v.volNo * L1_PER_VOLUME + c, { phys: z2(m.v.volNo, blk), blocksFree: 0 });
    }
    let count = 0;
    for (let blk = 0; blk < m.v.bigBlocks; blk++) {
      if (blk < m.freeOff) m.zones[blk] = HAMMER_ZONE_FREEMAP_INDEX;
      else {
        count++;
        layer1.get(m.v.volNo * L1_PER_VOLUME + Math.floor(blk / L2_SPAN_BLOCKS))!.blocksFree++;
      }
    }
    return count;
  };

  const root = vols[0];
  // newfs_hammer refuses (without -f) when volume 0 has less than 10 GB of free big-blocks
  // after the freemap; we only warn.
  const freeBytes0 = Math.max(0, root.v.bigBlocks - 1 - Math.ceil(root.v.bigBlocks / L2_SPAN_BLOCKS)) * HAMMER_BIGBLOCK_SIZE;
  if (freeBytes0 < 10 * GIB) warnings.push('volume 0 has less than 10 GB of free space; HAMMER filesystems below 50 GB are not recommended');

  // format_freemap(): layer1 array in volume 0's first big-block.
  const l1Block = bootstrap(root);
  const blockmap: BlockmapEntry[] = [];
  for (let z = 0; z < HAMMER_MAX_ZONES; z++) blockmap.push({ physOffset: 0n, firstOffset: 0n, nextOffset: 0n, allocOffset: 0n, reserved01: 0, entryCrc: 0 });
  blockmap[HAMMER_ZONE_FREEMAP_INDEX] = {
    physOffset: z2(0, l1Block), firstOffset: 0n, nextOffset: zoneBase(HAMMER_ZONE_RAW_BUFFER_INDEX),
    allocOffset: encodeOffset(HAMMER_ZONE_RAW_BUFFER_INDEX, 255, HAMMER_OFF_SHORT_MASK), reserved01: 0, entryCrc: 0,
  };
  let freeBig = initializeFreemap(root);
  // format_blockmap() for the record zones: an iterator from the zone base, no limit.
  for (let z = HAMMER_ZONE_BTREE_INDEX; z < HAMMER_MAX_ZONES; z++) {
    blockmap[z] = { physOffset: 0n, firstOffset: zoneBase(z), nextOffset: zoneBase(z), allocOffset: encodeOffset(z, 255, HAMMER_OFF_SHORT_MASK), reserved01: 0, entryCrc: 0 };
  }

  // format_undomap(): size rule, then one bootstrap big-block per 8 MiB, marked zone 3.
  let undoBytes = undoReq;
  if (undoBytes === 0) undoBytes = Math.max(Math.floor((root.v.bufEnd - root.v.bufBeg) / 1000), HAMMER_MIN_UNDO_BYTES);
  undoBytes = Math.ceil(undoBytes / HAMMER_BIGBLOCK_SIZE) * HAMMER_BIGBLOCK_SIZE;
  undoBytes = Math.min(Math.max(undoBytes, HAMMER_BIGBLOCK_SIZE), HAMMER_MAX_UNDO_BYTES);
  blockmap[HAMMER_ZONE_UNDO_INDEX] = {
    physOffset: HAMMER_BLOCKMAP_UNAVAIL, firstOffset: zoneBase(HAMMER_ZONE_UNDO_INDEX), nextOffset: zoneBase(HAMMER_ZONE_UNDO_INDEX),
    allocOffset: zoneBase(HAMMER_ZONE_UNDO_INDEX) + BigInt(undoBytes), reserved01: 0, entryCrc: 0,
  };
  const undoArray: bigint[] = new Array(HAMMER_UNDO_LAYER2).fill(HAMMER_BLOCKMAP_UNAVAIL);
  for (let n = 0; n < undoBytes / HAMMER_BIGBLOCK_SIZE; n++) {
    const blk = bootstrap(root);
    root.zones[blk] = HAMMER_ZONE_UNDO_INDEX;
    layer1.get(Math.floor(blk / L2_SPAN_BLOCKS))!.blocksFree--;
    freeBig--;
    undoArray[n] = z2(0, blk);
  }
  let statBig = freeBig;

  // alloc_blockmap(): the zone's next_offset walks volume 0's big-blocks from the zone base,
  // skipping those another zone owns and claiming the first free one.
  const alloc = (zone: number, bytes: number): bigint => {
    const bm = blockmap[zone];
    bytes = (bytes + 15) & ~15;
    for (;;) {
      let next = bm.nextOffset;
      const last = next + BigInt(bytes - 1);
      if ((next ^ last) & ~BigInt(HAMMER_BUFMASK)) next = last & ~BigInt(HAMMER_BUFMASK);
      bm.nextOffset = next;
      const l1 = layer1.get(layer1Index(next));
      const inBlock = shortOffset(next) % HAMMER_BIGBLOCK_SIZE;
      const m = vols[volOf(next)];
      const blk = Math.floor(shortOffset(next) / HAMMER_BIGBLOCK_SIZE);
      if (!l1 || !m || (inBlock === 0 && l1.blocksFree === 0) || blk >= m.v.bigBlocks) throw noRoom(root.v);
      if (m.zones[blk] === 0) {
        l1.blocksFree--;
        m.zones[blk] = zone;
        m.partial.set(blk, { appendOff: 0, bytesFree: HAMMER_BIGBLOCK_SIZE });
        freeBig--;
      }
      if (m.zones[blk] !== zone) {
        bm.nextOffset = (next + BigInt(HAMMER_BIGBLOCK_SIZE)) & ~BigInt(HAMMER_BIGBLOCK_SIZE - 1);
        continue;
      }
      const p = m.partial.get(blk)!;
      p.bytesFree -= bytes;
      bm.nextOffset = next + BigInt(bytes);
      p.appendOff = inBlock + bytes;
      return next;
    }
  };
  const btreeRoot = alloc(HAMMER_ZONE_BTREE_INDEX, HAMMER_BTREE_NODE_SIZE);
  const inodeOffset = alloc(HAMMER_ZONE_META_INDEX, HAMMER_INODE_DATA_SIZE);
  const pfsOffset = alloc(HAMMER_ZONE_META_INDEX, HAMMER_PFS_DATA_SIZE);
  const totalPreallocated = root.freeOff * HAMMER_BIGBLOCK_SIZE;

  for (let i = 1; i < vols.length; i++) {
    const n = initializeFreemap(vols[i]);
    freeBig += n;
    statBig += n;
  }
  for (const m of vols) {
    let f = 0;
    for (let blk = 0; blk < m.v.bigBlocks; blk++) if (m.zones[blk] === 0) f++;
    m.v.freeBigBlocks = f;
  }
  const totalSize = targets.reduce((s, t) => s + t.size, 0);

  return {
    res: {
      version, label: o.label, fsid, fsidText: uuidToString(fsid), timeUs, createTs,
      volumes: vols.map((m) => m.v), totalSize, bootAreaSize: bootSize, memoryLogSize: memlogSize,
      undoSize: undoBytes, totalPreallocated, bigBlocks: BigInt(statBig), freeBigBlocks: BigInt(freeBig),
      nextTid: NEWFS_FIRST_TID, btreeRoot, inodeOffset, pfsOffset, warnings,
    },
    vols, layer1, blockmap, undoArray, l1Block,
  };
}

/** Compute the layout newfs would produce for volumes of these sizes, without writing. */
export function planNewfs(targets: NewfsTarget[], o: NewfsOptions): NewfsResult {
  return plan(targets, o).res;
}

/* ------------------------------------------------------------------------------------------ */
/* Encoding                                                                                    */
/* ------------------------------------------------------------------------------------------ */

/** Fill buf[start, end) with repeats of `pat` (end - start a multiple of its length), by doubling. */
function fillPattern(buf: Uint8Array, start: number, end: number, pat: Uint8Array): void {
  if (end <= start) return;
  buf.set(pat, start);
  let filled = pat.length;
  const total = end - start;
  while (filled < total) {
    const n = Math.min(filled, total - filled);
    buf.copyWithin(start + filled, start, start + n);
    filled += n;
  }
}

function layer1Bytes(blocksFree: number, phys: bigint, version: number): Uint8Array {
  const b = new Uint8Array(HAMMER_LAYER1_BYTES);
  const dv = new DataView(b.buffer);
  setI64(dv, 0, BigInt(blocksFree));
  setU64(dv, 8, phys);
  dv.setUint32(28, crcFn(crcAlgFor(version))(b.subarray(0, 28)), LE);
  return b;
}
function layer2Bytes(zone: number, appendOff: number, bytesFree: number, version: number): Uint8Array {
  const b = new Uint8Array(HAMMER_LAYER2_BYTES);
  const dv = new DataView(b.buffer);
  dv.setUint8(0, zone);
  dv.setUint32(4, appendOff, LE);
  dv.setInt32(8, bytesFree, LE);
  dv.setUint32(12, crcFn(crcAlgFor(version))(b.subarray(0, 12)), LE);
  return b;
}

/** The 8 MiB layer1 big-block: every entry UNAVAIL except those that describe a volume. */
function buildLayer1(p: Plan, buf: Uint8Array): void {
  const version = p.res.version;
  fillPattern(buf, 0, buf.length, layer1Bytes(0, HAMMER_BLOCKMAP_UNAVAIL, version));
  for (const [idx, e] of p.layer1) buf.set(layer1Bytes(e.blocksFree, e.phys, version), idx * HAMMER_LAYER1_BYTES);
}

/** The layer2 big-block of chunk `c` of a volume: one 16-byte entry per big-block of 4 TiB. */
function buildLayer2(p: Plan, m: VolModel, c: number, buf: Uint8Array): void {
  const version = p.res.version;
  const first = c * L2_SPAN_BLOCKS;
  const inVolume = Math.max(0, Math.min(L2_SPAN_BLOCKS, m.v.bigBlocks - first));
  const pats = new Map<number, Uint8Array>();
  const full = (zone: number) => {
    let b = pats.get(zone);
    if (!b) {
      b = zone === 0 ? layer2Bytes(0, 0, HAMMER_BIGBLOCK_SIZE, version) : layer2Bytes(zone, HAMMER_BIGBLOCK_SIZE, 0, version);
      pats.set(zone, b);
    }
    return b;
  };
  // Beyond the volume's last whole big-block: zone 15 ("unavailable").
  fillPattern(buf, inVolume * HAMMER_LAYER2_BYTES, buf.length, full(HAMMER_ZONE_UNAVAIL_INDEX));
  // Runs of equal zones are filled as patterns; the rare partly-used big-blocks one by one.
  let i = 0;
  while (i < inVolume) {
    const blk = first + i;
    const part = m.partial.get(blk);
    if (part) {
      buf.set(layer2Bytes(m.zones[blk], part.appendOff, part.bytesFree, version), i * HAMMER_LAYER2_BYTES);
      i++;
      continue;
    }
    const z = m.zones[blk];
    let j = i + 1;
    while (j < inVolume && m.zones[first + j] === z && !m.partial.has(first + j)) j++;
    fillPattern(buf, i * HAMMER_LAYER2_BYTES, j * HAMMER_LAYER2_BYTES, full(z));
    i = j;
  }
}

/**
 * One 8 MiB big-block of the UNDO FIFO: 512-byte DUMMY records whose hdr_seq is the record's
 * index in the FIFO. `tmpl` already holds everything that does not depend on the sequence
 * number; the record CRC is CRC(head[0,12)) XOR CRC(record[16,512)), and the second term is
 * the same for every record, so only a 12-byte CRC is computed per record.
 */
function fillUndoBlock(buf: Uint8Array, firstSeq: number, version: number, bodyCrc: number): void {
  const crc = crcFn(crcAlgFor(version));
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.length);
  const n = buf.length / HAMMER_UNDO_ALIGN;
  for (let i = 0; i < n; i++) {
    const at = i * HAMMER_UNDO_ALIGN;
    dv.setUint32(at + 8, (firstSeq + i) >>> 0, LE);
    dv.setUint32(at + 12, (crc(buf.subarray(at, at + 12)) ^ bodyCrc) >>> 0, LE);
  }
}
function undoTemplate(size: number): Uint8Array {
  const rec = new Uint8Array(HAMMER_UNDO_ALIGN);
  const dv = new DataView(rec.buffer);
  dv.setUint16(0, HAMMER_HEAD_SIGNATURE, LE);
  dv.setUint16(2, HAMMER_HEAD_TYPE_DUMMY, LE);
  dv.setUint32(4, HAMMER_UNDO_ALIGN, LE);
  const t = HAMMER_UNDO_ALIGN - 8;
  dv.setUint16(t, HAMMER_TAIL_SIGNATURE, LE);
  dv.setUint16(t + 2, HAMMER_HEAD_TYPE_DUMMY, LE);
  dv.setUint32(t + 4, HAMMER_UNDO_ALIGN, LE);
  const buf = new Uint8Array(size);
  fillPattern(buf, 0, size, rec);
  return buf;
}

/** UTF-8 bytes of a label, cut to fit a 64-byte NUL-terminated field (snprintf semantics). */
function putLabel(b: Uint8Array, at: number, label: string): void {
  b.fill(0, at, at + 64);
  b.set(Buffer.from(label, 'utf8').subarray(0, 63), at);
}

/** The 16 KiB header buffer of volume `m` (bytes past 1928 are zero). */
function buildHeader(p: Plan, m: VolModel): Uint8Array {
  const r = p.res;
  const isRoot = m.v.volNo === 0;
  const zeroEntry = (): BlockmapEntry => ({ physOffset: 0n, firstOffset: 0n, nextOffset: 0n, allocOffset: 0n, reserved01: 0, entryCrc: 0 });
  const blockmap = isRoot ? p.blockmap.map((e) => ({ ...e })) : Array.from({ length: HAMMER_MAX_ZONES }, zeroEntry);
  // Unlike newfs_hammer, every entry of volume 0 carries the CRC of what it finally holds.
  if (isRoot) for (const e of blockmap) sealBlockmapEntry(e, r.version);
  const buf = new Uint8Array(HAMMER_BUFSIZE);
  encodeVolumeHeader({
    signature: HAMMER_FSBUF_VOLUME, botBeg: m.v.botBeg, memBeg: m.v.memBeg, bufBeg: m.v.bufBeg, bufEnd: m.v.bufEnd,
    fsid: r.fsid, fstype: uuidFromString(HAMMER_FSTYPE_UUID)!, label: '', volNo: m.v.volNo, volCount: p.vols.length,
    version: r.version, crc: 0, flags: 0, rootvol: 0,
    statBigblocks: isRoot ? r.bigBlocks : 0n, statFreebigblocks: isRoot ? r.freeBigBlocks : 0n, statInodes: isRoot ? 1n : 0n,
    btreeRoot: isRoot ? r.btreeRoot : 0n, nextTid: isRoot ? r.nextTid : 0n,
    blockmap, undoArray: isRoot ? p.undoArray : new Array(HAMMER_UNDO_LAYER2).fill(0n),
    raw: new Uint8Array(HAMMER_VOLUME_HEADER_SIZE),
  }, buf.subarray(0, HAMMER_VOLUME_HEADER_SIZE));
  putLabel(buf, VOL.label, r.label);
  sealVolumeHeader(buf.subarray(0, HAMMER_VOLUME_HEADER_SIZE), r.version);
  return buf;
}

function rootInodeBytes(r: NewfsResult): Uint8Array {
  let cap = 0;
  if (r.version >= 2) cap |= HAMMER_INODE_CAP_DIR_LOCAL_INO;
  if (r.version >= 6) cap |= HAMMER_INODE_CAP_DIRHASH_ALG1;
  return encodeInodeData({
    version: HAMMER_INODE_DATA_VERSION, mode: 0o755, uflags: 0, rmajor: 0, rminor: 0, ctime: r.timeUs,
    parentObjId: 0n, uid: new Uint8Array(16), gid: new Uint8Array(16), objType: HAMMER_OBJTYPE_DIRECTORY,
    capFlags: cap, reserved01: 0, reserved02: 0, nlinks: 1n, size: 0n, ext: new Uint8Array(24),
    mtime: r.timeUs, atime: r.timeUs,
  });
}
function rootPfsBytes(r: NewfsResult): Uint8Array {
  const b = encodePfsData({
    syncLowTid: 1n, syncBegTid: 0n, syncEndTid: 0n, syncBegTs: 0n, syncEndTs: 0n, sharedUuid: r.fsid,
    uniqueUuid: r.fsid, reserved01: 0, mirrorFlags: 0, label: '', snapshots: '', pruneMin: 0, pruneMax: 0,
    raw: new Uint8Array(HAMMER_PFS_DATA_SIZE),
  });
  putLabel(b, PFSD.label, r.label);
  return b;
}
function rootNodeBytes(r: NewfsResult, inode: Uint8Array, pfs: Uint8Array): Uint8Array {
  const node = new Uint8Array(HAMMER_BTREE_NODE_SIZE);
  const dv = new DataView(node.buffer);
  setNodeHeader(dv, 0, { parent: 0n, count: 2, type: HAMMER_BTREE_TYPE_LEAF, mirrorTid: 0n });
  const createTid = NEWFS_FIRST_TID + 1n;
  const elm = (i: number, localization: number, recType: number, off: bigint, data: Uint8Array) =>
    encodeLeafElm({
      objId: HAMMER_OBJID_ROOT, key: 0n, createTid, deleteTid: 0n, recType, objType: HAMMER_OBJTYPE_DIRECTORY,
      btype: HAMMER_BTREE_TYPE_RECORD, localization, createTs: r.createTs, deleteTs: 0, dataOffset: off,
      dataLen: data.length, dataCrc: recordDataCrc(recType, data, r.version),
    }, dv, NODE.elms + i * HAMMER_BTREE_ELM_SIZE);
  elm(0, HAMMER_LOCALIZE_INODE, HAMMER_RECTYPE_INODE, r.inodeOffset, inode);
  elm(1, HAMMER_LOCALIZE_MISC, HAMMER_RECTYPE_PFS, r.pfsOffset, pfs);
  sealBtreeNode(node, 0, r.version);
  return node;
}

/* ------------------------------------------------------------------------------------------ */
/* Writing                                                                                     */
/* ------------------------------------------------------------------------------------------ */

/** Device byte of a zone-2 (or zone-8/9) offset in our own plan. */
function physOf(p: Plan, off: bigint): { m: VolModel; pos: number } {
  const m = p.vols[volOf(off)];
  return { m, pos: m.v.bufBeg + shortOffset(off) };
}

/** The label of the HAMMER filesystem a volume already holds, or null. */
export function existingHammer(dev: { read(pos: number, len: number): Uint8Array; size: number }): { label: string; fsid: string } | null {
  if (dev.size < HAMMER_VOLUME_HEADER_SIZE) return null;
  const b = dev.read(0, HAMMER_VOLUME_HEADER_SIZE);
  const dv = new DataView(b.buffer, b.byteOffset, b.length);
  const sig = dv.getBigUint64(0, LE);
  if (sig !== HAMMER_FSBUF_VOLUME && sig !== HAMMER_FSBUF_VOLUME_REV) return null;
  let e = VOL.label;
  while (e < VOL.label + 64 && b[e] !== 0) e++;
  return { label: Buffer.from(b.subarray(VOL.label, e)).toString('utf8'), fsid: uuidToString(b, VOL.fsid) };
}

/** Every freemap and UNDO write is one whole 8 MiB big-block, built in one reused buffer. */
const BIG = HAMMER_BIGBLOCK_SIZE;

/**
 * Format `devices` (volume i = devices[i]) as one HAMMER filesystem. Volume sizes come from
 * the devices. Refuses (ExistsError) a device that already holds HAMMER unless `force`.
 * Order of writes: headers cleared first, then freemap, UNDO FIFO and root records, a sync,
 * and the real headers last, so an interrupted run never leaves a valid-looking header in
 * front of half-written structures. The devices stay open (the caller owns them).
 */
export function newfs(devices: WritableBlockDevice[], o: NewfsOptions): NewfsResult {
  // The refusal comes first: whatever else is wrong, a user about to overwrite a filesystem
  // should hear that before anything else.
  if (!o.force) {
    devices.forEach((d, volNo) => {
      const h = existingHammer(d);
      if (h) throw new ExistsError(`already holds a HAMMER filesystem (label "${h.label}", fsid ${h.fsid}); refusing to overwrite it without --force`, { structure: 'volume', volNo, path: d.path });
    });
  }
  const p = plan(devices.map((d) => ({ path: d.path, size: d.size, isBlockDevice: d.isBlockDevice })), o);
  const r = p.res;
  const zeroBuf = new Uint8Array(HAMMER_BUFSIZE);
  for (const d of devices) d.write(0, zeroBuf);

  const big = new Uint8Array(BIG);
  const root = p.vols[0];
  // Freemap: the layer1 array (volume 0), then every volume's layer2 big-block(s).
  buildLayer1(p, big);
  devices[0].write(root.v.bufBeg + p.l1Block * BIG, big);
  for (const m of p.vols) {
    m.l2Blocks.forEach((blk, c) => {
      buildLayer2(p, m, c, big);
      devices[m.v.volNo].write(m.v.bufBeg + blk * BIG, big);
    });
  }
  // UNDO FIFO: DUMMY records numbered from 0 across all its big-blocks.
  const tmpl = undoTemplate(BIG);
  const bodyCrc = crcFn(crcAlgFor(r.version))(tmpl.subarray(16, HAMMER_UNDO_ALIGN));
  let seq = 0;
  for (const z2 of p.undoArray) {
    if (z2 === HAMMER_BLOCKMAP_UNAVAIL) break;
    big.set(tmpl);
    fillUndoBlock(big, seq, r.version, bodyCrc);
    seq += BIG / HAMMER_UNDO_ALIGN;
    const { m, pos } = physOf(p, z2);
    devices[m.v.volNo].write(pos, big);
  }
  // Root node, inode and PFS data: read-modify-write of their 16 KiB buffers.
  const inode = rootInodeBytes(r);
  const pfs = rootPfsBytes(r);
  const node = rootNodeBytes(r, inode, pfs);
  const patch = (off: bigint, data: Uint8Array, cleared: number) => {
    const { m, pos } = physOf(p, off);
    const d = devices[m.v.volNo];
    const short = shortOffset(off); // up to 2^52: no 32-bit bit operations on it
    const bufPos = m.v.bufBeg + short - (short % HAMMER_BUFSIZE);
    const buf = d.read(bufPos, HAMMER_BUFSIZE);
    buf.fill(0, pos - bufPos, pos - bufPos + cleared);
    buf.set(data, pos - bufPos);
    d.write(bufPos, buf);
  };
  patch(r.btreeRoot, node, HAMMER_BTREE_NODE_SIZE);
  patch(r.inodeOffset, inode, HAMMER_INODE_DATA_SIZE);
  patch(r.pfsOffset, pfs, HAMMER_PFS_DATA_SIZE);
  for (const d of devices) d.sync();
  for (const m of p.vols) devices[m.v.volNo].write(0, buildHeader(p, m));
  for (const d of devices) d.sync();
  return r;
}

/**
 * Open `paths` for writing (exclusive lock; O_EXCL on block devices), format them, close them.
 * Files must exist; their size (or the block device's) sets each volume's size.
 */
export function newfsPaths(paths: string[], o: NewfsOptions): NewfsResult {
  const seen = new Map<string, string>();
  for (const p of paths) {
    let st: fs.Stats;
    try {
      st = fs.statSync(p);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new UsageError('no such file or device', { structure: 'volume', path: p });
      throw new IoError(`cannot stat (${code})`, { structure: 'volume', path: p }, { cause: e });
    }
    const id = `${st.dev}:${st.ino}`;
    if (seen.has(id)) throw new UsageError(`volume given more than once (also as ${seen.get(id)})`, { structure: 'volume', path: p });
    seen.set(id, p);
  }
  const devices: WritableBlockDevice[] = [];
  try {
    for (const p of paths) devices.push(openDeviceForWrite(p));
    return newfs(devices, o);
  } finally {
    for (const d of devices) d.close();
  }
}

export interface TestImageOptions extends Partial<Omit<NewfsOptions, 'label'>> {
  /** Apparent size of the (sparse) image file in bytes; default 256 MiB. */
  size?: number;
  label?: string;
}

/**
 * For tests: create (or replace) a sparse image file of `size` bytes and format it with a
 * small UNDO FIFO (default 8 MiB), version 7, label "TEST". `force` is implied. Volume 0
 * needs room for 2 freemap big-blocks, the UNDO big-blocks and 2 more, so the smallest image
 * with the default UNDO is about 41 MiB. Returns what newfs reports.
 */
export function makeTestImage(path: string, o: TestImageOptions = {}): NewfsResult {
  return makeTestVolumes([path], [o.size ?? 256 * 1024 * 1024], o);
}

/** Like makeTestImage for a multi-volume set: paths[i] gets sizes[i] bytes. */
export function makeTestVolumes(paths: string[], sizes: number[], o: TestImageOptions = {}): NewfsResult {
  if (paths.length !== sizes.length) throw new UsageError('one size per volume', { structure: 'argument', field: 'size' });
  paths.forEach((p, i) => {
    try {
      fs.rmSync(p, { force: true });
      fs.writeFileSync(p, new Uint8Array(0));
      fs.truncateSync(p, sizes[i]);
    } catch (e) {
      throw new IoError(`cannot create image file (${(e as NodeJS.ErrnoException).code})`, { structure: 'volume', path: p }, { cause: e });
    }
  });
  return newfsPaths(paths, {
    ...o, label: o.label ?? 'TEST', undoSize: o.undoSize ?? 8 * 1024 * 1024, force: true,
  });
}

/* ------------------------------------------------------------------------------------------ */
/* Sizes as newfs_hammer reads and prints them                                                 */
/* ------------------------------------------------------------------------------------------ */

/** Round to 2 decimals like printf("%.2f"): ties on the exact binary value go to even. */
function fixed2(x: number): string {
  const exact = x.toFixed(20);
  const m = /^(\d+)\.(\d\d)5(0*)$/.exec(exact);
  if (m) {
    const cents = Number(m[1]) * 100 + Number(m[2]);
    const even = cents % 2 === 0 ? cents : cents + 1;
    return `${Math.floor(even / 100)}.${String(even % 100).padStart(2, '0')}`;
  }
  return x.toFixed(2);
}

/** sizetostr() of sbin/hammer/misc.c: "%6.2f" plus B/KB/MB/GB/TB, switching units at half the next one. */
export function sizeToStr(size: number): string {
  const K = 1024;
  let v: number, u: string;
  if (size < K / 2) [v, u] = [size, 'B'];
  else if (size < (K * K) / 2) [v, u] = [size / K, 'KB'];
  else if (size < (K * K * K) / 2) [v, u] = [size / (K * K), 'MB'];
  else if (size < (K * K * K * K) / 2) [v, u] = [size / (K * K * K), 'GB'];
  else [v, u] = [size / (K * K * K * K), 'TB'];
  return fixed2(v).padStart(6) + u;
}

/**
 * Parse a size the way newfs_hammer's getsize() does: a number with a k/m/g/t suffix (powers
 * of 1024, either case), which must be a multiple of 16 KiB. Unlike newfs_hammer, a bare
 * number is taken as bytes, "0x" hex is accepted and a leading 0 does not mean octal.
 * Returns the byte count or a message saying what is wrong.
 */
export function parseSize(s: string): number | string {
  const m = /^(0x[0-9a-f]+|[0-9]+)([kmgt]?)$/i.exec(s.trim());
  if (!m) return `cannot read size "${s}" (a number with an optional k, m, g or t suffix)`;
  const mult = { '': 1n, k: 1n << 10n, m: 1n << 20n, g: 1n << 30n, t: 1n << 40n }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  const v = BigInt(m[1]) * mult;
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) return `size "${s}" is too large`;
  return Number(v);
}

/** The summary newfs_hammer prints (stdout lines), for a result. */
export function newfsReport(r: NewfsResult): string[] {
  const out: string[] = [];
  for (const v of r.volumes) out.push(`Volume ${v.volNo} ${v.type} ${v.path.padEnd(15)} size ${sizeToStr(v.size)}`);
  out.push('initialize freemap volume 0');
  out.push(`initializing the undo map (${Math.floor(r.undoSize / (1024 * 1024))} MB)`);
  for (const v of r.volumes.slice(1)) out.push(`initialize freemap volume ${v.volNo}`);
  out.push('---------------------------------------------');
  out.push(`HAMMER version ${r.version}`);
  out.push(`${r.volumes.length} volume${r.volumes.length === 1 ? '' : 's'} total size ${sizeToStr(r.totalSize)}`);
  out.push(`root-volume:         ${r.volumes[0].path}`);
  out.push(`boot-area-size:      ${sizeToStr(r.bootAreaSize)}`);
  out.push(`memory-log-size:     ${sizeToStr(r.memoryLogSize)}`);
  out.push(`undo-buffer-size:    ${sizeToStr(r.undoSize)}`);
  out.push(`total-pre-allocated: ${sizeToStr(r.totalPreallocated)}`);
  out.push(`fsid:                ${r.fsidText}`);
  if (r.totalSize < 10 * GIB) {
    out.push('');
    out.push(`WARNING: The minimum UNDO/REDO FIFO is ${sizeToStr(HAMMER_MIN_UNDO_BYTES)}, you really should not`);
    out.push('try to format a HAMMER filesystem this small.');
  }
  if (r.totalSize < 50 * GIB) {
    out.push('');
    out.push('WARNING: HAMMER filesystems less than 50GB are not recommended!');
    out.push("You may have to run 'hammer prune-everything' and 'hammer reblock'");
    out.push('quite often, even if using a nohistory mount.');
  }
  return out;
}
