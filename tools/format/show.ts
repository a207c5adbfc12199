/**
 * `hammerfs show` output: text in `hammer show`'s layout (cmd_show.c; see spec ORACLE.md §2.1) and
 * the JSON document of docs/json-schemas.md. Both are built from src/btree/walk.ts reports; this
 * module only decodes payloads for display and prints.
 */
import type { VolumeSet } from '../../src/volume/volume-set.js';
import {
  ELMF_TOOFARLEFT, ELMF_TOOFARRIGHT, ELMF_BADTYPE, ELMF_BADCHILDPARENT, ELMF_BADMIRRORTID, bigBlockFill,
  type WalkedNode, type WalkStats, type BigBlockFill,
} from '../../src/btree/walk.js';
import { ELM } from '../../src/ondisk/btree-elm.js';
import {
  LE, HAMMER_BTREE_TYPE_INTERNAL, HAMMER_BTREE_TYPE_LEAF, HAMMER_BTREE_TYPE_RECORD, HAMMER_BTREE_TYPE_DELETED,
  HAMMER_RECTYPE_INODE, HAMMER_RECTYPE_DIRENTRY, HAMMER_RECTYPE_FIX, HAMMER_RECTYPE_PFS, HAMMER_RECTYPE_SNAPSHOT,
  HAMMER_RECTYPE_CONFIG, HAMMER_RECTYPE_UNKNOWN, HAMMER_XBUFSIZE, HAMMER_FIXKEY_SYMLINK, HAMMER_MIN_KEY, HAMMER_MAX_KEY, HAMMER_MAX_TID,
} from '../../src/ondisk/constants.js';
import { hex64, hex32 } from '../../src/ondisk/int64.js';
import { decodeInodeData } from '../../src/ondisk/inode-data.js';
import { decodeEntryData } from '../../src/ondisk/entry-data.js';
import { decodePfsData } from '../../src/ondisk/pfs-data.js';
import { decodeSnapshotData, decodeConfigData } from '../../src/ondisk/snapshot-data.js';
import { uuidToString } from '../../src/ondisk/uuid.js';
import type { CrcVerdict } from '../../src/ondisk/crc.js';
import { HammerError, describeWhere } from '../../src/errors.js';
import type { Output } from '../output.js';
import type { ZoneStats } from './header.js';

const hex2 = (n: number) => n.toString(16).padStart(2, '0');
const dec2 = (n: number) => (n < 0 ? '-' + String(-n).padStart(2, '0') : String(n).padStart(2, '0'));

/** hammer_elm_btype(): the element's btype as one character. */
export function btypeChar(b: number): string {
  if (b === HAMMER_BTREE_TYPE_INTERNAL || b === HAMMER_BTREE_TYPE_LEAF || b === HAMMER_BTREE_TYPE_RECORD || b === HAMMER_BTREE_TYPE_DELETED) return String.fromCharCode(b);
  return b === 0 ? '*' : '?';
}
/** "G------" / "B-LR-CM" */
export function flagString(f: number): string {
  return (f ? 'B' : 'G') + '-' + (f & ELMF_TOOFARLEFT ? 'L' : '-') + (f & ELMF_TOOFARRIGHT ? 'R' : '-') + (f & ELMF_BADTYPE ? 'T' : '-')
    + (f & ELMF_BADCHILDPARENT ? 'C' : '-') + (f & ELMF_BADMIRRORTID ? 'M' : '-');
}
export function fillString(f: BigBlockFill): string {
  return `z${f.zone}:v${f.vol}:${f.l1}:${f.l2}:${f.offset}=` + (f.error ? `B${f.error}` : `${f.percent}%`);
}
const crcPrefix = (v: CrcVerdict | undefined) => (v === 'crc32c' ? 'i' : v === 'crc32' ? 'o' : '');

