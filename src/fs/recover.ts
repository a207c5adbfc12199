/**
 * Forensic recovery: rebuild files and directories from whatever B-Tree leaf nodes survive on the
 * media, without the tree above them (what hammer(8) `recover` does, see spec/ORACLE.md addendum
 * for its limits, which this one does not share):
 *  - every 4 KiB of zone-2 space of every volume is examined (raw-scan.ts), reachable or not;
 *  - records are de-duplicated across stale copies; a copy with a delete_tid wins over one without
 *    (a record is never undeleted, so a copy without one is older);
 *  - visibility is judged by delete_tid only (delete_ts is display data: live slave records carry
 *    one), as of `asof` or, by default, the current state (delete_tid == 0);
 *  - names come from DIRENTRY records, hard links become hard links, files are extended to the
 *    inode size (trailing holes), 64 KiB records and zero-fill records are honoured, symlinks
 *    (inline and FIX) and fifos/device nodes are rebuilt;
 *  - objects whose name chain does not reach their PFS root go to PFSnnnnn/lost+found/obj_0x<id>.
 *
 * Each object is reported complete or partial. Complete means: its inode was found (CRC good),
 * every data record found has a good CRC, its name chain reaches the PFS root, and no key range
 * that a surviving internal node names but whose node did not survive covers its records (then
 * records may be missing without any trace: a zeroed leaf).
 *
 * Reads the media only; writes only below the destination directory.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { BadSignatureError, IoError, UsageError } from '../errors.js';
import {
  HAMMER_RECTYPE_INODE, HAMMER_RECTYPE_DATA, HAMMER_RECTYPE_DB, HAMMER_RECTYPE_DIRENTRY, HAMMER_RECTYPE_FIX,
  HAMMER_RECTYPE_PFS,
  HAMMER_INODE_DATA_SIZE, HAMMER_INODE_BASESYMLEN, HAMMER_FIXKEY_SYMLINK, HAMMER_MIN_KEY, HAMMER_MAX_KEY,
  HAMMER_MAX_TID, HAMMER_PFS_DATA_SIZE,
} from '../ondisk/constants.js';
import { decodeInodeData, recordDataCrcVerdict, type InodeData } from '../ondisk/inode-data.js';
import { decodeEntryData } from '../ondisk/entry-data.js';
import { decodeBaseElm, cmpBaseElm, type BaseElm } from '../ondisk/btree-elm.js';
import { decodePfsData, isSlave } from '../ondisk/pfs-data.js';
import { uuidToId } from '../ondisk/uuid.js';
import { hex64 } from '../ondisk/int64.js';
import { isVisible } from '../btree/visibility.js';
import { inferGeometry, scanMedia, type RawMedia, type RawRecord, type ScanStats } from './raw-scan.js';
import { fileTypeOf } from './inode.js';

export type ObjKind = 'dir' | 'file' | 'symlink' | 'fifo' | 'chr' | 'blk' | 'socket' | 'dbfile' | 'unknown';

export interface RecoverOptions {
  /** Recover the state as of this TID; undefined (or 0) = current state (delete_tid == 0). */
  asof?: bigint;
  /** Only this PFS; undefined = every PFS found. */
  pfs?: number;
  /** Restore permission bits (and owners when running as root). Default false: files stay readable. */
  perms?: boolean;
  /** 'auto' skips UNDO/freemap big-blocks when the freemap is readable; 'full' scans everything. */
  scan?: 'auto' | 'full';
  onProgress?: (phase: 'scan' | 'write', done: number, total: number) => void;
}

