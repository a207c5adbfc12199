/**
 * Raw media for forensics: the volumes of a (possibly damaged) HAMMER filesystem opened one by
 * one, without VolumeSet's set checks, and a scanner that finds B-Tree nodes by their structure
 * and CRC alone (the idea of sbin/hammer cmd_recover.c, done independently and more thoroughly).
 *
 * Why not VolumeSet: it refuses a set with a missing volume or a destroyed header, which is
 * exactly when recovery is wanted. Here every device keeps whatever could be learnt about it:
 *  - a readable header gives vol_no, vol_buf_beg/end and the version;
 *  - without one, the geometry is inferred from the nodes found on the device: a node's
 *    `parent` and an internal element's `subtree_offset` are zone-8 addresses, so for the right
 *    vol_buf_beg `b` the address A of a found node satisfies device position = b + (A & SHORT);
 *    the (vol_no, b) pair that makes the most embedded addresses land on found nodes wins, with
 *    leaf data CRCs as the tie breaker (and the only evidence for a one-leaf tree).
 *
 * Nodes sit at vol_buf_beg + a 4 KiB-aligned offset and vol_buf_beg is 16 KiB aligned, so a scan
 * of the device in 4 KiB steps finds every node whatever the geometry. When volume 0's header and
 * the freemap are readable, big-blocks owned by the UNDO FIFO or the freemap are skipped (their
 * contents are never 4 KiB-aligned nodes); everything else, free big-blocks included (they hold
 * freed nodes with old records), is scanned.
 */
import { BadSignatureError, HammerError, IoError, ShortReadError, VolumeSetError, type Where } from '../errors.js';
import { openDevice, type BlockDevice, type LockMode } from '../io/device.js';
import {
  LE, HAMMER_BIGBLOCK_SIZE, HAMMER_BTREE_NODE_SIZE, HAMMER_BTREE_ELM_SIZE, HAMMER_BTREE_LEAF_ELMS,
  HAMMER_BTREE_INT_ELMS, HAMMER_BTREE_TYPE_INTERNAL, HAMMER_BTREE_TYPE_LEAF, HAMMER_BTREE_TYPE_RECORD,
  HAMMER_ZONE_FREEMAP_INDEX, HAMMER_ZONE_UNDO_INDEX, HAMMER_ZONE_UNAVAIL_INDEX, HAMMER_ZONE_BTREE_INDEX,
  HAMMER_BLOCKMAP_UNAVAIL, HAMMER_BLOCKMAP_RADIX2, HAMMER_LAYER1_BYTES, HAMMER_LAYER2_BYTES,
  HAMMER_OFF_SHORT_MASK, HAMMER_BUFSIZE, HAMMER_XBUFSIZE,
} from '../ondisk/constants.js';
import { decodeVolumeHeader, type VolumeHeader } from '../ondisk/volume-header.js';
import { decodeLayer1, decodeLayer2, layer1CrcVerdict, layer2CrcVerdict } from '../ondisk/blockmap.js';
import { crc32, crc32c, type CrcAlg } from '../ondisk/crc.js';
import { zoneOf, volOf } from '../ondisk/offset.js';
import { uuidEqual, uuidToString } from '../ondisk/uuid.js';
import { recordDataCrcVerdict } from '../ondisk/inode-data.js';
import { ELM } from '../ondisk/btree-elm.js';
import { NODE } from '../ondisk/btree-node.js';

/** The usual vol_buf_beg of newfs_hammer (boot 32 KiB + memlog 256 KiB + junk 256 KiB). */
export const USUAL_BUF_BEG = 0x88000;

export type GeometrySource = 'header' | 'inferred' | 'assumed';

export interface RawVolume {
  /** Index in the order the devices were given. */
  readonly index: number;
  readonly device: BlockDevice;
  /** The header when its signature, version and fstype were sane. */
  readonly header?: VolumeHeader;
  /** Why the header could not be used (when it could not). */
  readonly headerError?: string;
  /** vol_no: from the header, or inferred (-1 while unknown). */
  no: number;
  bufBeg: number;
  bufEnd: number;
  geometry: GeometrySource;
}

export interface RawWarning {
  code: string;
  message: string;
  where: Where;
}

