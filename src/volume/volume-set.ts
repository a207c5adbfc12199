/**
 * A HAMMER filesystem's volumes, checked as a set (setup_volume() in sbin/hammer/ondisk.c):
 * HAMMER signature and fstype, same fsid everywhere, volume numbers 0..n-1 each exactly once,
 * vol_count agreeing, rootvol 0. Translates encoded offsets to (volume, device byte) and reads
 * through the buffer cache. Header/blockmap CRC problems are warnings (real newfs images carry
 * them), never refusals.
 */
import { BadFieldError, BadSignatureError, ShortReadError, VolumeSetError, type Where } from '../errors.js';
import { openDevice, type BlockDevice, type LockMode } from '../io/device.js';
import { BufferCache, CACHE_BUFSIZE, type CachedBuffer } from '../io/cache.js';
import {
  HAMMER_BUFSIZE, HAMMER_VOLUME_HEADER_SIZE, HAMMER_ZONE_RAW_BUFFER_INDEX, HAMMER_ZONE_UNDO_INDEX,
  HAMMER_ZONE_FREEMAP_INDEX, HAMMER_BIGBLOCK_SIZE, HAMMER_BLOCKMAP_UNAVAIL, HAMMER_OFF_SHORT_MASK,
  HAMMER_MAX_ZONES, HAMMER_LAYER1_BYTES, HAMMER_LAYER2_BYTES,
} from '../ondisk/constants.js';
import { decodeVolumeHeader, volumeHeaderCrcVerdict, type VolumeHeader } from '../ondisk/volume-header.js';
import { blockmapEntryCrcVerdict, decodeLayer1, decodeLayer2, type Layer1, type Layer2 } from '../ondisk/blockmap.js';
import { zoneOf, volOf, shortOffset, layer1Index, layer2Index, toZone2 } from '../ondisk/offset.js';
import { uuidEqual, uuidToString } from '../ondisk/uuid.js';
import { fifoIsDirty } from './undo-fifo.js';

const BIGBLOCK_MASK = BigInt(HAMMER_BIGBLOCK_SIZE - 1);

export interface Volume {
  readonly no: number;
  readonly device: BlockDevice;
  header: VolumeHeader;
}

export interface Warning {
  code: string;
  message: string;
  where: Where;
}

export interface OpenVolumeSetOptions {
  lock?: LockMode;
  cacheBytes?: number;
}

/** Where a zone-2 byte lives. */
export interface PhysLoc {
  vol: number;
  pos: number; // device byte offset
}

export class VolumeSet {
  readonly cache: BufferCache;
  readonly warnings: Warning[] = [];
  /** Volumes indexed by vol_no. */
  readonly volumes: Volume[];
  constructor(volumes: Volume[], cacheBytes?: number) {
    this.volumes = volumes;
    this.cache = new BufferCache(volumes.map((v) => v.device), cacheBytes);
    this.collectHeaderWarnings();
  }

  get root(): VolumeHeader {
    return this.volumes[0].header;
  }
  get version(): number {
    return this.root.version;
  }
  get fsidString(): string {
    return uuidToString(this.root.fsid);
  }

  private collectHeaderWarnings(): void {
    for (const v of this.volumes) {
      if (volumeHeaderCrcVerdict(v.header) === null) {
        this.warnings.push({
          code: 'W_VOL_CRC',
          message: v.header.crc === 0 ? 'volume header CRC is 0 (newfs_hammer never sets it)' : 'volume header CRC does not match',
          where: { structure: 'volume header', volNo: v.no, path: v.device.path, rawOffset: 156, field: 'vol_crc' },
        });
      }
    }
    const h = this.root;
    for (let z = 0; z < HAMMER_MAX_ZONES; z++) {
      const e = h.blockmap[z];
      const allZero = e.physOffset === 0n && e.firstOffset === 0n && e.nextOffset === 0n && e.allocOffset === 0n && e.entryCrc === 0;
      if (allZero) continue;
      if (blockmapEntryCrcVerdict(e, h.version) === null) {
        this.warnings.push({
          code: 'W_BLOCKMAP_CRC',
          message: `zone ${z} blockmap entry CRC is stale`,
          where: { structure: 'blockmap entry', volNo: 0, path: this.volumes[0].device.path, rawOffset: 264 + z * 40, index: z },
        });
      }
    }
  }

