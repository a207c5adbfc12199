/**
 * The volume summary every inspecting command prints first (sbin/hammer print_blockmap()):
 * label, count, fstype, fsid, region sizes, next TID, UNDO size/used, the 16 zone iterators.
 * Also the zone statistics table of `-v`. Text follows hammer(8) column for column.
 */
import type { VolumeSet } from '../../src/volume/volume-set.js';
import { HAMMER_ZONE_UNDO_INDEX, HAMMER_OFF_LONG_MASK, HAMMER_BIGBLOCK_SIZE } from '../../src/ondisk/constants.js';
import { hex64 } from '../../src/ondisk/int64.js';
import { uuidToString, HAMMER_FSTYPE_UUID } from '../../src/ondisk/uuid.js';
import type { Output } from '../output.js';

/** hammer(8)'s zone labels (ondisk.c zone_labels[]), used in text output. */
export const ZONE_LABELS: readonly string[] = [
  '', 'raw_volume', 'raw_buffer', 'undo', 'freemap', '', '', '',
  'btree', 'meta', 'large_data', 'small_data', '', '', '', 'unavail',
];

/** sizetostr(): "%6.2f" in the unit that keeps the value at or above one half. */
export function sizeToStr(n: number): string {
  const units: [number, string][] = [[1, 'B'], [1024, 'KB'], [1024 ** 2, 'MB'], [1024 ** 3, 'GB']];
  for (const [div, u] of units) if (n < (div * 1024) / 2) return (n / div).toFixed(2).padStart(6) + u;
  return (n / 1024 ** 4).toFixed(2).padStart(6) + 'TB';
}

export interface VolumeSummary {
  label: string;
  volCount: number;
  fstype: string;
  fsid: string;
  version: number;
  botBeg: number;
  memBeg: number;
  bufBeg: number;
  bufEnd: number;
  nextTid: bigint;
  btreeRoot: bigint;
  undoSize: number;
  undoUsed: number;
  zones: { zone: number; label: string; phys: bigint; first: bigint; next: bigint; alloc: bigint; entryCrc: string }[];
}

/** Summary of the root volume (what print_blockmap() shows). */
export function volumeSummary(vs: VolumeSet): VolumeSummary {
  const h = vs.root;
  const u = h.blockmap[HAMMER_ZONE_UNDO_INDEX];
  const size = Number(u.allocOffset & HAMMER_OFF_LONG_MASK);
  // The FIFO is circular: used = next - first, or wrapped around the end.
  const used = u.firstOffset <= u.nextOffset
    ? Number(u.nextOffset - u.firstOffset)
    : Number(u.allocOffset - u.firstOffset) + Number(u.nextOffset & HAMMER_OFF_LONG_MASK);
  return {
    label: h.label, volCount: h.volCount, fstype: uuidToString(h.fstype), fsid: uuidToString(h.fsid), version: h.version,
    botBeg: h.botBeg, memBeg: h.memBeg, bufBeg: h.bufBeg, bufEnd: h.bufEnd, nextTid: h.nextTid, btreeRoot: h.btreeRoot,
    undoSize: size, undoUsed: used,
    zones: h.blockmap.map((e, zone) => ({
      zone, label: ZONE_LABELS[zone], phys: e.physOffset, first: e.firstOffset, next: e.nextOffset, alloc: e.allocOffset, entryCrc: e.entryCrc.toString(16).padStart(8, '0'),
    })),
  };
}

export function printVolumeSummary(o: Output, s: VolumeSummary): void {
  o.line(`vol_label\t${s.label}`);
  o.line(`vol_count\t${s.volCount}`);
  o.line(`vol_fstype\t${s.fstype}${s.fstype === HAMMER_FSTYPE_UUID ? ' "DragonFly HAMMER"' : ''}`);
  o.line(`vol_fsid\t${s.fsid}`);
  o.line(`vol_bot_beg\t${sizeToStr(s.botBeg)}`);
  o.line(`vol_mem_beg\t${sizeToStr(s.memBeg)}`);
  o.line(`vol_buf_beg\t${sizeToStr(s.bufBeg)}`);
  o.line(`vol_buf_end\t${sizeToStr(s.bufEnd)}`);
  o.line(`vol0_next_tid\t${hex64(s.nextTid)}`);
  o.line(`undo_size\t${sizeToStr(s.undoSize)}`);
  o.line(`undo_used\t${sizeToStr(s.undoUsed)}`);
  o.line('zone #             phys             first            next             alloc');
  for (const z of s.zones) {
    o.line(`zone ${String(z.zone).padEnd(2)} ${z.label.padEnd(10)} ${hex64(z.phys)} ${hex64(z.first)} ${hex64(z.next)} ${hex64(z.alloc)}`);
  }
}