/** A leaf element found on the media, with where it was found. 64-bit fields are bigint. */
export interface RawRecord {
  localization: number;
  objId: bigint;
  recType: number;
  key: bigint;
  createTid: bigint;
  deleteTid: bigint;
  objType: number;
  createTs: number;
  deleteTs: number;
  dataOffset: bigint;
  dataLen: number;
  dataCrc: number;
  /** Device index and byte position of the node holding it, and the element index. */
  srcDev: number;
  srcPos: number;
  srcIndex: number;
}

/** An internal node element range [left, right) and the child it names. */
export interface RawInternalElm {
  left: Uint8Array; // 40-byte base element (separator)
  right: Uint8Array; // the next element's base (separator or right boundary)
  child: bigint;
  childType: number;
}

export interface FoundNode {
  dev: number;
  pos: number;
  type: number; // 'L' or 'I'
  count: number;
  crcAlg: CrcAlg;
  parent: bigint;
}

export interface ScanStats {
  /** 4 KiB blocks examined. */
  blocksExamined: number;
  /** Blocks that looked like a node (type and count) but failed the CRC. */
  badCrcCandidates: number;
  leafNodes: number;
  internalNodes: number;
  /** Leaf elements read (before de-duplication). */
  elements: number;
  /** Leaf elements dropped because they were not records ('R' btype) or had absurd fields. */
  badElements: number;
  bytesScanned: number;
  /** Big-blocks skipped because the freemap says UNDO / freemap / beyond the volume. */
  bigBlocksSkipped: number;
  /** 4 KiB blocks that could not be read (I/O errors); the scan goes on past them. */
  readErrors: number;
}

export interface ScanResult {
  nodes: FoundNode[];
  records: RawRecord[];
  internals: RawInternalElm[];
  stats: ScanStats;
}

export interface ScanOptions {
  /** 'auto' (default): skip UNDO/freemap big-blocks when the freemap is readable; 'full': scan every 4 KiB. */
  mode?: 'auto' | 'full';
  onProgress?: (done: number, total: number) => void;
}

export interface OpenRawOptions {
  lock?: LockMode;
}

const CHUNK = 1 << 20; // bytes read per device call while scanning

/**
 * Check one 4 KiB block as a B-Tree node: type 'L' or 'I', a count legal for the type, and a
 * CRC over [4,4096) that matches CRC-32C or CRC-32 (only CRC-32 when the version is known to be
 * <= 6). Returns the algorithm that matched, null for a structural look-alike with a bad CRC,
 * or undefined when the block does not even look like a node.
 */
export function nodeCandidate(b: Uint8Array, at: number, dv: DataView, version: number | undefined): CrcAlg | null | undefined {
  const type = b[at + NODE.type];
  if (type !== HAMMER_BTREE_TYPE_LEAF && type !== HAMMER_BTREE_TYPE_INTERNAL) return undefined;
  const count = dv.getInt32(at + NODE.count, LE);
  if (type === HAMMER_BTREE_TYPE_LEAF ? count < 0 || count > HAMMER_BTREE_LEAF_ELMS : count < 1 || count > HAMMER_BTREE_INT_ELMS) return undefined;
  const stored = dv.getUint32(at, LE);
  const body = b.subarray(at + 4, at + HAMMER_BTREE_NODE_SIZE);
  if ((version === undefined || version >= 7) && crc32c(body) === stored) return 'crc32c';
  if (crc32(body) === stored) return 'crc32';
  return null;
}

export class RawMedia {
  readonly warnings: RawWarning[] = [];
  constructor(readonly volumes: RawVolume[]) {}

  /** Volume 0's header, when readable. */
  get rootHeader(): VolumeHeader | undefined {
    return this.volumes.find((v) => v.header && v.header.volNo === 0)?.header;
  }
  /** Any readable header (label, fsid, version). */
  get anyHeader(): VolumeHeader | undefined {
    return this.rootHeader ?? this.volumes.find((v) => v.header)?.header;
  }
  /** The version from a header; undefined when no header survives (then both CRCs are accepted). */
  get headerVersion(): number | undefined {
    return this.anyHeader?.version;
  }
  /** Version used for CRC tests: the header's, else 7 (accepts CRC-32C and CRC-32). */
  crcVersion = 7;