  /** Translate a zone 2/4/8..15 (or 3, through the undo array) offset to a zone-2 offset. */
  toZone2(off: bigint, where?: Where): bigint {
    const z = zoneOf(off);
    if (z === HAMMER_ZONE_RAW_BUFFER_INDEX) return off;
    if (z === HAMMER_ZONE_FREEMAP_INDEX || z >= 8) return toZone2(off);
    if (z === HAMMER_ZONE_UNDO_INDEX) {
      const bm = this.root.blockmap[HAMMER_ZONE_UNDO_INDEX];
      const w = where ?? { structure: 'UNDO FIFO', hammerOff: off };
      if (off >= bm.allocOffset) throw new BadFieldError('UNDO offset past the end of the FIFO', w);
      const short = shortOffset(off);
      const i = Math.floor(short / HAMMER_BIGBLOCK_SIZE);
      const base = this.root.undoArray[i];
      if (base === undefined || base === HAMMER_BLOCKMAP_UNAVAIL) throw new BadFieldError(`UNDO big-block ${i} not in vol0_undo_array`, w);
      return base + BigInt(short % HAMMER_BIGBLOCK_SIZE);
    }
    throw new BadFieldError(`zone ${z} offset cannot be translated`, where ?? { structure: 'offset', hammerOff: off });
  }

  /** (volume, device byte) of an offset; checks the volume exists and the offset is inside it. */
  locate(off: bigint, len = 1, where?: Where): PhysLoc {
    const z2 = this.toZone2(off, where);
    const vol = volOf(z2);
    const w = where ?? { structure: 'offset', hammerOff: off };
    // Nothing HAMMER allocates in a translated zone spans two big-blocks (and zone-3 translation
    // is per big-block), so a range that does is a lie: refuse it rather than read the neighbour.
    if (zoneOf(off) !== HAMMER_ZONE_RAW_BUFFER_INDEX && Number(off & BIGBLOCK_MASK) + len > HAMMER_BIGBLOCK_SIZE) {
      throw new BadFieldError(`${len} bytes at this offset cross the end of its big-block`, w);
    }
    const v = this.volumes[vol];
    if (!v) throw new BadFieldError(`offset names volume ${vol}, which is not in this set`, { ...w, volNo: vol });
    const short = Number(z2 & HAMMER_OFF_SHORT_MASK);
    const h = v.header;
    if (short + len > h.bufEnd - h.bufBeg) {
      throw new BadFieldError(`offset past the end of volume ${vol}'s buffer area`, { ...w, volNo: vol, path: v.device.path });
    }
    return { vol, pos: h.bufBeg + short };
  }

  /** The cached 16 KiB buffer holding `off` and the position of `off` inside it. */
  buffer(off: bigint, len: number, where?: Where): { buf: CachedBuffer; at: number } {
    const loc = this.locate(off, len, where);
    const rel = (loc.pos - this.volumes[loc.vol].header.bufBeg) % CACHE_BUFSIZE;
    const at = rel;
    const base = loc.pos - rel;
    if (at + len > CACHE_BUFSIZE) {
      throw new BadFieldError(`${len} bytes at this offset cross a 16 KiB buffer`, where ?? { structure: 'offset', hammerOff: off, volNo: loc.vol });
    }
    try {
      return { buf: this.cache.get(loc.vol, base), at };
    } catch (e) {
      if (e instanceof ShortReadError) {
        throw new ShortReadError('volume is truncated: buffer lies past the end of the device', {
          ...(where ?? { structure: 'buffer' }), hammerOff: off, volNo: loc.vol, rawOffset: base, path: this.volumes[loc.vol].device.path,
        });
      }
      throw e;
    }
  }

  /**
   * Read `len` bytes at an encoded offset. Within one 16 KiB buffer the result is a view into the
   * cache (do not modify); larger reads (64 KiB data records) are assembled into a new array.
   */
  read(off: bigint, len: number, where?: Where): Uint8Array {
    // The length usually comes from the media: bound it before allocating (no record is larger
    // than a big-block).
    if (!Number.isInteger(len) || len < 0 || len > HAMMER_BIGBLOCK_SIZE) {
      throw new BadFieldError(`refusing to read ${len} bytes`, where ?? { structure: 'offset', hammerOff: off });
    }
    const loc = this.locate(off, len, where);
    const h = this.volumes[loc.vol].header;
    const rel = (loc.pos - h.bufBeg) % CACHE_BUFSIZE;
    if (rel + len <= CACHE_BUFSIZE) {
      const { buf, at } = this.buffer(off, len, where);
      return buf.bytes.subarray(at, at + len);
    }
    const out = new Uint8Array(len);
    this.readPhysInto(loc.vol, loc.pos, len, out, 0, where ?? { structure: 'offset', hammerOff: off });
    return out;
  }