export interface RecoveredObject {
  pfs: number;
  objId: bigint;
  type: ObjKind;
  /** Path relative to the destination ('PFS00000/dir/name'), null when nothing was created. */
  path: string | null;
  /** Further hard links. */
  links: string[];
  status: 'complete' | 'partial';
  /**
   * Why it is partial (empty when complete): inode-missing, inode-unreadable, inode-crc,
   * data-crc, data-unreadable, dirent-crc, dirent-unreadable (a directory whose entries could not
   * all be read), symlink-target-missing, symlink-target-crc, name-missing (in lost+found),
   * not-linked-to-root (inside a directory that is in lost+found), records-may-be-lost (a key range
   * covering its records belongs to a node that did not survive), size-absurd, not-created (CODE).
   */
  problems: string[];
  /** Remarks that do not make it partial (renamed name, special file not created, ...). */
  notes: string[];
  size: bigint;
  dataRecords: number;
  badDataRecords: number;
  /**
   * Bytes of [0, size) no data record covers. Holes are legal (sparse files), but where records
   * may have been lost this is where they were.
   */
  holeBytes: number;
  /** create_tid of the inode version used. */
  inodeTid: bigint | null;
  /** parent_obj_id from the inode (a hint where a nameless object belonged). */
  parentObjId: bigint | null;
  /** Where that parent directory was recovered to, when it was (for objects in lost+found). */
  parentHint: string | null;
  created: boolean;
}

export interface RecoverPfsSummary {
  id: number;
  label: string | null;
  mode: 'master' | 'slave' | null;
  objects: number;
  complete: number;
  partial: number;
}

export interface RecoverReport {
  dest: string;
  asof: bigint | null;
  volumes: { path: string; volNo: number; bufBeg: number; geometry: string; header: boolean }[];
  notes: string[];
  warnings: string[];
  scan: ScanStats & { records: number; duplicateRecords: number; conflictingCopies: number; lostRanges: number };
  pfs: RecoverPfsSummary[];
  summary: {
    objects: number;
    files: number;
    directories: number;
    symlinks: number;
    special: number;
    complete: number;
    partial: number;
    lostAndFound: number;
    bytesWritten: number;
  };
  objects: RecoveredObject[];
}

const te = new TextDecoder('utf-8', { fatal: true });
/** Bytes as text for reports: UTF-8 when valid, else latin1 with \xNN for non-printables. */
export function displayName(b: Uint8Array): string {
  try {
    return te.decode(b);
  } catch {
    let s = '';
    for (const c of b) s += c >= 0x20 && c < 0x7f && c !== 0x5c ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`;
    return s;
  }
}

/** The object kinds of the filesystem view, except that a PFS root is rebuilt as a plain directory. */
const kindOf = (t: number): ObjKind => {
  const k = fileTypeOf(t);
  return k === 'pfs' ? 'dir' : k;
};

const objName = (id: bigint) => `obj_0x${hex64(id)}`;
const pfsDirName = (p: number) => `PFS${String(p).padStart(5, '0')}`;

interface Entry {
  dir: bigint;
  name: Uint8Array;
  target: bigint;
  objType: number;
  key: bigint;
}

interface Obj {
  id: bigint;
  inodes: RawRecord[];
  data: RawRecord[];
  dirents: RawRecord[];
  fix: RawRecord[];
  // derived for the chosen TID
  inodeRec?: RawRecord;
  inode?: InodeData;
  kind: ObjKind;
  exists: boolean;
  problems: Set<string>;
  notes: string[];
  entries: Entry[];
  incoming: Entry[];
  /** Absolute path (bytes) once placed, and further links. */
  place?: Buffer;
  rel?: string;
  links: string[];
  linkedToRoot: boolean;
  inLostFound: boolean;
  created: boolean;
  size: bigint;
  dataRecords: number;
  badData: number;
  holeBytes: number;
}

const newObj = (id: bigint): Obj => ({
  id, inodes: [], data: [], dirents: [], fix: [], kind: 'unknown', exists: false, problems: new Set(), notes: [],
  entries: [], incoming: [], links: [], linkedToRoot: false, inLostFound: false, created: false, size: 0n, dataRecords: 0, badData: 0, holeBytes: 0,
});

/** Key of a record's identity (hammer_btree_cmp fields). */
const keyText = (r: Pick<BaseElm, 'localization' | 'objId' | 'recType' | 'key' | 'createTid'>) => `${r.localization}|${r.objId}|${r.recType}|${r.key}|${r.createTid}`;

/**
 * Merge copies of the same record. Stale copies (nodes freed or split away) may predate a
 * deletion; a deletion is never undone, so a copy with delete_tid set is the newer one.
 */
function dedupe(records: RawRecord[]): { recs: RawRecord[]; dups: number; conflicts: number } {
  const m = new Map<string, RawRecord>();
  let dups = 0, conflicts = 0;
  for (const r of records) {
    const k = keyText(r);
    const have = m.get(k);
    if (!have) {
      m.set(k, r);
      continue;
    }
    dups++;
    if (have.deleteTid !== r.deleteTid || have.dataOffset !== r.dataOffset || have.dataLen !== r.dataLen) conflicts++;
    if (have.deleteTid === 0n && r.deleteTid !== 0n) m.set(k, r);
    else if (have.deleteTid !== 0n && r.deleteTid !== 0n && r.deleteTid < have.deleteTid) m.set(k, r);
  }
  return { recs: [...m.values()], dups, conflicts };
}

/** Key ranges [lo, hi) named by surviving internal nodes whose child node was not found. */
function lostRanges(media: RawMedia, scan: ReturnType<typeof scanMedia>): { lo: BaseElm; hi: BaseElm }[] {
  const found = new Set<string>();
  for (const n of scan.nodes) found.add(`${n.dev}:${n.pos}`);
  const out: { lo: BaseElm; hi: BaseElm }[] = [];
  const seen = new Set<string>();
  for (const e of scan.internals) {
    const loc = media.locate(e.child, 4096);
    if (loc && found.has(`${loc.vol.index}:${loc.pos}`)) continue;
    const lo = decodeBaseElm(new DataView(e.left.buffer, e.left.byteOffset, 40), 0);
    const hi = decodeBaseElm(new DataView(e.right.buffer, e.right.byteOffset, 40), 0);
    const k = `${keyText(lo)}>${keyText(hi)}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push({ lo, hi });
  }
  return out;
}