  byNo(no: number): RawVolume | undefined {
    return this.volumes.find((v) => v.no === no);
  }

  /**
   * Device location of `len` bytes at a zone 2/8..15 offset, or undefined when the volume is
   * not present or the range lies outside its buffer area / device.
   */
  locate(off: bigint, len: number): { vol: RawVolume; pos: number } | undefined {
    const z = zoneOf(off);
    if (z !== 2 && z < 8) return undefined;
    const vol = this.byNo(volOf(off));
    if (!vol) return undefined;
    const short = Number(off & HAMMER_OFF_SHORT_MASK);
    const pos = vol.bufBeg + short;
    if (pos + len > vol.bufEnd || pos + len > vol.device.size) return undefined;
    return { vol, pos };
  }

  /** Read a record payload; undefined when it is not on the media we have. */
  readData(off: bigint, len: number): Uint8Array | undefined {
    if (len < 0 || len > HAMMER_XBUFSIZE) return undefined;
    const loc = this.locate(off, len);
    if (!loc) return undefined;
    try {
      return loc.vol.device.read(loc.pos, len);
    } catch (e) {
      // A bad sector costs this payload only; the caller reports it as unreadable.
      if (e instanceof ShortReadError || e instanceof IoError) return undefined;
      throw e;
    }
  }

  close(): void {
    for (const v of this.volumes) v.device.close();
  }
}

/**
 * Open devices one by one, read-only, and build the raw media (see rawMediaFromDevices()).
 */
export function openRawMedia(paths: string[], o: OpenRawOptions = {}): RawMedia {
  const devs: BlockDevice[] = [];
  try {
    for (const p of paths) devs.push(openDevice(p, { lock: o.lock ?? 'shared' }));
    return rawMediaFromDevices(devs);
  } catch (e) {
    for (const d of devs) d.close();
    throw e;
  }
}

/**
 * Raw media over already open devices (image files, or test devices that inject faults).
 * Headers that fail their checks are remembered, not fatal. Throws VolumeSetError only for
 * contradictions that make the set meaningless: two readable headers with different fsids, or
 * the same vol_no twice. On a throw the caller still owns (and closes) the devices.
 */
export function rawMediaFromDevices(devices: BlockDevice[]): RawMedia {
  const vols: RawVolume[] = devices.map((device, index) => {
    const p = device.path;
    let header: VolumeHeader | undefined;
    let headerError: string | undefined;
    try {
      if (device.size < 1928) throw new BadSignatureError('too small for a volume header', { structure: 'volume header', path: p });
      header = decodeVolumeHeader(device.read(0, Math.min(HAMMER_BUFSIZE, device.size)), { structure: 'volume header', path: p, rawOffset: 0 });
    } catch (e) {
      if (!(e instanceof HammerError)) throw e;
      headerError = e.detail;
    }
    const whole = device.size - (device.size % HAMMER_BUFSIZE);
    const bufEnd = header ? Math.min(header.bufEnd, whole) : whole;
    return {
      index, device, header, headerError, no: header ? header.volNo : -1,
      bufBeg: header ? header.bufBeg : USUAL_BUF_BEG, bufEnd, geometry: header ? 'header' : 'assumed',
    };
  });
  const m = new RawMedia(vols);
  const withHdr = vols.filter((v) => v.header);
  for (const v of withHdr) {
    const first = withHdr[0];
    if (!uuidEqual(v.header!.fsid, first.header!.fsid)) {
      throw new VolumeSetError(`volume belongs to another filesystem (fsid ${uuidToString(v.header!.fsid)}, expected ${uuidToString(first.header!.fsid)})`, {
        structure: 'volume header', path: v.device.path,
      });
    }
    const dup = withHdr.find((w) => w !== v && w.no === v.no);
    if (dup) throw new VolumeSetError(`volume ${v.no} given twice (also ${dup.device.path})`, { structure: 'volume header', path: v.device.path });
  }
  for (const v of vols) {
    if (!v.header) {
      m.warnings.push({ code: 'W_NO_HEADER', message: `volume header unusable (${v.headerError}); geometry will be inferred from the nodes found`, where: { structure: 'volume header', path: v.device.path, rawOffset: 0 } });
    }
  }
  const h = m.anyHeader;
  if (h) {
    m.crcVersion = h.version;
    const present = new Set(vols.map((v) => v.no));
    const missing: number[] = [];
    for (let i = 0; i < h.volCount; i++) if (!present.has(i)) missing.push(i);
    const unknown = vols.filter((v) => v.no < 0).length;
    if (missing.length > unknown) {
      m.warnings.push({ code: 'W_MISSING_VOLUME', message: `volume set has ${h.volCount} volumes; vol_no ${missing.join(', ')} not given, records stored there cannot be recovered`, where: { structure: 'volume set' } });
    }
  }
  return m;
}

