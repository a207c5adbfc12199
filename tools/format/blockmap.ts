/**
 * `hammerfs blockmap` and `hammerfs checkmap` output: text in hammer(8)'s layout
 * (cmd_blockmap.c) and the JSON documents of docs/json-schemas.md.
 */
import type { Layer1Report, Layer2Report, CheckmapResult, CheckedBlock } from '../../src/btree/checkmap.js';
import { HAMMER_BIGBLOCK_SIZE } from '../../src/ondisk/constants.js';
import { hex64, hex32 } from '../../src/ondisk/int64.js';
import type { Output } from '../output.js';

/** printf("%.1f") with C's round-half-even on exact ties (6.25 -> 6.2). */
export function cFixed1(x: number): string {
  const s = x.toFixed(1);
  const exact = x.toFixed(20);
  const m = /^(-?\d+)\.(\d)(\d*)$/.exec(exact);
  if (m && /^50*$/.test(m[3]) && Number(m[2]) % 2 === 0) return `${m[1]}.${m[2]}`;
  return s;
}

export function layer1Line(l1: Layer1Report): string {
  return `${l1.crcOk ? ' ' : 'B'} layer1 ${hex64(l1.zoneOffset)} @${hex64(l1.entry.physOffset)} blocks-free ${l1.entry.blocksFree}`;
}

export function layer2Line(l2: Layer2Report, verbose: number): string {
  const e = l2.entry;
  let s = `${l2.crcOk ? ' ' : 'B'}${l2.badAppend ? 'A' : ' '}${l2.badFree ? 'F' : ' '}     ${hex64(l2.zoneOffset)} zone=${String(e.zone).padEnd(2)} `;
  if (verbose) {
    s += `vol=${String(l2.vol).padEnd(3)} L1#=${String(l2.l1.index).padEnd(6)} L2#=${String(l2.index).padEnd(6)} L1=${String(l2.l1.index * 32).padEnd(7)} L2=${String(l2.index * 16).padEnd(7)} `;
  }
  s += `app=${String(e.appendOff).padEnd(7)} free=${String(e.bytesFree).padEnd(7)}`;
  if (verbose) {
    const used = HAMMER_BIGBLOCK_SIZE - e.bytesFree;
    s += ` fill=${cFixed1((used * 100) / HAMMER_BIGBLOCK_SIZE).padEnd(5)} crc=${hex32(l2.l1.entry.layer1Crc)}-${hex32(e.entryCrc)}`;
  }
  return s;
}

export function layer2Json(l2: Layer2Report) {
  const e = l2.entry;
  return {
    offset: l2.zoneOffset, vol: l2.vol, layer1Index: l2.l1.index, layer2Index: l2.index, zone: e.zone, appendOff: e.appendOff,
    bytesFree: e.bytesFree, entryCrc: hex32(e.entryCrc), crcOk: l2.crcOk, badAppend: l2.badAppend, badFree: l2.badFree,
  };
}
export function layer1Json(l1: Layer1Report) {
  return {
    index: l1.index, offset: l1.zoneOffset, physOffset: l1.entry.physOffset, blocksFree: Number(l1.entry.blocksFree),
    layer1Crc: hex32(l1.entry.layer1Crc), crcOk: l1.crcOk, layer2: [] as ReturnType<typeof layer2Json>[],
  };
}

/* ---- checkmap ---- */

export function checkedBlockLine(b: CheckedBlock, verbose: number): string | null {
  const z = (n: number) => String(n).padEnd(2);
  switch (b.verdict) {
    case 'BZ':
      return `BZ\tblock=${hex64(b.block)} calc zone=${z(b.calcZone)}, got zone=${z(b.layer2.zone)}`;
    case 'BM':
      return `BM\tblock=${hex64(b.block)} zone=${z(b.layer2.zone)} calc ${b.calcFree} free, got ${b.layer2.bytesFree}`;
    case 'BA':
      return `BA\tblock=${hex64(b.block)} zone=${z(b.layer2.zone)} referenced up to ${b.calcEnd}, but append_off is ${b.layer2.appendOff}`;
    default:
      return verbose ? `\tblock=${hex64(b.block)} zone=${z(b.layer2.zone)} ${b.calcFree} free (correct)` : null;
  }
}

export function printCheckmap(o: Output, r: CheckmapResult, verbose: number): void {
  for (const n of r.badNodes) o.line(`B    NODE ${hex64(n.offset)} depth=${n.depth} ${n.problem}`);
  o.line('Collecting allocation info from freemap: done');
  o.line('Collecting allocation info from B-Tree: done');
  o.line('Collecting allocation info from UNDO: done');
  for (const u of r.undoIllegal.slice(0, 20)) o.line(`Illegal size at ${hex64(u)}, skipping to next boundary`);
  for (const u of r.unmapped) o.line(`BU\toffset=${hex64(u.offset)} length=${u.length} zone=${u.zone} (${u.source}): ${u.message}`);
  for (const b of r.blocks) {
    const l = checkedBlockLine(b, verbose);
    if (l !== null) o.line(l);
  }
}

export function checkmapJson(r: CheckmapResult) {
  return {
    blocks: r.blocks.map((b) => ({
      block: b.block, vol: b.vol, layer1Index: b.l1Index, layer2Index: b.l2Index, calcZone: b.calcZone, calcFree: b.calcFree,
      calcEnd: b.calcEnd, zone: b.layer2.zone, bytesFree: b.layer2.bytesFree, appendOff: b.layer2.appendOff, verdict: b.verdict,
    })),
    badNodes: r.badNodes.map((n) => ({ offset: n.offset, depth: n.depth, problem: n.problem, volNo: n.where.volNo ?? null, rawOffset: n.where.rawOffset ?? null })),
    unmapped: r.unmapped.map((u) => ({ offset: u.offset, length: u.length, zone: u.zone, source: u.source, message: u.message })),
    undoIllegal: r.undoIllegal,
    counts: { nodes: r.nodes, leafElms: r.leafElms, undoRecords: r.undoRecords, badNodes: r.badNodes.length, errors: r.errors },
  };
}