function objKeyRange(loc: number, id: bigint): { lo: BaseElm; hi: BaseElm } {
  return {
    lo: { localization: loc, objId: id, recType: 0, key: HAMMER_MIN_KEY, createTid: 1n, deleteTid: 0n, objType: 0, btype: 0 },
    hi: { localization: loc, objId: id, recType: 0xffff, key: HAMMER_MAX_KEY, createTid: HAMMER_MAX_TID, deleteTid: 0n, objType: 0, btype: 0 },
  };
}

/** Scan, model and write. The destination must not exist or be an empty directory. */
export function recover(media: RawMedia, dest: string, o: RecoverOptions = {}): RecoverReport {
  const made = prepareDest(dest);
  const scan = scanMedia(media, { mode: o.scan, onProgress: o.onProgress && ((d, t) => o.onProgress!('scan', d, t)) });
  if (scan.nodes.length === 0 && media.volumes.every((v) => !v.header)) {
    if (made) fs.rmdirSync(dest);
    throw new BadSignatureError('no HAMMER volume header and no B-Tree node found: nothing to recover', { structure: 'media', path: media.volumes.map((v) => v.device.path).join(':') });
  }
  const notes = inferGeometry(media, scan);
  const { recs, dups, conflicts } = dedupe(scan.records);
  const lost = lostRanges(media, scan);
  const asof = o.asof && o.asof !== 0n ? o.asof : 0n;
  const vis = (r: RawRecord) => isVisible(r.createTid, r.deleteTid, asof);

  // Group by PFS and object.
  const byPfs = new Map<number, Map<bigint, Obj>>();
  const pfsRecs: RawRecord[] = [];
  for (const r of recs) {
    const p = r.localization >>> 16;
    if (r.recType === HAMMER_RECTYPE_PFS) {
      // PFS records live on PFS 0's root inode whatever PFS they describe.
      if (p === 0) pfsRecs.push(r);
      continue;
    }
    if (o.pfs !== undefined && p !== o.pfs) continue;
    let objs = byPfs.get(p);
    if (!objs) byPfs.set(p, (objs = new Map()));
    let ob = objs.get(r.objId);
    if (!ob) objs.set(r.objId, (ob = newObj(r.objId)));
    switch (r.recType) {
      case HAMMER_RECTYPE_INODE: ob.inodes.push(r); break;
      case HAMMER_RECTYPE_DATA: case HAMMER_RECTYPE_DB: ob.data.push(r); break;
      case HAMMER_RECTYPE_DIRENTRY: ob.dirents.push(r); break;
      case HAMMER_RECTYPE_FIX: ob.fix.push(r); break;
      default: break; // SNAPSHOT, CONFIG, EXT: not file content
    }
  }
  if (o.pfs !== undefined && !byPfs.has(o.pfs)) byPfs.set(o.pfs, new Map());

  const report: RecoverReport = {
    dest,
    asof: asof === 0n ? null : asof,
    volumes: media.volumes.map((v) => ({ path: v.device.path, volNo: v.no, bufBeg: v.bufBeg, geometry: v.geometry, header: !!v.header })),
    notes,
    warnings: media.warnings.map((w) => w.message),
    scan: { ...scan.stats, records: recs.length, duplicateRecords: dups, conflictingCopies: conflicts, lostRanges: lost.length },
    pfs: [],
    summary: { objects: 0, files: 0, directories: 0, symlinks: 0, special: 0, complete: 0, partial: 0, lostAndFound: 0, bytesWritten: 0 },
    objects: [],
  };

  const pfsInfo = new Map<number, { label: string; mode: 'master' | 'slave' }>();
  for (const r of pfsRecs) {
    if (!vis(r) || r.dataLen < HAMMER_PFS_DATA_SIZE) continue;
    const d = media.readData(r.dataOffset, r.dataLen);
    if (!d || recordDataCrcVerdict(r.recType, d, r.dataCrc, media.crcVersion) === null) continue;
    const pd = decodePfsData(d, { structure: 'PFS data' });
    pfsInfo.set(Number((r.key >> 16n) & 0xffffn), { label: pd.label, mode: isSlave(pd) ? 'slave' : 'master' });
  }

  const pfsIds = [...byPfs.keys()].sort((a, b) => a - b);
  let totalWork = 0;
  for (const p of pfsIds) for (const ob of byPfs.get(p)!.values()) totalWork += ob.data.length + 1;
  const progress = { done: 0, total: totalWork, cb: o.onProgress };
  for (const p of pfsIds) {
    const objs = byPfs.get(p)!;
    const ctx: PfsCtx = { media, pfs: p, objs, vis, lost, dest, o, report, progress };
    buildPfs(ctx);
    writePfs(ctx);
    const list = [...objs.values()].filter((ob) => ob.exists);
    const info = pfsInfo.get(p);
    const summary: RecoverPfsSummary = { id: p, label: info?.label ?? null, mode: info?.mode ?? null, objects: list.length, complete: 0, partial: 0 };
    for (const ob of list.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
      const status = ob.problems.size ? 'partial' : 'complete';
      summary[status]++;
      report.summary[status]++;
      report.summary.objects++;
      if (ob.kind === 'dir') report.summary.directories++;
      else if (ob.kind === 'file' || ob.kind === 'dbfile' || ob.kind === 'unknown') report.summary.files++;
      else if (ob.kind === 'symlink') report.summary.symlinks++;
      else report.summary.special++;
      if (ob.inLostFound) report.summary.lostAndFound++;
      report.objects.push({
        pfs: p, objId: ob.id, type: ob.kind, path: ob.rel ?? null, links: ob.links, status, problems: [...ob.problems].sort(), notes: ob.notes,
        size: ob.size, dataRecords: ob.dataRecords, badDataRecords: ob.badData, holeBytes: ob.holeBytes, inodeTid: ob.inodeRec?.createTid ?? null,
        parentObjId: ob.inode ? ob.inode.parentObjId : null,
        parentHint: ob.inLostFound && ob.inode ? objs.get(ob.inode.parentObjId)?.rel ?? null : null,
        created: ob.created,
      });
    }
    report.pfs.push(summary);
  }
  return report;
}

