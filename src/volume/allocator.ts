/**
 * Space allocation in the freemap (spec/ONDISK.md §7), always inside a transaction so every
 * layer1/layer2 change is UNDO-logged at commit and vanishes on abort.
 *
 * - Sizes round up to 16 bytes; a request of <= 16 KiB never crosses a 16 KiB buffer, a larger
 *   one (<= 64 KiB) never crosses a big-block.
 * - Append-only inside a big-block: the offset is >= layer2.append_off; holes are only reclaimed
 *   when the whole big-block becomes free.
 * - A zone takes a free big-block (layer2.zone 0) by ownership: zone = Z, layer1.blocks_free - 1,
 *   vol0_stat_freebigblocks - 1. A big-block freed in the current transaction is never taken
 *   again before commit (recovery could otherwise resurrect data over new contents).
 * - The iterator is vol0_blockmap[Z].next_offset (zone-Z encoded, may point into any volume); it
 *   wraps once from the end of the last volume to the start of volume 0; the second wrap is
 *   NoSpaceError, thrown before the caller wrote anything (abort() restores everything).
 */
import { BadFieldError, NoSpaceError } from '../errors.js';
import {
  HAMMER_BIGBLOCK_SIZE, HAMMER_BUFSIZE, HAMMER_LAYER1_BYTES, HAMMER_LAYER2_BYTES,
  HAMMER_XBUFSIZE, HAMMER_ZONE_BTREE_INDEX, HAMMER_ZONE_UNAVAIL_INDEX,
} from '../ondisk/constants.js';
import { encodeLayer1, encodeLayer2, sealLayer1, sealLayer2 } from '../ondisk/blockmap.js';
import { encodeOffset, shortOffset, volOf, zoneOf, toZone2, zoneBase, bigBlockBase } from '../ondisk/offset.js';
import { volumeBigBlocks } from './freemap.js';
import type { Transaction } from './transaction.js';

const BB = HAMMER_BIGBLOCK_SIZE;
const LAYER1_SPAN = 2 ** 42; // bytes covered by one layer1 entry

export const round16 = (n: number) => (n + 15) & ~15;

/** Is `zone` one a caller may allocate from (the record zones 8..14)? */
export function isAllocZone(zone: number): boolean {
  return zone >= HAMMER_ZONE_BTREE_INDEX && zone < HAMMER_ZONE_UNAVAIL_INDEX;
}