/** Per-zone counters of `-v` (zone_stat in sbin/hammer misc.c). */
export interface ZoneStat {
  zone: number;
  blocks: number;
  items: number;
  used: number;
}

/**
 * Accumulates zone statistics the way hammer(8) does: a big-block counts once per (volume,
 * layer1, layer2) position whatever the zone nibble, items once per call, bytes as given.
 */
export class ZoneStats {
  readonly zones: ZoneStat[] = Array.from({ length: 16 }, (_, zone) => ({ zone, blocks: 0, items: 0, used: 0 }));
  private seen = new Set<bigint>();
  add(off: bigint, bytes: number): void {
    const zone = Number(BigInt.asUintN(64, off) >> 60n);
    const block = (off & HAMMER_OFF_LONG_MASK) >> 23n;
    const z = this.zones[zone];
    if (!this.seen.has(block)) {
      this.seen.add(block);
      z.blocks++;
    }
    z.items++;
    z.used += bytes;
  }
  /** One big-block as a freemap layer2 entry describes it (blockmap -v, checkmap -v). */
  addLayer2(zone: number, bytesFree: number): void {
    const z = this.zones[zone & 15];
    z.blocks++;
    z.used += HAMMER_BIGBLOCK_SIZE - bytesFree;
  }
}

/** printf("%g") for the used[%] column: 6 significant digits, C's round-half-even on exact ties. */
export function fmtG(x: number): string {
  if (x === 0) return '0';
  let m = x.toExponential(5); // d.ddddde±x, ties rounded up
  const exact = x.toPrecision(100).replace(/e.*$/, '').replace('-', '').replace('.', '').replace(/^0+/, '');
  if (/^\d{6}50*$/.test(exact) && Number(exact[5]) % 2 === 0) {
    const e0 = Number(x.toExponential(20).split('e')[1]);
    m = `${x < 0 ? '-' : ''}${exact[0]}.${exact.slice(1, 6)}e${e0 < 0 ? '' : '+'}${e0}`;
  }
  const [mant, es] = m.split('e');
  const e = Number(es);
  const strip = (t: string) => (t.includes('.') ? t.replace(/0+$/, '').replace(/\.$/, '') : t);
  if (e < -4 || e >= 6) return `${strip(mant)}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  const digits = mant.replace('-', '').replace('.', '');
  const neg = x < 0 ? '-' : '';
  let t: string;
  if (e >= 0) t = digits.slice(0, e + 1) + '.' + digits.slice(e + 1);
  else t = '0.' + '0'.repeat(-e - 1) + digits;
  return neg + strip(t);
}
const pct = (blocks: number, used: number) => (blocks ? (used * 100) / (blocks * HAMMER_BIGBLOCK_SIZE) : 0);

export function printZoneStats(o: Output, zs: ZoneStat[]): void {
  o.line('HAMMER zone statistics');
  o.line('zone #             blocks       items              used[B]             used[%]');
  let b = 0, it = 0, u = 0;
  for (const z of zs) {
    o.line(`zone ${String(z.zone).padEnd(2)} ${ZONE_LABELS[z.zone].padEnd(10)} ${String(z.blocks).padEnd(12)} ${String(z.items).padEnd(18)} ${String(z.used).padEnd(19)} ${fmtG(pct(z.blocks, z.used))}`);
    b += z.blocks;
    it += z.items;
    u += z.used;
  }
  o.line('-'.repeat(80));
  o.line(`total              ${String(b).padEnd(12)} ${String(it).padEnd(18)} ${String(u).padEnd(19)} ${fmtG(pct(b, u))}`);
}

export function zoneStatsJson(zs: ZoneStat[]) {
  return zs.map((z) => ({ zone: z.zone, label: ZONE_LABELS[z.zone], blocks: z.blocks, items: z.items, usedBytes: z.used }));
}