/** Check or create the destination; true when it was created here. */
function prepareDest(dest: string): boolean {
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(dest);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new IoError(`cannot stat (${(e as NodeJS.ErrnoException).code})`, { structure: 'destination', path: dest }, { cause: e });
  }
  if (st) {
    if (!st.isDirectory()) throw new UsageError('destination exists and is not a directory', { structure: 'destination', path: dest });
    if (fs.readdirSync(dest).length) throw new UsageError('destination directory is not empty', { structure: 'destination', path: dest });
    return false;
  }
  try {
    fs.mkdirSync(dest, { recursive: true });
  } catch (e) {
    throw new IoError(`cannot create (${(e as NodeJS.ErrnoException).code})`, { structure: 'destination', path: dest }, { cause: e });
  }
  return true;
}

interface PfsCtx {
  media: RawMedia;
  pfs: number;
  objs: Map<bigint, Obj>;
  vis: (r: RawRecord) => boolean;
  lost: { lo: BaseElm; hi: BaseElm }[];
  dest: string;
  o: RecoverOptions;
  report: RecoverReport;
  progress: { done: number; total: number; cb?: RecoverOptions['onProgress'] };
}

/** Newest visible version among several (more than one visible only on damaged media). */
function newestVisible(rs: RawRecord[], vis: (r: RawRecord) => boolean): RawRecord | undefined {
  let best: RawRecord | undefined;
  for (const r of rs) if (vis(r) && (!best || r.createTid > best.createTid)) best = r;
  return best;
}