/** Allocate `bytes` in `zone`; returns the zone-encoded offset. */
export function allocate(tx: Transaction, zone: number, bytes: number): bigint {
  const vs = tx.vs;
  const where = { structure: 'allocator', index: zone };
  if (!isAllocZone(zone)) throw new BadFieldError(`cannot allocate in zone ${zone}`, where);
  if (!Number.isInteger(bytes) || bytes <= 0 || bytes > HAMMER_XBUFSIZE) throw new BadFieldError(`bad allocation size ${bytes}`, where);
  const n = round16(bytes);
  const bm = tx.header.blockmap[zone];
  const volCount = vs.volumes.length;
  let next = zoneOf(bm.nextOffset) === zone ? bm.nextOffset : zoneBase(zone);
  let wraps = 0;
  // A bound on iterations: every step advances to at least the next buffer of some big-block.
  for (let guard = 0; guard < 50_000_000; guard++) {
    const vol = volOf(next);
    let short = shortOffset(next);
    if (vol >= volCount) {
      if (++wraps > 1) break;
      next = zoneBase(zone);
      continue;
    }
    const volBytes = volumeBigBlocks(vs, vol) * BB;
    if (short >= volBytes) {
      next = encodeOffset(zone, vol + 1, 0);
      continue;
    }
    // Alignment rules.
    if (n <= HAMMER_BUFSIZE) {
      if ((short % HAMMER_BUFSIZE) + n > HAMMER_BUFSIZE) {
        next = encodeOffset(zone, vol, short - (short % HAMMER_BUFSIZE) + HAMMER_BUFSIZE);
        continue;
      }
    } else if ((short % BB) + n > BB) {
      next = encodeOffset(zone, vol, short - (short % BB) + BB);
      continue;
    }
    const fm = vs.freemapLookupOrNull(next);
    if (!fm) {
      // No layer2 for this 4 TiB range: skip it.
      next = encodeOffset(zone, vol, (Math.floor(short / LAYER1_SPAN) + 1) * LAYER1_SPAN);
      continue;
    }
    const bbShort = short - (short % BB);
    const bb = encodeOffset(zone, vol, bbShort);
    const l2 = fm.layer2;
    if (l2.zone === 0) {
      if (tx.freedBigBlocks.has(toZone2(bb)) || l2.appendOff !== 0 || l2.bytesFree !== BB) {
        next = encodeOffset(zone, vol, bbShort + BB);
        continue;
      }
      // Take the big-block for this zone.
      l2.zone = zone;
      const l1 = fm.layer1;
      l1.blocksFree -= 1n;
      sealLayer1(l1, tx.version);
      const w1 = tx.modify(fm.l1Z2, HAMMER_LAYER1_BYTES);
      encodeLayer1(l1, w1.buf.dv, w1.at);
      tx.header.statFreebigblocks -= 1n;
    } else if (l2.zone !== zone) {
      next = encodeOffset(zone, vol, bbShort + BB);
      continue;
    }
    const inBB = short - bbShort;
    if (inBB < l2.appendOff) {
      const to = round16(l2.appendOff);
      if (to >= BB) {
        next = encodeOffset(zone, vol, bbShort + BB);
        continue;
      }
      // Alignment is re-checked on the next round.
      next = encodeOffset(zone, vol, bbShort + to);
      continue;
    }
    short = bbShort + inBB;
    l2.appendOff = inBB + n;
    l2.bytesFree -= n;
    sealLayer2(l2, tx.version);
    const w2 = tx.modify(fm.l2Z2, HAMMER_LAYER2_BYTES);
    encodeLayer2(l2, w2.buf.dv, w2.at);
    const off = encodeOffset(zone, vol, short);
    bm.nextOffset = off + BigInt(n);
    tx.markFresh(off, n);
    return off;
  }
  throw new NoSpaceError(`no free space for ${n} bytes in zone ${zone}`, { structure: 'freemap', index: zone });
}

/** Return `bytes` at `off` to the freemap; a big-block that becomes empty becomes free (zone 0). */
export function freeSpace(tx: Transaction, off: bigint, bytes: number): void {
  const vs = tx.vs;
  const zone = zoneOf(off);
  const where = { structure: 'freemap', hammerOff: off };
  if (!isAllocZone(zone)) throw new BadFieldError(`cannot free an offset in zone ${zone}`, where);
  const n = round16(bytes);
  const fm = vs.freemapLookup(off);
  const l2 = fm.layer2;
  if (l2.zone !== zone) throw new BadFieldError(`freeing in a big-block owned by zone ${l2.zone}`, where);
  if (l2.bytesFree + n > BB) throw new BadFieldError(`freeing ${n} bytes would leave more than a big-block free`, where);
  l2.bytesFree += n;
  if (l2.bytesFree === BB) {
    l2.zone = 0;
    l2.appendOff = 0;
    const l1 = fm.layer1;
    l1.blocksFree += 1n;
    sealLayer1(l1, tx.version);
    const w1 = tx.modify(fm.l1Z2, HAMMER_LAYER1_BYTES);
    encodeLayer1(l1, w1.buf.dv, w1.at);
    tx.header.statFreebigblocks += 1n;
    tx.freedBigBlocks.add(toZone2(bigBlockBase(off)));
  }
  sealLayer2(l2, tx.version);
  const w2 = tx.modify(fm.l2Z2, HAMMER_LAYER2_BYTES);
  encodeLayer2(l2, w2.buf.dv, w2.at);
}