/** Bytes as text: UTF-8 when valid and printable, otherwise \xNN escapes for the odd bytes. */
export function showBytes(b: Uint8Array): string {
  try {
    const s = new TextDecoder('utf-8', { fatal: true }).decode(b);
    if (!/[\x00-\x1f\x7f]/.test(s)) return s;
  } catch {
    /* fall through */
  }
  let s = '';
  for (const c of b) s += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : '\\x' + hex2(c);
  return s;
}
function cstrBytes(b: Uint8Array): Uint8Array {
  const z = b.indexOf(0);
  return z < 0 ? b : b.subarray(0, z);
}

/** is_root_btree_beg / _end: the boundary elements a root split leaves in an internal node. */
function rootMark(n: WalkedNode, i: number): string {
  const node = n.node!;
  if (node.type !== HAMMER_BTREE_TYPE_INTERNAL) return ' ';
  const dv = node.dv, at = node.elmAt(i);
  const loc = dv.getUint32(at + ELM.localization, LE), oid = dv.getBigInt64(at + ELM.objId, LE), key = dv.getBigInt64(at + ELM.key, LE);
  const ct = dv.getBigUint64(at + ELM.createTid, LE), dt = dv.getBigUint64(at + ELM.deleteTid, LE);
  const rt = dv.getUint16(at + ELM.recType, LE), ot = dv.getUint8(at + ELM.objType), bt = dv.getUint8(at + ELM.btype);
  if (i === 0 && loc === 0 && oid === HAMMER_MIN_KEY && key === HAMMER_MIN_KEY && ct === 1n && dt === 1n && rt === 0 && ot === 0 && bt !== 0) return '>';
  if (i !== 0 && loc === 0xffffffff && oid === HAMMER_MAX_KEY && key === HAMMER_MAX_KEY && ct === HAMMER_MAX_TID && dt === 0n && rt === 0xffff && ot === 0 && bt === 0) return '<';
  return ' ';
}

/** A decoded leaf payload for display (JSON form; text is printed from it). */
export type RecordJson =
  | { type: 'inode'; size: number | bigint; nlinks: number | bigint; mode: number; uflags: number; capFlags: number; parentObjId: bigint; objType: number; ctime: bigint; mtime: bigint; atime: bigint; symlink?: string; uid: string; gid: string; rmajor: number; rminor: number }
  | { type: 'dir-entry'; objId: bigint; localization: number; name: string; nameHex: string }
  | { type: 'fix-symlink'; name: string; nameHex: string }
  | { type: 'pfs'; syncLowTid: bigint; syncBegTid: bigint; syncEndTid: bigint; sharedUuid: string; uniqueUuid: string; mirrorFlags: number; label: string; snapshots: string }
  | { type: 'snapshot'; tid: bigint; ts: bigint; label: string }
  | { type: 'config'; text: string }
  | { type: 'unknown' }
  | { type: 'error'; message: string };