/** Decide, for the chosen TID, which objects exist, their type, inode and directory entries. */
function buildPfs(c: PfsCtx): void {
  const { media, objs, vis } = c;
  const get = (id: bigint) => {
    let ob = objs.get(id);
    if (!ob) objs.set(id, (ob = newObj(id)));
    return ob;
  };
  for (const ob of [...objs.values()]) {
    const ir = newestVisible(ob.inodes, vis);
    if (ir) {
      ob.exists = true;
      ob.inodeRec = ir;
      const d = ir.dataLen === HAMMER_INODE_DATA_SIZE ? media.readData(ir.dataOffset, ir.dataLen) : undefined;
      if (!d) ob.problems.add('inode-unreadable');
      else {
        if (recordDataCrcVerdict(ir.recType, d, ir.dataCrc, media.crcVersion) === null) ob.problems.add('inode-crc');
        ob.inode = decodeInodeData(d, { structure: 'inode data', hammerOff: ir.dataOffset });
      }
    }
    if (ob.data.some(vis) || ob.fix.some(vis)) ob.exists = true;
    for (const r of ob.dirents) {
      if (!vis(r)) continue;
      ob.exists = true;
      const d = r.dataLen >= 16 ? media.readData(r.dataOffset, r.dataLen) : undefined;
      if (!d) {
        ob.problems.add('dirent-unreadable');
        continue;
      }
      if (recordDataCrcVerdict(r.recType, d, r.dataCrc, media.crcVersion) === null) ob.problems.add('dirent-crc');
      const e = decodeEntryData(d, { structure: 'directory entry', hammerOff: r.dataOffset });
      ob.entries.push({ dir: ob.id, name: e.name, target: e.objId, objType: r.objType, key: r.key });
    }
  }
  // Targets of entries exist even when none of their own records survived.
  for (const ob of [...objs.values()]) {
    for (const e of ob.entries) {
      const t = get(e.target);
      t.exists = true;
      t.incoming.push(e);
    }
  }
  const root = objs.get(1n);
  if (root) root.exists = true;
  for (const ob of objs.values()) {
    if (!ob.exists) continue;
    if (ob.inode) ob.kind = kindOf(ob.inode.objType);
    else if (ob.incoming.length) ob.kind = kindOf(ob.incoming[0].objType);
    if (ob.kind === 'unknown') ob.kind = ob.entries.length || ob.id === 1n ? 'dir' : ob.fix.length ? 'symlink' : 'file';
    if (!ob.inodeRec) ob.problems.add('inode-missing');
    // Any record of this object may have been in a leaf that did not survive.
    for (const low of [1, 2]) {
      const k = objKeyRange(((c.pfs << 16) | low) >>> 0, ob.id);
      if (c.lost.some((l) => cmpBaseElm(l.lo, k.hi) <= 0 && cmpBaseElm(k.lo, l.hi) < 0)) {
        ob.problems.add('records-may-be-lost');
        break;
      }
    }
  }
}

/** Safe single path component from raw name bytes. */
function component(name: Uint8Array, id: bigint, notes: string[]): Buffer {
  if (name.length === 0 || (name.length === 1 && name[0] === 0x2e) || (name.length === 2 && name[0] === 0x2e && name[1] === 0x2e)) {
    notes.push(`name "${displayName(name)}" cannot be used; written as ${objName(id)}`);
    return Buffer.from(objName(id));
  }
  if (!name.includes(0x2f) && !name.includes(0)) return Buffer.from(name);
  const parts: number[] = [];
  for (const b of name) {
    if (b === 0x2f || b === 0 || b === 0x25) parts.push(0x25, ...Buffer.from(b.toString(16).padStart(2, '0').toUpperCase()));
    else parts.push(b);
  }
  notes.push(`name "${displayName(name)}" holds '/' or NUL; escaped as %XX`);
  return Buffer.from(parts);
}