  /**
   * Copy `len` bytes at an encoded offset into `out` at `outOff` (same checks as read()). Where
   * the cache mirrors the devices this is one device read that leaves the cache alone: file data
   * streamed through here neither evicts the metadata working set nor is copied twice.
   */
  readInto(off: bigint, len: number, out: Uint8Array, outOff: number, where?: Where): void {
    if (!Number.isInteger(len) || len < 0 || len > HAMMER_BIGBLOCK_SIZE) {
      throw new BadFieldError(`refusing to read ${len} bytes`, where ?? { structure: 'offset', hammerOff: off });
    }
    const loc = this.locate(off, len, where);
    this.readPhysInto(loc.vol, loc.pos, len, out, outOff, where ?? { structure: 'offset', hammerOff: off });
  }

  /**
   * Copy device bytes [pos, pos+len) of volume `vol` (a range locate() has checked, or a run of
   * adjacent checked ranges) into `out` at `outOff`: one device read when the cache mirrors the
   * devices, else buffer by buffer through the cache (so a write overlay's private copies win).
   */
  readPhysInto(vol: number, pos: number, len: number, out: Uint8Array, outOff: number, where: Where): void {
    if (outOff < 0 || outOff + len > out.length) throw new BadFieldError(`${len} bytes do not fit the destination`, where);
    if (len === 0) return;
    const v = this.volumes[vol];
    if (this.cache.mirrorsDevices) {
      try {
        this.cache.device(vol).readInto(out.subarray(outOff, outOff + len), pos);
      } catch (e) {
        if (e instanceof ShortReadError) {
          throw new ShortReadError('volume is truncated: data lies past the end of the device', { ...where, volNo: vol, rawOffset: pos, path: v.device.path });
        }
        throw e;
      }
      return;
    }
    const bufBeg = v.header.bufBeg;
    let done = 0;
    while (done < len) {
      const p = pos + done;
      const r = (p - bufBeg) % CACHE_BUFSIZE;
      const n = Math.min(len - done, CACHE_BUFSIZE - r);
      const buf = this.cache.get(vol, p - r);
      out.set(buf.bytes.subarray(r, r + n), outOff + done);
      done += n;
    }
  }

  /** Read raw bytes of a volume by device position (headers, zone-1 addresses). */
  readRaw(vol: number, pos: number, len: number): Uint8Array {
    return this.volumes[vol].device.read(pos, len);
  }

  /* ---- freemap ---- */

  /** Device location of the layer1 entry covering `off`. */
  layer1Loc(off: bigint): { z2: bigint; index: number } {
    const index = layer1Index(off);
    const base = this.root.blockmap[HAMMER_ZONE_FREEMAP_INDEX].physOffset;
    return { z2: base + BigInt(index * HAMMER_LAYER1_BYTES), index };
  }

  /**
   * Freemap lookup of a zone-2/4/8..15 offset (blockmap_lookup() semantics): layer1 then layer2.
   * Throws BadFieldError where the layer1 entry is unavailable.
   */
  freemapLookup(off: bigint): { layer1: Layer1; layer2: Layer2; l1Z2: bigint; l2Z2: bigint; l1Index: number; l2Index: number } {
    const { z2: l1Z2, index: l1Index } = this.layer1Loc(off);
    const l1buf = this.buffer(l1Z2, HAMMER_LAYER1_BYTES, { structure: 'freemap layer1', hammerOff: l1Z2, index: l1Index });
    const layer1 = decodeLayer1(l1buf.buf.dv, l1buf.at);
    if (layer1.physOffset === HAMMER_BLOCKMAP_UNAVAIL) {
      throw new BadFieldError(`no layer2 for this offset (layer1 #${l1Index} unavailable)`, { structure: 'freemap', hammerOff: off, index: l1Index });
    }
    const l2Index = layer2Index(off);
    const l2Z2 = layer1.physOffset + BigInt(l2Index * HAMMER_LAYER2_BYTES);
    const l2buf = this.buffer(l2Z2, HAMMER_LAYER2_BYTES, { structure: 'freemap layer2', hammerOff: l2Z2, index: l2Index });
    return { layer1, layer2: decodeLayer2(l2buf.buf.dv, l2buf.at), l1Z2, l2Z2, l1Index, l2Index };
  }