export function decodeRecord(vs: VolumeSet, n: WalkedNode, i: number): RecordJson | null {
  const node = n.node!;
  const dv = node.dv, at = node.elmAt(i);
  const rt = dv.getUint16(at + ELM.recType, LE);
  const off = dv.getBigUint64(at + ELM.dataOffset, LE);
  const len = dv.getInt32(at + ELM.dataLen, LE);
  if (off === 0n || len <= 0) return null;
  const where = { structure: 'record data', hammerOff: off };
  // no record payload is larger than 64 KiB: never allocate what a damaged data_len says
  if (len > HAMMER_XBUFSIZE) return { type: 'error', message: `data_len ${len} is larger than 64 KiB` };
  try {
    switch (rt) {
      case HAMMER_RECTYPE_UNKNOWN:
        return { type: 'unknown' };
      case HAMMER_RECTYPE_INODE: {
        const d = decodeInodeData(vs.read(off, len, where), where);
        const r: RecordJson = {
          type: 'inode', size: countOrHex(d.size), nlinks: countOrHex(d.nlinks), mode: d.mode, uflags: d.uflags, capFlags: d.capFlags, parentObjId: d.parentObjId,
          objType: d.objType, ctime: d.ctime, mtime: d.mtime, atime: d.atime, uid: uuidToString(d.uid), gid: uuidToString(d.gid), rmajor: d.rmajor, rminor: d.rminor,
        };
        if (d.ext[0] !== 0) r.symlink = showBytes(cstrBytes(d.ext));
        return r;
      }
      case HAMMER_RECTYPE_DIRENTRY: {
        const e = decodeEntryData(vs.read(off, len, where), where);
        const name = cstrBytes(e.name);
        return { type: 'dir-entry', objId: e.objId, localization: e.localization, name: showBytes(name), nameHex: Buffer.from(name).toString('hex') };
      }
      case HAMMER_RECTYPE_FIX: {
        if (dv.getBigInt64(at + ELM.key, LE) !== HAMMER_FIXKEY_SYMLINK) return null;
        const name = cstrBytes(vs.read(off, len, where));
        return { type: 'fix-symlink', name: showBytes(name), nameHex: Buffer.from(name).toString('hex') };
      }
      case HAMMER_RECTYPE_PFS: {
        const p = decodePfsData(vs.read(off, len, where), where);
        return {
          type: 'pfs', syncLowTid: p.syncLowTid, syncBegTid: p.syncBegTid, syncEndTid: p.syncEndTid, sharedUuid: uuidToString(p.sharedUuid),
          uniqueUuid: uuidToString(p.uniqueUuid), mirrorFlags: p.mirrorFlags, label: p.label, snapshots: p.snapshots,
        };
      }
      case HAMMER_RECTYPE_SNAPSHOT: {
        const s = decodeSnapshotData(vs.read(off, len, where), where);
        return { type: 'snapshot', tid: s.tid, ts: s.ts, label: s.label };
      }
      case HAMMER_RECTYPE_CONFIG:
        return { type: 'config', text: decodeConfigData(vs.read(off, len, where)) };
      default:
        return null;
    }
  } catch (e) {
    if (e instanceof HammerError) return { type: 'error', message: e.message };
    throw e;
  }
}

const IND = ' '.repeat(17);