/** Byte ranges [beg, end) of a device to scan. */
interface Range {
  beg: number;
  end: number;
}

/**
 * Ranges of each volume worth scanning. With volume 0's header and a readable freemap, big-blocks
 * whose layer2 entry (with a good CRC) says UNDO, freemap or unavailable are left out. Layer1 or
 * layer2 entries with bad CRCs never exclude anything.
 */
function scanRanges(m: RawMedia, mode: 'auto' | 'full', stats: ScanStats): Map<RawVolume, Range[]> {
  const out = new Map<RawVolume, Range[]>();
  const root = m.rootHeader;
  const rootVol = m.byNo(0);
  for (const v of m.volumes) {
    const whole: Range[] = v.geometry === 'header' ? [{ beg: v.bufBeg, end: v.bufEnd }] : [{ beg: 0, end: v.bufEnd }];
    if (mode === 'full' || !root || !rootVol || v.geometry !== 'header' || rootVol.geometry !== 'header') {
      out.set(v, whole);
      continue;
    }
    const fm = root.blockmap[HAMMER_ZONE_FREEMAP_INDEX].physOffset;
    const blocks = Math.floor((v.bufEnd - v.bufBeg) / HAMMER_BIGBLOCK_SIZE);
    const skip = new Uint8Array(blocks);
    try {
      for (let l1 = 0; l1 * HAMMER_BLOCKMAP_RADIX2 < blocks; l1++) {
        const index = (v.no << 10) | l1;
        const l1Loc = m.locate(fm + BigInt(index * HAMMER_LAYER1_BYTES), HAMMER_LAYER1_BYTES);
        if (!l1Loc) break;
        const l1b = l1Loc.vol.device.read(l1Loc.pos, HAMMER_LAYER1_BYTES);
        const layer1 = decodeLayer1(new DataView(l1b.buffer, l1b.byteOffset, l1b.length), 0);
        if (layer1CrcVerdict(layer1, m.crcVersion) === null || layer1.physOffset === HAMMER_BLOCKMAP_UNAVAIL) continue;
        const n = Math.min(blocks - l1 * HAMMER_BLOCKMAP_RADIX2, HAMMER_BLOCKMAP_RADIX2);
        const l2Loc = m.locate(layer1.physOffset, n * HAMMER_LAYER2_BYTES);
        if (!l2Loc) continue;
        const l2b = l2Loc.vol.device.read(l2Loc.pos, n * HAMMER_LAYER2_BYTES);
        const dv = new DataView(l2b.buffer, l2b.byteOffset, l2b.length);
        for (let i = 0; i < n; i++) {
          const e = decodeLayer2(dv, i * HAMMER_LAYER2_BYTES);
          if (layer2CrcVerdict(e, m.crcVersion) === null) continue;
          if (e.zone === HAMMER_ZONE_UNDO_INDEX || e.zone === HAMMER_ZONE_FREEMAP_INDEX || e.zone === HAMMER_ZONE_UNAVAIL_INDEX) skip[l1 * HAMMER_BLOCKMAP_RADIX2 + i] = 1;
        }
      }
    } catch (e) {
      if (!(e instanceof ShortReadError)) throw e;
      skip.fill(0);
      m.warnings.push({ code: 'W_FREEMAP', message: 'freemap unreadable; scanning every big-block', where: { structure: 'freemap', volNo: v.no, path: v.device.path } });
    }
    const ranges: Range[] = [];
    for (let i = 0; i < blocks; i++) {
      if (skip[i]) {
        stats.bigBlocksSkipped++;
        continue;
      }
      const beg = v.bufBeg + i * HAMMER_BIGBLOCK_SIZE;
      const last = ranges[ranges.length - 1];
      if (last && last.end === beg) last.end = beg + HAMMER_BIGBLOCK_SIZE;
      else ranges.push({ beg, end: beg + HAMMER_BIGBLOCK_SIZE });
    }
    // A trailing partial big-block is not in the freemap; scan it anyway.
    const tail = v.bufBeg + blocks * HAMMER_BIGBLOCK_SIZE;
    if (tail < v.bufEnd) ranges.push({ beg: tail, end: v.bufEnd });
    out.set(v, ranges);
  }
  return out;
}