const SEP = Buffer.from('/');
const join = (a: Buffer, b: Buffer) => Buffer.concat([a, SEP, b]);

function writePfs(c: PfsCtx): void {
  const { objs } = c;
  const pfsRoot = Buffer.from(path.join(c.dest, pfsDirName(c.pfs)));
  const relOf = (abs: Buffer) => displayName(abs.subarray(Buffer.byteLength(c.dest) + 1));
  mkdir(pfsRoot);
  const dirsDone: Obj[] = [];
  const names = new Map<string, Set<string>>(); // dir path -> names used
  const claim = (dirAbs: Buffer, comp: Buffer, id: bigint): Buffer => {
    const key = dirAbs.toString('latin1');
    let used = names.get(key);
    if (!used) names.set(key, (used = new Set()));
    let name = comp;
    if (used.has(name.toString('latin1'))) name = Buffer.concat([comp, Buffer.from(`~${objName(id)}`)]);
    used.add(name.toString('latin1'));
    return join(dirAbs, name);
  };

  // Breadth-first from a placed directory: children get their names, directories once.
  const walk = (start: Obj, toRoot: boolean) => {
    const queue: Obj[] = [start];
    for (let qi = 0; qi < queue.length; qi++) {
      const d = queue[qi];
      const ents = [...d.entries].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      for (const e of ents) {
        const t = objs.get(e.target)!;
        if (t === d || (t.kind === 'dir' && t.place)) {
          if (t.kind === 'dir') d.notes.push(`entry "${displayName(e.name)}" names directory ${objName(t.id)} a second time; ignored`);
          continue;
        }
        const abs = claim(d.place!, component(e.name, t.id, t.notes), t.id);
        if (t.place) {
          // A further hard link to a non-directory.
          if (t.created) {
            try {
              fs.linkSync(t.place, abs);
              t.links.push(relOf(abs));
            } catch (err) {
              t.notes.push(`hard link ${relOf(abs)} not made (${(err as NodeJS.ErrnoException).code})`);
            }
          } else t.links.push(relOf(abs));
          continue;
        }
        t.place = abs;
        t.rel = relOf(abs);
        t.linkedToRoot = toRoot;
        create(c, t);
        if (t.kind === 'dir') {
          dirsDone.push(t);
          queue.push(t);
        }
      }
    }
  };

  const root = objs.get(1n);
  if (root && root.exists) {
    root.place = pfsRoot;
    root.rel = pfsDirName(c.pfs);
    root.linkedToRoot = true;
    root.created = true;
    dirsDone.push(root);
    walk(root, true);
  }

  // Whatever is not reachable from the root: top-most unplaced directories first (their
  // subtrees keep their names), then the remaining objects, all under lost+found.
  let lostDir: Buffer | undefined;
  const lostFound = (): Buffer => {
    if (!lostDir) {
      lostDir = claim(pfsRoot, Buffer.from('lost+found'), 0n);
      mkdir(lostDir);
    }
    return lostDir;
  };
  const unplaced = () => [...objs.values()].filter((ob) => ob.exists && !ob.place);
  const topOf = (d: Obj): Obj => {
    const seen = new Set<Obj>([d]);
    let cur = d;
    for (;;) {
      const parent = cur.incoming.map((e) => objs.get(e.dir)!).find((p) => p.exists && !p.place && !seen.has(p));
      if (!parent) return cur;
      seen.add(parent);
      cur = parent;
    }
  };
  for (;;) {
    const d = unplaced().find((ob) => ob.kind === 'dir');
    if (!d) break;
    const top = topOf(d);
    top.place = claim(lostFound(), Buffer.from(objName(top.id)), top.id);
    top.rel = relOf(top.place);
    top.inLostFound = true;
    create(c, top);
    dirsDone.push(top);
    walk(top, false);
  }
  for (const ob of unplaced()) {
    ob.place = claim(lostFound(), Buffer.from(objName(ob.id)), ob.id);
    ob.rel = relOf(ob.place);
    ob.inLostFound = true;
    create(c, ob);
  }
  for (const ob of objs.values()) {
    if (!ob.exists) continue;
    if (!ob.linkedToRoot) ob.problems.add(ob.inLostFound ? 'name-missing' : 'not-linked-to-root');
  }
  // Directory times (and modes) last, deepest first, so creating children does not disturb them.
  for (let i = dirsDone.length - 1; i >= 0; i--) finishMeta(c, dirsDone[i]);
}

