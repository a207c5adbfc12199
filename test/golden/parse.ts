/**
 * Parsers for hammer(8)'s text output (show, blockmap, checkmap, with or without -v), used to
 * compare *facts* — offsets, keys, TIDs, CRC verdicts, zone allocations — between DragonFly's
 * golden files and our output, field by field, instead of text bytes.
 */

export interface Summary {
  fields: Record<string, string>;
  zones: { zone: number; label: string; phys: string; first: string; next: string; alloc: string }[];
}
export interface ShowElm {
  flags: string;
  kind: 'ELM' | 'RBN';
  index: number;
  btype: string;
  lo: string;
  objid: string;
  rt: string;
  key: string;
  tid: string;
  mark: string;
  del: string;
  ot: string;
  suboff?: string;
  mirror?: string;
  dataoff?: string;
  datalen?: number;
  crcPrefix?: string;
  crc?: string;
  error?: string;
  fill?: string;
  /** key=value pairs of the decoded payload lines (inode, pfs, dir-entry, ...) */
  record: Record<string, string>;
  recordKind?: string;
}
export interface ShowNode {
  bad: string;
  mark: string;
  offset: string;
  count: number;
  parent: string;
  type: string;
  depth: number;
  mirror: string;
  fill: string;
  elms: ShowElm[];
}
export interface ZoneStatLine {
  zone: number;
  blocks: number;
  items: number;
  used: number;
  pct: string;
}
export interface ShowFacts {
  summary: Summary;
  nodes: ShowNode[];
  zoneStats?: ZoneStatLine[];
  counters: Record<string, number>;
}