/**
 * Scan the media for B-Tree nodes. Leaf elements come back as records (not yet de-duplicated:
 * the same record may sit in a live node and in stale copies); internal elements as key ranges
 * with their child addresses, so callers can tell which subtrees did not survive.
 * Must run before inferGeometry() for header-less volumes (which needs the nodes found).
 */
export function scanMedia(m: RawMedia, o: ScanOptions = {}): ScanResult {
  const stats: ScanStats = { blocksExamined: 0, badCrcCandidates: 0, leafNodes: 0, internalNodes: 0, elements: 0, badElements: 0, bytesScanned: 0, bigBlocksSkipped: 0, readErrors: 0 };
  const res: ScanResult = { nodes: [], records: [], internals: [], stats };
  const plan = scanRanges(m, o.mode ?? 'auto', stats);
  let total = 0;
  for (const rs of plan.values()) for (const r of rs) total += r.end - r.beg;
  const buf = new Uint8Array(CHUNK);
  const dv = new DataView(buf.buffer);
  const version = m.headerVersion;
  let done = 0;
  for (const [v, ranges] of plan) {
    for (const r of ranges) {
      // Node positions are 4 KiB aligned on the device (vol_buf_beg is 16 KiB aligned).
      let pos = r.beg - (r.beg % HAMMER_BTREE_NODE_SIZE);
      while (pos < r.end) {
        const len = Math.min(CHUNK, r.end - pos, v.device.size - pos);
        if (len < HAMMER_BTREE_NODE_SIZE) break;
        const view = len === CHUNK ? buf : buf.subarray(0, len);
        const bad = readTolerant(v.device, view, pos);
        if (bad) {
          stats.readErrors += bad.size;
          m.warnings.push({ code: 'W_READ', message: `${bad.size} unreadable 4 KiB blocks skipped`, where: { structure: 'device', volNo: v.no, path: v.device.path, rawOffset: pos } });
        }
        for (let at = 0; at + HAMMER_BTREE_NODE_SIZE <= len; at += HAMMER_BTREE_NODE_SIZE) {
          stats.blocksExamined++;
          if (bad?.has(at)) continue;
          const alg = nodeCandidate(buf, at, dv, version);
          if (alg === undefined) continue;
          if (alg === null) {
            stats.badCrcCandidates++;
            continue;
          }
          takeNode(res, buf, dv, at, v.index, pos + at, alg);
        }
        pos += len;
        done += len;
        stats.bytesScanned += len;
        o.onProgress?.(done, total);
      }
    }
  }
  return res;
}

/**
 * Fill `view` from `pos`; when the device fails, retry 4 KiB at a time so one bad sector costs
 * only its block. Returns the offsets (within view) of the blocks that could not be read, or
 * undefined when everything was read.
 */
function readTolerant(dev: BlockDevice, view: Uint8Array, pos: number): Set<number> | undefined {
  try {
    dev.readInto(view, pos);
    return undefined;
  } catch (e) {
    if (!(e instanceof IoError)) throw e;
  }
  const bad = new Set<number>();
  for (let at = 0; at < view.length; at += HAMMER_BTREE_NODE_SIZE) {
    const part = view.subarray(at, Math.min(at + HAMMER_BTREE_NODE_SIZE, view.length));
    try {
      dev.readInto(part, pos + at);
    } catch (e) {
      if (!(e instanceof IoError)) throw e;
      part.fill(0);
      bad.add(at);
    }
  }
  return bad;
}