function mkdir(p: Buffer): void {
  try {
    fs.mkdirSync(p, { recursive: true });
  } catch (e) {
    throw new IoError(`cannot create directory (${(e as NodeJS.ErrnoException).code})`, { structure: 'destination', path: displayName(p) }, { cause: e });
  }
}

/**
 * errno codes that mean the destination itself is failing (full, read-only, broken): recovery
 * stops. Any other failure (a name too long for the host, a NUL in a symlink target, ...) only
 * affects this object and is reported on it.
 */
const FATAL = new Set(['ENOSPC', 'EROFS', 'EIO', 'EDQUOT', 'EMFILE', 'ENFILE']);

/** Create one object at ob.place (directories: just the directory). */
function create(c: PfsCtx, ob: Obj): void {
  const p = ob.place!;
  try {
    switch (ob.kind) {
      case 'dir':
        fs.mkdirSync(p);
        ob.created = true;
        return; // metadata in finishMeta, after the children
      case 'symlink':
        createSymlink(c, ob, p);
        break;
      case 'fifo': case 'chr': case 'blk': case 'socket':
        createSpecial(ob, p);
        break;
      default:
        writeFile(c, ob, p);
        break;
    }
  } catch (e) {
    if (e instanceof IoError) throw e;
    const code = (e as NodeJS.ErrnoException).code ?? 'EINVAL';
    if (FATAL.has(code)) throw new IoError(`cannot write recovered object (${code})`, { structure: 'destination', path: displayName(p) }, { cause: e });
    ob.problems.add(`not-created (${code})`);
    return;
  }
  if (ob.created) finishMeta(c, ob);
}

function createSymlink(c: PfsCtx, ob: Obj, p: Buffer): void {
  let target: Uint8Array | undefined;
  const size = ob.inode ? ob.inode.size : undefined;
  ob.size = size ?? 0n;
  if (size !== undefined && size <= BigInt(HAMMER_INODE_BASESYMLEN)) {
    target = ob.inode!.ext.subarray(0, Number(size));
  } else {
    const fix = newestVisible(ob.fix.filter((r) => r.key === HAMMER_FIXKEY_SYMLINK), c.vis);
    if (fix) {
      const d = c.media.readData(fix.dataOffset, fix.dataLen);
      if (d && recordDataCrcVerdict(fix.recType, d, fix.dataCrc, c.media.crcVersion) !== null) target = d;
      else {
        ob.problems.add('symlink-target-crc');
        if (d) target = d;
      }
    }
  }
  if (!target || target.length === 0) {
    ob.problems.add('symlink-target-missing');
    return;
  }
  fs.symlinkSync(Buffer.from(target), p);
  ob.created = true;
}

function createSpecial(ob: Obj, p: Buffer): void {
  // mknod(1) and a throw-away node process take string arguments: names that are not valid
  // UTF-8 cannot be passed, and those objects are reported as not created.
  const dir = path.dirname(p.toString('utf8'));
  const base = path.basename(p.toString('utf8'));
  if (Buffer.from(path.join(dir, base), 'utf8').equals(p)) {
    let r;
    if (ob.kind === 'socket') {
      // A Unix socket file only comes from bind(); a child binds it and exits without unlinking.
      // Run in the parent directory: socket paths are limited to 108 bytes.
      r = spawnSync(process.execPath, ['-e', 'require("node:net").createServer().listen(process.argv[1], () => process.exit(0))', './' + base], { cwd: dir, stdio: 'ignore', timeout: 10_000 });
    } else {
      const args = ob.kind === 'fifo' ? [base, 'p'] : [base, ob.kind === 'chr' ? 'c' : 'b', String(ob.inode?.rmajor ?? 0), String(ob.inode?.rminor ?? 0)];
      r = spawnSync('mknod', args, { cwd: dir, stdio: 'ignore', timeout: 10_000 });
    }
    if (r.status === 0 && fs.existsSync(p)) {
      ob.created = true;
      return;
    }
  }
  const what = ob.kind === 'fifo' || ob.kind === 'socket' ? ob.kind : `${ob.kind} device ${ob.inode?.rmajor ?? '?'},${ob.inode?.rminor ?? '?'}`;
  ob.notes.push(`${what} not created (mknod failed, or the name is not valid UTF-8)`);
}

