/**
 * Walks of the two-layer freemap: every layer1 entry that covers a volume, and every layer2
 * entry (one per 8 MiB big-block) inside each volume's buffer area. Used by info, blockmap,
 * checkmap, verify and the allocator.
 */
import {
  HAMMER_BIGBLOCK_SIZE, HAMMER_BLOCKMAP_UNAVAIL, HAMMER_LAYER1_BYTES, HAMMER_LAYER2_BYTES,
  HAMMER_ZONE_FREEMAP_INDEX, HAMMER_BLOCKMAP_RADIX2,
} from '../ondisk/constants.js';
import { decodeLayer1, decodeLayer2, type Layer1, type Layer2 } from '../ondisk/blockmap.js';
import { encodeOffset } from '../ondisk/offset.js';
import type { VolumeSet } from './volume-set.js';

export interface Layer1Info {
  vol: number;
  index: number; // layer1 index (vol << 10 | n)
  z2: bigint; // zone-2 address of this layer1 entry
  entry: Layer1;
  /** zone-2 address of the first big-block this entry covers */
  base: bigint;
}
export interface BigBlockInfo {
  vol: number;
  l1: Layer1Info;
  l2Index: number;
  l2Z2: bigint; // zone-2 address of the layer2 entry
  /** zone-2 address of the big-block */
  block: bigint;
  entry: Layer2;
}

/** Number of big-blocks in a volume's buffer area (partial trailing big-blocks excluded). */
export function volumeBigBlocks(vs: VolumeSet, vol: number): number {
  const h = vs.volumes[vol].header;
  return Math.floor((h.bufEnd - h.bufBeg) / HAMMER_BIGBLOCK_SIZE);
}

/** Layer1 entries that cover each volume (including UNAVAIL ones in that range). */
export function layer1Entries(vs: VolumeSet): Layer1Info[] {
  const out: Layer1Info[] = [];
  const l1base = vs.root.blockmap[HAMMER_ZONE_FREEMAP_INDEX].physOffset;
  for (const v of vs.volumes) {
    const blocks = volumeBigBlocks(vs, v.no);
    const n = Math.max(1, Math.ceil(blocks / HAMMER_BLOCKMAP_RADIX2));
    for (let k = 0; k < n; k++) {
      const index = (v.no << 10) | k;
      const z2 = l1base + BigInt(index * HAMMER_LAYER1_BYTES);
      const { buf, at } = vs.buffer(z2, HAMMER_LAYER1_BYTES, { structure: 'freemap layer1', hammerOff: z2, index });
      out.push({ vol: v.no, index, z2, entry: decodeLayer1(buf.dv, at), base: encodeOffset(2, v.no, BigInt(k) << 42n) });
    }
  }
  return out;
}

/**
 * Visit every big-block of every volume with its layer2 entry. Layer1 entries that are
 * unavailable are reported through `onMissingLayer1` and their blocks skipped.
 */
export function forEachBigBlock(
  vs: VolumeSet,
  fn: (b: BigBlockInfo) => void,
  onMissingLayer1?: (l1: Layer1Info) => void,
): void {
  for (const l1 of layer1Entries(vs)) {
    if (l1.entry.physOffset === HAMMER_BLOCKMAP_UNAVAIL) {
      onMissingLayer1?.(l1);
      continue;
    }
    const blocks = Math.min(volumeBigBlocks(vs, l1.vol) - (l1.index & 1023) * HAMMER_BLOCKMAP_RADIX2, HAMMER_BLOCKMAP_RADIX2);
    for (let i = 0; i < blocks; i++) {
      const l2Z2 = l1.entry.physOffset + BigInt(i * HAMMER_LAYER2_BYTES);
      const { buf, at } = vs.buffer(l2Z2, HAMMER_LAYER2_BYTES, { structure: 'freemap layer2', hammerOff: l2Z2, index: i });
      fn({ vol: l1.vol, l1, l2Index: i, l2Z2, block: l1.base + BigInt(i) * BigInt(HAMMER_BIGBLOCK_SIZE), entry: decodeLayer2(buf.dv, at) });
    }
  }
}

export interface ZoneUsage {
  zone: number;
  bigBlocks: number;
  bytesUsed: number; // sum of (8 MiB - bytes_free)
}
/** Big-blocks and bytes per owning zone (layer2.zone), over all volumes. */
export function zoneUsage(vs: VolumeSet): ZoneUsage[] {
  const z: ZoneUsage[] = Array.from({ length: 16 }, (_, zone) => ({ zone, bigBlocks: 0, bytesUsed: 0 }));
  forEachBigBlock(vs, (b) => {
    const u = z[b.entry.zone & 15];
    u.bigBlocks++;
    u.bytesUsed += HAMMER_BIGBLOCK_SIZE - b.entry.bytesFree;
  });
  return z.filter((u) => u.bigBlocks > 0);
}