function takeNode(res: ScanResult, b: Uint8Array, dv: DataView, at: number, dev: number, pos: number, alg: CrcAlg): void {
  const type = b[at + NODE.type];
  const count = dv.getInt32(at + NODE.count, LE);
  const parent = dv.getBigUint64(at + NODE.parent, LE);
  res.nodes.push({ dev, pos, type, count, crcAlg: alg, parent });
  if (type === HAMMER_BTREE_TYPE_INTERNAL) {
    res.stats.internalNodes++;
    for (let i = 0; i < count; i++) {
      const e = at + NODE.elms + i * HAMMER_BTREE_ELM_SIZE;
      const child = dv.getBigUint64(e + ELM.subtreeOffset, LE);
      if (zoneOf(child) !== HAMMER_ZONE_BTREE_INDEX) continue;
      res.internals.push({
        left: b.slice(e, e + 40),
        right: b.slice(e + HAMMER_BTREE_ELM_SIZE, e + HAMMER_BTREE_ELM_SIZE + 40),
        child,
        childType: b[e + ELM.btype],
      });
    }
    return;
  }
  res.stats.leafNodes++;
  for (let i = 0; i < count; i++) {
    const e = at + NODE.elms + i * HAMMER_BTREE_ELM_SIZE;
    res.stats.elements++;
    const dataLen = dv.getInt32(e + ELM.dataLen, LE);
    const loc = dv.getUint32(e + ELM.localization, LE);
    const recType = dv.getUint16(e + ELM.recType, LE);
    const lowLoc = loc & 0xffff;
    if (b[e + ELM.btype] !== HAMMER_BTREE_TYPE_RECORD || dataLen < 0 || dataLen > HAMMER_XBUFSIZE || (lowLoc !== 1 && lowLoc !== 2) || recType === 0) {
      res.stats.badElements++;
      continue;
    }
    res.records.push({
      localization: loc,
      objId: dv.getBigInt64(e + ELM.objId, LE),
      recType,
      key: dv.getBigInt64(e + ELM.key, LE),
      createTid: dv.getBigUint64(e + ELM.createTid, LE),
      deleteTid: dv.getBigUint64(e + ELM.deleteTid, LE),
      objType: b[e + ELM.objType],
      createTs: dv.getUint32(e + ELM.createTs, LE),
      deleteTs: dv.getUint32(e + ELM.deleteTs, LE),
      dataOffset: dv.getBigUint64(e + ELM.dataOffset, LE),
      dataLen,
      dataCrc: dv.getUint32(e + ELM.dataCrc, LE),
      srcDev: dev,
      srcPos: pos,
      srcIndex: i,
    });
  }
}

/** Node type by position, for the nodes found on one device. */
function nodePositions(res: ScanResult, dev: number): Map<number, number> {
  const s = new Map<number, number>();
  for (const n of res.nodes) if (n.dev === dev) s.set(n.pos, n.type);
  return s;
}

/**
 * Zone-8 addresses embedded in the nodes found, each with the node type that must be found
 * there: a node's parent is internal; an internal element's child has the element's btype.
 * Checking the type matters: with the internal nodes destroyed, parent addresses shifted by a
 * few KiB would otherwise land on unrelated leaves and vote for a wrong vol_buf_beg.
 */
function nodeRefs(res: ScanResult): { addr: bigint; type: number }[] {
  const refs: { addr: bigint; type: number }[] = [];
  for (const n of res.nodes) if (n.parent !== 0n && zoneOf(n.parent) === HAMMER_ZONE_BTREE_INDEX) refs.push({ addr: n.parent, type: HAMMER_BTREE_TYPE_INTERNAL });
  for (const e of res.internals) refs.push({ addr: e.child, type: e.childType });
  return refs;
}

/**
 * For every volume without a usable header, infer vol_no and vol_buf_beg from the scan (see the
 * module comment) and update the volume. Returns a note per volume saying what was decided and on
 * what evidence. The scan of a header-less device covers the whole device, so its results stay
 * valid whatever geometry is chosen.
 */