/** A u64 count/size: a JSON number when exact, else the "0x%016x" string (never a rounded float). */
function countOrHex(v: bigint): number | bigint {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function printRecord(o: Output, r: RecordJson, verbose: number): void {
  switch (r.type) {
    case 'unknown':
      o.write(`\n${IND}unknown`);
      break;
    case 'inode':
      o.write(`\n${IND}inode size=${BigInt.asIntN(64, BigInt(r.size))} nlinks=${BigInt.asIntN(64, BigInt(r.nlinks))} mode=${r.mode.toString(8).padStart(5, '0')} uflags=${hex32(r.uflags)} caps=${hex2(r.capFlags)} pobjid=${hex64(r.parentObjId)} ot=${hex2(r.objType)}\n`);
      o.write(`${IND}      ctime=${hex64(r.ctime)} mtime=${hex64(r.mtime)} atime=${hex64(r.atime)}`);
      if (r.symlink !== undefined) o.write(` symlink="${r.symlink}"`);
      break;
    case 'dir-entry':
      o.write(`\n${IND}dir-entry objid=${hex64(r.objId)} lo=${hex32(r.localization)} name="${r.name}"`);
      break;
    case 'fix-symlink':
      o.write(`\n${IND}fix-symlink name="${r.name}"`);
      break;
    case 'pfs':
      o.write(`\n${IND}pfs sync_beg_tid=${hex64(r.syncBegTid)} sync_end_tid=${hex64(r.syncEndTid)}\n`);
      o.write(`${IND}    shared_uuid=${r.sharedUuid}\n`);
      o.write(`${IND}    unique_uuid=${r.uniqueUuid}\n`);
      o.write(`${IND}    mirror_flags=${hex32(r.mirrorFlags)} label="${r.label}"`);
      if (r.snapshots) o.write(` snapshots="${r.snapshots}"`);
      break;
    case 'snapshot':
      o.write(`\n${IND}snapshot tid=${hex64(r.tid)} label="${r.label}"`);
      break;
    case 'config':
      if (verbose > 2) {
        o.write(`\n${IND}config text="\n`);
        for (const t of r.text.split(/[\r\n]/)) if (t.length) o.write(`${IND}            ${t}\n`);
        o.write(`${IND}            "`);
      }
      break;
    case 'error':
      o.write(`\n${IND}(payload unreadable: ${r.message})`);
      break;
  }
}

export interface ShowTextOptions {
  verbose: number;
  /** -q: no payload decoding */
  quiet: boolean;
  stats?: ZoneStats;
}

/** Print one walked node in `hammer show` layout. */
export function printShowNode(o: Output, vs: VolumeSet, n: WalkedNode, opt: ShowTextOptions): void {
  const node = n.node;
  if (!node) {
    o.line(`B${n.mark}   NODE ${hex64(n.offset)} depth=${n.depth} error="${n.error?.message ?? 'unreadable'}"`);
    return;
  }
  const t = node.type;
  o.line(`${n.bad ? 'B' : ' '}${n.mark}   NODE ${hex64(n.offset)} cnt=${dec2(node.count)} p=${hex64(node.parent)} type=${t ? String.fromCharCode(t) : '?'} depth=${n.depth} mirror=${hex64(node.mirrorTid)} fill=${fillString(bigBlockFill(vs, n.offset))} {`);
  opt.stats?.add(n.offset, 4096);
  const dv = node.dv;
  for (let i = 0; i < n.elms; i++) {
    const at = node.elmAt(i);
    const rbn = t === HAMMER_BTREE_TYPE_INTERNAL && i === n.elms - 1;
    const deleteTid = dv.getBigUint64(at + ELM.deleteTid, LE);
    const rm = rootMark(n, i);
    o.write(`${flagString(n.elmFlags[i])} ${rbn ? 'RBN' : 'ELM'} ${String(i).padStart(2)} ${btypeChar(dv.getUint8(at + ELM.btype))} `);
    o.write(`lo=${hex32(dv.getUint32(at + ELM.localization, LE))} objid=${hex64(dv.getBigUint64(at + ELM.objId, LE))} rt=${hex2(dv.getUint16(at + ELM.recType, LE))} key=${hex64(dv.getBigUint64(at + ELM.key, LE))} tid=${hex64(dv.getBigUint64(at + ELM.createTid, LE))}\n`);
    o.write(`               ${rm !== ' ' ? rm : deleteTid ? 'd' : ' '} del=${hex64(deleteTid)} ot=${hex2(dv.getUint8(at + ELM.objType))}`);
    if (t === HAMMER_BTREE_TYPE_INTERNAL) {
      o.write(` suboff=${hex64(dv.getBigUint64(at + ELM.subtreeOffset, LE))} mirror=${hex64(dv.getBigUint64(at + ELM.mirrorTid, LE))}`);
    } else if (t === HAMMER_BTREE_TYPE_LEAF) {
      const bt = dv.getUint8(at + ELM.btype);
      if (bt === HAMMER_BTREE_TYPE_RECORD) {
        const off = dv.getBigUint64(at + ELM.dataOffset, LE);
        const len = dv.getInt32(at + ELM.dataLen, LE);
        o.write(` dataoff=${hex64(off)}/${len} ${crcPrefix(n.dataCrc?.[i])}crc=${hex32(dv.getUint32(at + ELM.dataCrc, LE))}`);
        const err = n.dataError?.[i];
        if (err) o.write(` error=${err}`);
        o.write(` fill=${fillString(bigBlockFill(vs, off))}`);
        if (!opt.quiet) {
          const r = decodeRecord(vs, n, i);
          if (r) printRecord(o, r, opt.verbose);
        }
        opt.stats?.add(off, len);
      } else {
        o.write(` badtype=${bt}`);
      }
    }
    o.write('\n');
  }
  o.line('     }');
}

export function printShowTrailer(o: Output, st: WalkStats, verbose: number): void {
  if (st.badNodes || verbose) o.line(`${st.badNodes} bad nodes`);
  if (st.badElms || verbose) o.line(`${st.badElms} bad elms`);
  if (st.badRecords || verbose) o.line(`${st.badRecords} bad records`);
}

/** JSON form of one node (schema: docs/json-schemas.md, "show"). */
export function showNodeJson(vs: VolumeSet, n: WalkedNode, decode: boolean) {
  const node = n.node;
  const base = {
    offset: n.offset, depth: n.depth, bad: n.bad, mark: n.mark === ' ' ? null : n.mark,
    error: n.error ? { code: n.error.code, message: n.error.message } : null,
    volNo: n.where.volNo ?? null, rawOffset: n.where.rawOffset ?? null,
  };
  if (!node) return { ...base, readable: false };
  const t = node.type;
  const dv = node.dv;
  const elms = [];
  for (let i = 0; i < n.elms; i++) {
    const at = node.elmAt(i);
    const e: Record<string, unknown> = {
      index: i, rbn: t === HAMMER_BTREE_TYPE_INTERNAL && i === n.elms - 1, flags: flagString(n.elmFlags[i]), bad: n.elmFlags[i] !== 0,
      btype: btypeChar(dv.getUint8(at + ELM.btype)), localization: dv.getUint32(at + ELM.localization, LE),
      objId: dv.getBigUint64(at + ELM.objId, LE), recType: dv.getUint16(at + ELM.recType, LE), key: dv.getBigUint64(at + ELM.key, LE),
      createTid: dv.getBigUint64(at + ELM.createTid, LE), deleteTid: dv.getBigUint64(at + ELM.deleteTid, LE), objType: dv.getUint8(at + ELM.objType),
    };
    if (t === HAMMER_BTREE_TYPE_INTERNAL) {
      e.subtreeOffset = dv.getBigUint64(at + ELM.subtreeOffset, LE);
      e.mirrorTid = dv.getBigUint64(at + ELM.mirrorTid, LE);
    } else if (t === HAMMER_BTREE_TYPE_LEAF) {
      const off = dv.getBigUint64(at + ELM.dataOffset, LE);
      const len = dv.getInt32(at + ELM.dataLen, LE);
      e.createTs = dv.getUint32(at + ELM.createTs, LE);
      e.deleteTs = dv.getUint32(at + ELM.deleteTs, LE);
      e.dataOffset = off;
      e.dataLen = len;
      e.dataCrc = hex32(dv.getUint32(at + ELM.dataCrc, LE));
      e.dataCrcAlg = n.dataCrc?.[i] ?? null;
      e.dataError = n.dataError?.[i] ?? null;
      e.fill = fillJson(bigBlockFill(vs, off));
      if (decode && dv.getUint8(at + ELM.btype) === HAMMER_BTREE_TYPE_RECORD) e.record = decodeRecord(vs, n, i);
    }
    elms.push(e);
  }
  return {
    ...base, readable: true, type: t ? String.fromCharCode(t) : '?', count: node.count, parent: node.parent, mirrorTid: node.mirrorTid,
    crc: hex32(node.crc), crcAlg: n.crc, fill: fillJson(bigBlockFill(vs, n.offset)), elms,
  };
}
function fillJson(f: BigBlockFill) {
  return { zone: f.zone, vol: f.vol, layer1: f.l1, layer2: f.l2, offset: f.offset, percent: f.percent, error: f.error || null };
}

/** One line saying what is wrong with a node, for stderr ("<what>: <where>"). */
export function nodeProblem(n: WalkedNode): string | null {
  if (n.error) return n.error.message;
  if (!n.bad) return null;
  const what = n.crc === null ? 'B-Tree node CRC mismatch'
    : n.mark === 'M' ? 'B-Tree node mirror_tid above its parent element\'s'
    : n.mark === 'U' ? 'B-Tree node of unknown type'
    : n.mark === 'C' ? 'B-Tree node element count out of range' : 'bad B-Tree node';
  return `${what}: ${describeWhere(n.where)}`;
}