function writeFile(c: PfsCtx, ob: Obj, p: Buffer): void {
  const recs = ob.data.filter(c.vis).sort((a, b) => (a.createTid < b.createTid ? -1 : a.createTid > b.createTid ? 1 : 0));
  let size = ob.inode && !ob.problems.has('inode-crc') ? ob.inode.size : undefined;
  if (size !== undefined && size > BigInt(Number.MAX_SAFE_INTEGER)) {
    ob.problems.add('size-absurd');
    size = undefined;
  }
  if (size === undefined) {
    // No inode: the file is at least as long as its last record.
    size = 0n;
    for (const r of recs) {
      const end = r.recType === HAMMER_RECTYPE_DB ? r.key + BigInt(r.dataLen) : r.key;
      if (end > size) size = end;
    }
    ob.notes.push('size unknown (no usable inode); taken from the last data record');
  }
  ob.size = size;
  ob.holeBytes = uncovered(recs, size);
  const fd = fs.openSync(p, 'w', 0o644);
  try {
    fs.ftruncateSync(fd, Number(size));
    for (const r of recs) {
      ob.dataRecords++;
      c.progress.done++;
      const start = r.recType === HAMMER_RECTYPE_DB ? r.key : r.key - BigInt(r.dataLen);
      if (start < 0n || start >= size || start + BigInt(r.dataLen) > BigInt(Number.MAX_SAFE_INTEGER)) continue;
      const n = Number((start + BigInt(r.dataLen) > size ? size : start + BigInt(r.dataLen)) - start);
      let d: Uint8Array | undefined;
      if (r.dataOffset === 0n) d = new Uint8Array(r.dataLen); // zero-fill record
      else {
        d = c.media.readData(r.dataOffset, r.dataLen);
        if (!d) {
          ob.badData++;
          ob.problems.add('data-unreadable');
          continue;
        }
        if (recordDataCrcVerdict(r.recType, d, r.dataCrc, c.media.crcVersion) === null) {
          ob.badData++;
          ob.problems.add('data-crc');
        }
      }
      fs.writeSync(fd, d, 0, n, Number(start));
      c.report.summary.bytesWritten += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  c.progress.done++;
  c.progress.cb?.('write', c.progress.done, c.progress.total);
  ob.created = true;
}

/** Bytes of [0, size) that no record covers. */
function uncovered(recs: RawRecord[], size: bigint): number {
  const spans = recs
    .map((r) => (r.recType === HAMMER_RECTYPE_DB ? [r.key, r.key + BigInt(r.dataLen)] : [r.key - BigInt(r.dataLen), r.key]))
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  let covered = 0n, end = 0n;
  for (const [b, e] of spans) {
    const lo = b > end ? b : end;
    const hi = e < size ? e : size;
    if (hi > lo) covered += hi - lo;
    if (e > end) end = e;
  }
  return Number(size - covered);
}

/** Times always; permission bits and owners only with `perms`. */
function finishMeta(c: PfsCtx, ob: Obj): void {
  const ino = ob.inode;
  if (!ino || !ob.created) return;
  const p = ob.place!;
  const sec = (us: bigint) => Number(us / 1000n) / 1000;
  try {
    if (c.o.perms) {
      if (process.getuid?.() === 0) fs.lchownSync(p, uuidToId(ino.uid), uuidToId(ino.gid));
      if (ob.kind !== 'symlink') fs.chmodSync(p, ino.mode & 0o7777);
    }
    if (ob.kind === 'symlink') fs.lutimesSync(p, sec(ino.atime), sec(ino.mtime));
    else fs.utimesSync(p, sec(ino.atime), sec(ino.mtime));
  } catch (e) {
    ob.notes.push(`metadata not restored (${(e as NodeJS.ErrnoException).code})`);
  }
}