export function inferGeometry(m: RawMedia, res: ScanResult): string[] {
  const notes: string[] = [];
  const refs = nodeRefs(res);
  const taken = new Set(m.volumes.filter((v) => v.no >= 0).map((v) => v.no));
  // When no header survives, trust the CRC flavour of the nodes for the version.
  if (m.headerVersion === undefined && res.nodes.length) {
    m.crcVersion = res.nodes.some((n) => n.crcAlg === 'crc32c') ? 7 : 6;
  }
  for (const v of m.volumes) {
    if (v.geometry === 'header') continue;
    const found = nodePositions(res, v.index);
    const leafRecs = res.records.filter((r) => r.srcDev === v.index && r.dataLen > 0 && r.dataOffset !== 0n);
    const vols = new Set<number>();
    for (const a of refs) vols.add(volOf(a.addr));
    for (const r of leafRecs) vols.add(volOf(r.dataOffset));
    const candVols = [...vols].filter((n) => !taken.has(n));
    if (candVols.length === 0) candVols.push(taken.has(0) ? Math.max(-1, ...taken) + 1 : 0);
    // Candidate buf_beg values: the usual one, and the most frequent differences between found
    // node positions and embedded addresses (sampled, so this stays cheap on big media).
    const cands = new Map<number, number>();
    cands.set(USUAL_BUF_BEG, 0);
    const sampleRefs = sample(refs, 512);
    const samplePos = sample([...found.entries()], 512);
    for (const a of sampleRefs) {
      const short = Number(a.addr & HAMMER_OFF_SHORT_MASK);
      for (const [p, t] of samplePos) {
        if (t !== a.type) continue;
        const b = p - short;
        if (b >= 0 && b % HAMMER_BUFSIZE === 0) cands.set(b, (cands.get(b) ?? 0) + 1);
      }
    }
    const ranked = [...cands.entries()].sort((x, y) => y[1] - x[1]).slice(0, 16).map((e) => e[0]);
    if (!ranked.includes(USUAL_BUF_BEG)) ranked.push(USUAL_BUF_BEG);
    const dataSample = sample(leafRecs, 32);
    let best = { no: candVols[0], beg: USUAL_BUF_BEG, score: -1, refHits: 0, dataHits: 0 };
    const tryCand = (no: number, beg: number) => {
      let refHits = 0;
      for (const a of refs) if (volOf(a.addr) === no && found.get(beg + Number(a.addr & HAMMER_OFF_SHORT_MASK)) === a.type) refHits++;
      let dataHits = 0;
      for (const r of dataSample) {
        if (volOf(r.dataOffset) !== no) continue;
        const pos = beg + Number(r.dataOffset & HAMMER_OFF_SHORT_MASK);
        if (pos + r.dataLen > v.device.size) continue;
        const d = v.device.read(pos, r.dataLen);
        if (recordDataCrcVerdict(r.recType, d, r.dataCrc, m.crcVersion) !== null) dataHits++;
      }
      const score = refHits * 4 + dataHits;
      if (score > best.score || (score === best.score && beg === USUAL_BUF_BEG)) best = { no, beg, score, refHits, dataHits };
    };
    for (const no of candVols) for (const beg of ranked) tryCand(no, beg);
    if (best.score <= 0 && dataSample.length) {
      // No node references to go by (e.g. a one-leaf tree): brute-force the start over the
      // first 64 MiB with data CRCs as the only evidence.
      const limit = Math.min(v.device.size, 64 << 20);
      for (const no of candVols) for (let beg = 0; beg < limit; beg += HAMMER_BUFSIZE) tryCand(no, beg);
    }
    if (best.score > 0) {
      v.no = best.no;
      v.bufBeg = best.beg;
      v.geometry = 'inferred';
      notes.push(`${v.device.path}: vol_no ${best.no}, vol_buf_beg 0x${best.beg.toString(16)} inferred (${best.refHits} node addresses and ${best.dataHits}/${dataSample.length} sampled data CRCs agree)`);
    } else {
      v.no = best.no;
      v.bufBeg = USUAL_BUF_BEG;
      v.geometry = 'assumed';
      notes.push(`${v.device.path}: no evidence for the geometry; assuming vol_no ${best.no}, vol_buf_beg 0x${USUAL_BUF_BEG.toString(16)}`);
    }
    taken.add(v.no);
  }
  return notes;
}

function sample<T>(a: T[], n: number): T[] {
  if (a.length <= n) return a;
  const out: T[] = [];
  const step = a.length / n;
  for (let i = 0; i < n; i++) out.push(a[Math.floor(i * step)]);
  return out;
}