const NODE_RE = /^(.)(.)   NODE ([0-9a-f]{16}) cnt=(-?\d+) p=([0-9a-f]{16}) type=(.) depth=(\d+) mirror=([0-9a-f]{16}) fill=(\S+) \{$/;
const ELM_RE = /^([GB][-LRTCM]{6}) (ELM|RBN) +(\d+) (.) lo=([0-9a-f]{8}) objid=([0-9a-f]{16}) rt=([0-9a-f]+) key=([0-9a-f]{16}) tid=([0-9a-f]{16})$/;
const ELM2_RE = /^ {15}(.) del=([0-9a-f]{16}) ot=([0-9a-f]{2})(.*)$/;
const ZONE_RE = /^zone (\d+) +(\S*) +([0-9a-f]{16}) ([0-9a-f]{16}) ([0-9a-f]{16}) ([0-9a-f]{16})$/;
const ZSTAT_RE = /^zone (\d+) +(?:[a-z_]+ +)?(\d+) +(\d+) +(\d+) +(\S+)$/;

export function parseSummary(lines: string[]): Summary {
  const s: Summary = { fields: {}, zones: [] };
  for (const l of lines) {
    const kv = /^(vol_\w+|vol0_\w+|undo_\w+)\t(.*)$/.exec(l);
    if (kv) s.fields[kv[1]] = kv[2];
    const z = ZONE_RE.exec(l);
    if (z) s.zones.push({ zone: +z[1], label: z[2], phys: z[3], first: z[4], next: z[5], alloc: z[6] });
  }
  return s;
}

function parseZoneStats(lines: string[]): ZoneStatLine[] | undefined {
  const i = lines.indexOf('HAMMER zone statistics');
  if (i < 0) return undefined;
  const out: ZoneStatLine[] = [];
  for (let j = i + 2; j < i + 18; j++) {
    const m = ZSTAT_RE.exec(lines[j]);
    if (!m) throw new Error(`bad zone statistics line: ${lines[j]}`);
    out.push({ zone: +m[1], blocks: +m[2], items: +m[3], used: +m[4], pct: m[5] });
  }
  return out;
}

function parseCounters(lines: string[]): Record<string, number> {
  const c: Record<string, number> = {};
  for (const l of lines) {
    const m = /^(\d+) (bad nodes|bad elms|bad records|bad layer1|bad layer2|errors)$/.exec(l);
    if (m) c[m[2]] = +m[1];
  }
  return c;
}

function parseRecord(text: string, e: ShowElm): void {
  const t = text.trim();
  const kind = /^(inode|dir-entry|fix-symlink|pfs|snapshot|unknown|config)\b/.exec(t);
  if (kind) e.recordKind = kind[1];
  for (const m of t.matchAll(/(\w+)=("(?:[^"]*)"|\S+)/g)) e.record[m[1]] = m[2].startsWith('"') ? m[2].slice(1, -1) : m[2];
}

export function parseShow(text: string): ShowFacts {
  const lines = text.split('\n');
  const facts: ShowFacts = { summary: parseSummary(lines), nodes: [], counters: parseCounters(lines), zoneStats: parseZoneStats(lines) };
  let node: ShowNode | null = null;
  let elm: ShowElm | null = null;
  let rec = '';
  const flushRec = () => {
    if (elm && rec) parseRecord(rec, elm);
    rec = '';
  };
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    const n = NODE_RE.exec(l);
    if (n) {
      flushRec();
      elm = null;
      node = { bad: n[1], mark: n[2], offset: n[3], count: +n[4], parent: n[5], type: n[6], depth: +n[7], mirror: n[8], fill: n[9], elms: [] };
      facts.nodes.push(node);
      continue;
    }
    const e = ELM_RE.exec(l);
    if (e && node) {
      flushRec();
      const m2 = ELM2_RE.exec(lines[++i]);
      if (!m2) throw new Error(`element without second line at line ${i}: ${lines[i]}`);
      elm = {
        flags: e[1], kind: e[2] as 'ELM' | 'RBN', index: +e[3], btype: e[4], lo: e[5], objid: e[6], rt: e[7], key: e[8], tid: e[9],
        mark: m2[1], del: m2[2], ot: m2[3], record: {},
      };
      const rest = m2[4];
      const int = / suboff=([0-9a-f]{16}) mirror=([0-9a-f]{16})/.exec(rest);
      if (int) {
        elm.suboff = int[1];
        elm.mirror = int[2];
      }
      const leaf = / dataoff=([0-9a-f]{16})\/(-?\d+) ([io]?)crc=([0-9a-f]{8})(?: error=(\S+))? fill=(\S+)/.exec(rest);
      if (leaf) {
        elm.dataoff = leaf[1];
        elm.datalen = +leaf[2];
        elm.crcPrefix = leaf[3];
        elm.crc = leaf[4];
        elm.error = leaf[5];
        elm.fill = leaf[6];
      }
      node.elms.push(elm);
      continue;
    }
    if (l === '     }') {
      flushRec();
      elm = null;
      continue;
    }
    if (elm && /^ {17}/.test(l)) rec += ' ' + l;
  }
  flushRec();
  return facts;
}

export interface BlockmapL2 {
  flags: string;
  offset: string;
  zone: number;
  vol?: number;
  l1Index?: number;
  l2Index?: number;
  l1Off?: number;
  l2Off?: number;
  app: number;
  free: number;
  fill?: string;
  l1crc?: string;
  l2crc?: string;
}
export interface BlockmapL1 {
  flag: string;
  offset: string;
  phys: string;
  blocksFree: number;
  layer2: BlockmapL2[];
}
export interface BlockmapFacts {
  summary: Summary;
  layer1: BlockmapL1[];
  zoneStats?: ZoneStatLine[];
  counters: Record<string, number>;
}
const L1_RE = /^(.) layer1 ([0-9a-f]{16}) @([0-9a-f]{16}) blocks-free (-?\d+)$/;
const L2_RE = /^(...)     ([0-9a-f]{16}) zone=(\d+) +(?:vol=(\d+) +L1#=(\d+) +L2#=(\d+) +L1=(\d+) +L2=(\d+) +)?app=(\d+) +free=(-?\d+) *(?:fill=([\d.]+) +crc=([0-9a-f]{8})-([0-9a-f]{8}))?$/;

export function parseBlockmap(text: string): BlockmapFacts {
  const lines = text.split('\n');
  const f: BlockmapFacts = { summary: parseSummary(lines), layer1: [], counters: parseCounters(lines), zoneStats: parseZoneStats(lines) };
  for (const l of lines) {
    const a = L1_RE.exec(l);
    if (a) {
      f.layer1.push({ flag: a[1], offset: a[2], phys: a[3], blocksFree: +a[4], layer2: [] });
      continue;
    }
    const b = L2_RE.exec(l);
    if (b) {
      const e: BlockmapL2 = { flags: b[1], offset: b[2], zone: +b[3], app: +b[9], free: +b[10] };
      if (b[4] !== undefined) Object.assign(e, { vol: +b[4], l1Index: +b[5], l2Index: +b[6], l1Off: +b[7], l2Off: +b[8] });
      if (b[11] !== undefined) Object.assign(e, { fill: b[11], l1crc: b[12], l2crc: b[13] });
      f.layer1[f.layer1.length - 1].layer2.push(e);
    }
  }
  return f;
}

export interface CheckmapLine {
  verdict: string;
  block: string;
  zone?: number;
  calcZone?: number;
  free?: number;
  calcFree?: number;
}
export interface CheckmapFacts {
  summary: Summary;
  lines: CheckmapLine[];
  done: string[];
  zoneStats?: ZoneStatLine[];
  counters: Record<string, number>;
}
export function parseCheckmap(text: string): CheckmapFacts {
  const lines = text.split('\n');
  const f: CheckmapFacts = { summary: parseSummary(lines), lines: [], done: [], counters: parseCounters(lines), zoneStats: parseZoneStats(lines) };
  for (const l of lines) {
    let m = /^Collecting allocation info from (\S+): done$/.exec(l);
    if (m) f.done.push(m[1]);
    m = /^\tblock=([0-9a-f]{16}) zone=(\d+) +(-?\d+) free \(correct\)$/.exec(l);
    if (m) f.lines.push({ verdict: 'correct', block: m[1], zone: +m[2], free: +m[3], calcFree: +m[3] });
    m = /^BZ\tblock=([0-9a-f]{16}) calc zone=(\d+) *, got zone=(\d+) *$/.exec(l);
    if (m) f.lines.push({ verdict: 'BZ', block: m[1], calcZone: +m[2], zone: +m[3] });
    m = /^BM\tblock=([0-9a-f]{16}) zone=(\d+) +calc (-?\d+) free, got (-?\d+)$/.exec(l);
    if (m) f.lines.push({ verdict: 'BM', block: m[1], zone: +m[2], calcFree: +m[3], free: +m[4] });
  }
  return f;
}