  close(): void {
    for (const v of this.volumes) v.device.close();
  }
}

/** Read and decode a volume header from a device; errors name the device. */
export function readVolumeHeader(device: BlockDevice): VolumeHeader {
  const where: Where = { structure: 'volume header', path: device.path, rawOffset: 0 };
  if (device.size < HAMMER_VOLUME_HEADER_SIZE) {
    throw new BadSignatureError(`file is too small to be a HAMMER volume (${device.size} bytes)`, where);
  }
  const b = device.read(0, Math.min(HAMMER_BUFSIZE, device.size));
  return decodeVolumeHeader(b, where);
}

/** Check a list of (device, header) pairs as one filesystem and order them by vol_no. */
export function assembleVolumeSet(items: { device: BlockDevice; header: VolumeHeader }[]): Volume[] {
  if (items.length === 0) throw new VolumeSetError('no volumes given', { structure: 'volume set' });
  const first = items[0];
  const count = first.header.volCount;
  const byNo: (Volume | undefined)[] = [];
  for (const it of items) {
    const h = it.header;
    const where: Where = { structure: 'volume header', path: it.device.path, volNo: h.volNo };
    if (!uuidEqual(h.fsid, first.header.fsid)) {
      throw new VolumeSetError(`volume belongs to another filesystem (fsid ${uuidToString(h.fsid)}, expected ${uuidToString(first.header.fsid)})`, where);
    }
    if (h.volCount !== count) throw new VolumeSetError(`vol_count ${h.volCount} disagrees with ${count} of ${first.device.path}`, where);
    if (byNo[h.volNo]) throw new VolumeSetError(`volume ${h.volNo} given twice (also ${byNo[h.volNo]!.device.path})`, where);
    if (h.bufEnd > it.device.size) {
      throw new VolumeSetError(`volume is truncated: vol_buf_end is 0x${h.bufEnd.toString(16)} but the device has ${it.device.size} bytes`, where);
    }
    byNo[h.volNo] = { no: h.volNo, device: it.device, header: h };
  }
  const missing: number[] = [];
  for (let i = 0; i < count; i++) if (!byNo[i]) missing.push(i);
  if (missing.length) {
    throw new VolumeSetError(`incomplete volume set: ${count} volumes, missing vol_no ${missing.join(', ')}`, { structure: 'volume set', path: first.device.path });
  }
  return byNo as Volume[];
}

/** Split a hammer(8) style "-f a:b:c" argument. */
export function splitVolumeArg(arg: string | string[]): string[] {
  const parts = (Array.isArray(arg) ? arg : [arg]).flatMap((a) => a.split(':'));
  return parts.filter((p) => p.length > 0);
}

/** Open every volume read-only (shared lock unless told otherwise) and check them as a set. */
export function openVolumeSet(paths: string[], o: OpenVolumeSetOptions = {}): VolumeSet {
  const items: { device: BlockDevice; header: VolumeHeader }[] = [];
  try {
    for (const p of paths) {
      const device = openDevice(p, { lock: o.lock ?? 'shared' });
      items.push({ device, header: undefined as unknown as VolumeHeader });
      items[items.length - 1].header = readVolumeHeader(device);
    }
    const vs = new VolumeSet(assembleVolumeSet(items), o.cacheBytes);
    // A read-only open never recovers: it reads the media as it is, and says so.
    if (fifoIsDirty(vs)) {
      vs.warnings.push({
        code: 'W_UNDO_DIRTY',
        message: 'volume was not cleanly unmounted; `hammerfs replay-undo` would recover it',
        where: { structure: 'UNDO FIFO', volNo: 0, path: items[0].device.path, hammerOff: vs.root.blockmap[HAMMER_ZONE_UNDO_INDEX].firstOffset },
      });
    }
    return vs;
  } catch (e) {
    for (const it of items) it.device.close();
    throw e;
  }
}
