/**
 * `hammerfs verify`: an fsck-like, read-only check of a whole HAMMER volume set. It never throws
 * for damage below the volume headers; every finding becomes a Problem with a severity, a stable
 * code, a message and a location (volume, byte offset, HAMMER offset, obj_id / PFS).
 *
 * What is checked, in one pass over each structure:
 *  1. volume headers: vol_crc and blockmap entry CRCs (warnings: DragonFly's newfs leaves both
 *     stale on every image), vol0_next_tid against the newest TID in the tree, the vol0_stat_*
 *     counters against a recount of the freemap and of the live inodes;
 *  2. the B-Tree, through walkBTree() (src/btree/walk.ts, `hammer show`'s checks): node CRCs
 *     (v7: CRC-32C, CRC-32 accepted), header type/count, loops, every element inside its parent's
 *     bounds, child parent pointers, btypes, mirror_tid aggregates, and every leaf's data CRC;
 *     plus what show does not check: strict key order inside each node, the parent element's
 *     btype against the child's type, every leaf at the same depth, each internal element's
 *     mirror_tid against the newest TID actually present in its subtree (BTREE.md §6), at most
 *     one visible version per record identity, delete_tid > create_tid, localization and payload
 *     shapes;
 *  3. the freemap: checkmap() (src/btree/checkmap.ts) for the big-blocks something references,
 *     plus what hammer(8) checkmap misses (spec ORACLE.md addendum): layer1/layer2 CRCs, big-blocks
 *     owned by a zone that nothing references, free big-blocks not reset, layer1 blocks_free against
 *     the number of free layer2 entries, big-blocks past the end of a volume, vol0_stat_*bigblocks;
 *  4. the UNDO FIFO: pointers inside the FIFO, the active range [first, next) parses record by record
 *     (signatures, sizes, CRCs), the undo array against the FIFO size;
 *  5. per PFS, the filesystem as the kernel would mount it (a slave as of its sync_end_tid):
 *     the root directory exists, every directory entry lives in a live directory, names a live
 *     inode of the same PFS with the obj_type it claims, sits under a key consistent with its name
 *     hash and in the localization the directory's cap flags say; link counts equal the number of
 *     entries naming the inode (a directory: 1; a PFS root: 1 with no entry, as newfs and
 *     `hammer pfs-master` bump it); every inode is reachable from the root; a directory's
 *     parent_obj_id names the directory holding it; symlink sizes equal their target length; no
 *     live record belongs to an inode that is not live.
 *
 * Rules that are not in any header were derived from the images in images/ (DragonFly newfs
 * output and content-v7, accepted by DragonFly's own show/checkmap): they all verify clean.
 * Not checked, by design: file size against DATA records (holes and records past EOF are legal),
 * deleted records' contents (history), and records of PFSs outside `pfs`.
 *
 * Problem codes (E error, W warning, I info):
 *   volume  VOL_CRC W, BLOCKMAP_CRC W, NEXT_TID W (I for newfs's off-by-one), STAT_FREEBIGBLOCKS E,
 *           STAT_BIGBLOCKS E, STAT_INODES W
 *   btree   NODE_UNREADABLE, NODE_LOOP, NODE_CRC, NODE_TYPE, NODE_COUNT, NODE_EMPTY W, KEY_ORDER,
 *           KEY_BOUNDS, BTYPE, RBN_BTYPE I, CHILD_PARENT, MIRROR_TID, LEAF_DEPTH, TID, DUP_VISIBLE,
 *           LOCALIZATION, REC_TYPE W
 *   data    DATA_CRC, DATA_LEN, DATA_UNREADABLE, DATA_ZONE, DATA_KEY, DATA_SHAPE W
 *   freemap FREEMAP_ZONE (checkmap BZ), FREEMAP_FREE (BM), FREEMAP_APPEND (BA), UNMAPPED,
 *           FREEMAP_UNREADABLE, LAYER1_CRC, LAYER1_FREE, LAYER1_EXTRA, LAYER1_MISSING, LAYER2_CRC,
 *           LAYER2_APPEND, LAYER2_FREE, LAYER2_ZONE, LAYER2_UNAVAIL, LAYER2_BEYOND, LAYER2_MORE,
 *           FREE_NOT_RESET, LEAKED, UNREFERENCED W
 *   undo    UNDO_POINTER, UNDO_ARRAY, UNDO_RECORD, UNDO_ILLEGAL W (outside the active range)
 *   fs      PFS_LIST W, PFS_MISSING, PFS_ROOT, INODE_TYPE, INODE_CAPS, DIRENT_ORPHAN, DIRENT_LOC,
 *           DIRENT_NAME, DIRENT_HASH, DIRENT_DUP, DIRENT_PFS, DIRENT_TARGET, DIRENT_TYPE, NLINKS,
 *           UNREACHABLE, PARENT, SYMLINK_SIZE, ORPHAN_RECORD, DATA_OWNER
 */
import { HammerError, type Where } from '../errors.js';
import {
  LE, HAMMER_BTREE_TYPE_INTERNAL, HAMMER_BTREE_TYPE_LEAF, HAMMER_BTREE_TYPE_RECORD, HAMMER_BIGBLOCK_SIZE,
  HAMMER_BLOCKMAP_RADIX2, HAMMER_BLOCKMAP_UNAVAIL, HAMMER_BUFSIZE, HAMMER_LAYER2_BYTES, HAMMER_LAYER1_BYTES,
  HAMMER_OFF_SHORT_MASK, HAMMER_RECTYPE_CONFIG, HAMMER_RECTYPE_DATA, HAMMER_RECTYPE_DB,
  HAMMER_RECTYPE_DIRENTRY, HAMMER_RECTYPE_EXT, HAMMER_RECTYPE_FIX, HAMMER_RECTYPE_INODE, HAMMER_RECTYPE_PFS,
  HAMMER_RECTYPE_SNAPSHOT, HAMMER_ZONE_BTREE_INDEX, HAMMER_ZONE_FREEMAP_INDEX, HAMMER_ZONE_UNAVAIL_INDEX,
  HAMMER_ZONE_UNDO_INDEX, HAMMER_INODE_DATA_SIZE, HAMMER_INODE_BASESYMLEN, HAMMER_ENTRY_NAME_OFF, HAMMER_XBUFSIZE,
  HAMMER_OBJTYPE_DIRECTORY, HAMMER_OBJTYPE_REGFILE, HAMMER_OBJTYPE_DBFILE, HAMMER_OBJTYPE_SOFTLINK,
  HAMMER_OBJTYPE_SOCKET, HAMMER_LOCALIZE_INODE, HAMMER_LOCALIZE_MISC, HAMMER_INODE_CAP_DIRHASH_MASK,
  HAMMER_INODE_CAP_DIR_LOCAL_INO, HAMMER_UNDO_LAYER2,
} from '../ondisk/constants.js';
import { ELM, cmpBaseElmRaw } from '../ondisk/btree-elm.js';
import type { NodeView } from '../ondisk/btree-node.js';
import { INO } from '../ondisk/inode-data.js';
import { directoryNamekey } from '../ondisk/dirhash.js';
import { hex64 } from '../ondisk/int64.js';
import { zoneOf, withZone } from '../ondisk/offset.js';
import { BTree } from '../btree/btree.js';
import {
  walkBTree, ELMF_TOOFARLEFT, ELMF_TOOFARRIGHT, ELMF_BADTYPE, ELMF_BADCHILDPARENT, ELMF_BADMIRRORTID, type WalkedNode,
} from '../btree/walk.js';
import { checkmap, scanBlockmap, type Layer1Report } from '../btree/checkmap.js';
import { fifoSize, recordAt, fifoOff } from '../volume/undo-fifo.js';
import type { VolumeSet } from '../volume/volume-set.js';
import { listPfs, type PfsInfo } from './pfs.js';
import { CURRENT, type FsContext } from './records.js';

export type Severity = 'error' | 'warning' | 'info';
export type ProblemArea = 'volume' | 'btree' | 'data' | 'freemap' | 'undo' | 'fs';

export interface Problem {
  severity: Severity;
  area: ProblemArea;
  /** Stable short identifier of the check (e.g. NODE_CRC, NLINKS); tests and scripts key on it. */
  code: string;
  message: string;
  where: Where;
  pfs?: number;
  objId?: bigint;
}

export interface VerifyOptions {
  /** Filesystem-level checks for these PFS ids only (default: every PFS that is not deleted). */
  pfs?: number[];
  /** Recompute every record's data CRC (default true). */
  checkData?: boolean;
  /** Keep at most this many problems in the list, and at most 1000 of one code (counts stay exact). Default 10000. */
  maxProblems?: number;
  /** Called for every problem as it is found (also those beyond maxProblems). */
  onProblem?: (p: Problem) => void;
  /** Called as each pass starts (for a progress line). */
  onPhase?: (phase: VerifyPhase) => void;
}

export type VerifyPhase = 'btree' | 'freemap' | 'undo' | 'filesystem';

export interface PfsStats {
  id: number;
  /** TID the PFS was checked as of ("current"; a slave's sync_end_tid). */
  asof: bigint;
  inodes: number;
  directories: number;
  entries: number;
  dataRecords: number;
}

export interface VerifyStats {
  nodes: number;
  leafNodes: number;
  internalNodes: number;
  /** Node levels including the leaves (a lone root leaf is 1). */
  levels: number;
  records: number;
  deletedRecords: number;
  bigBlocks: number;
  freeBigBlocks: number;
  referencedBigBlocks: number;
  undoRecords: number;
  pfs: PfsStats[];
}

export interface VerifyResult {
  problems: Problem[];
  errors: number;
  warnings: number;
  infos: number;
  /** More problems were found than maxProblems; the list holds the first ones. */
  truncated: boolean;
  /** No errors (warnings and infos allowed). */
  clean: boolean;
  stats: VerifyStats;
}

const KEY_MAX = 0x7fffffffffffffffn;
/** At most this many problems of one code are listed (all are counted). */
const PER_CODE = 1000;
const LOC_INODE = HAMMER_LOCALIZE_INODE;
const LOC_MISC = HAMMER_LOCALIZE_MISC;
const BB = BigInt(HAMMER_BIGBLOCK_SIZE);
const hx = (v: bigint) => '0x' + hex64(v);

/** What the filesystem pass keeps of one visible INODE record. */
interface InodeRec {
  objId: bigint;
  leafObjType: number;
  objType: number;
  nlinks: bigint;
  size: bigint;
  parentObjId: bigint;
  capFlags: number;
  ext: Uint8Array;
  where: Where;
}
/** One visible DIRENTRY record. */
interface EntryRec {
  dirObjId: bigint;
  leafLoc: number;
  key: bigint;
  leafObjType: number;
  targetObjId: bigint;
  targetLoc: number;
  name: Uint8Array;
  where: Where;
}
/** Visible records of one PFS, gathered during the tree walk. */
interface PfsRecords {
  id: number;
  asof: bigint;
  inodes: Map<bigint, InodeRec>;
  entries: EntryRec[];
  /** obj_id -> where of a record that needs its owner inode live (DATA, DB, FIX, EXT). */
  owned: Map<bigint, { recType: number; where: Where }[]>;
  /** symlink obj_id -> data_len of its visible FIX key 1 record */
  fix: Map<bigint, number>;
  dataRecords: number;
}

/** Node facts kept for the post-order mirror_tid check (one small object per node). */
interface NodeFact {
  offset: bigint;
  parent: number; // index into facts, -1 at the root
  parentElmMirrorTid: bigint;
  mirrorTid: bigint;
  maxTid: bigint; // newest create/delete TID of the node's own leaf elements, then of its subtree
  where: Where;
}

/**
 * Verify the volume set. Reads only; never throws for on-disk damage (a volume set that opened
 * is always walked to the end). Throws only for programming errors.
 */
export function verifyFilesystem(vs: VolumeSet, o: VerifyOptions = {}): VerifyResult {
  const maxProblems = o.maxProblems ?? 10000;
  const res: VerifyResult = {
    problems: [], errors: 0, warnings: 0, infos: 0, truncated: false, clean: true,
    stats: { nodes: 0, leafNodes: 0, internalNodes: 0, levels: 0, records: 0, deletedRecords: 0, bigBlocks: 0, freeBigBlocks: 0, referencedBigBlocks: 0, undoRecords: 0, pfs: [] },
  };
  // One damaged pointer can make thousands of identical findings (a garbage layer1 array: one per
  // entry): the list keeps the first PER_CODE of each kind, the counts stay exact.
  const perCode = new Map<string, number>();
  const report = (severity: Severity, area: ProblemArea, code: string, message: string, where: Where, extra: { pfs?: number; objId?: bigint } = {}): void => {
    const p: Problem = { severity, area, code, message, where, ...extra };
    if (severity === 'error') res.errors++;
    else if (severity === 'warning') res.warnings++;
    else res.infos++;
    const n = (perCode.get(code) ?? 0) + 1;
    perCode.set(code, n);
    if (res.problems.length < maxProblems && n <= PER_CODE) res.problems.push(p);
    else res.truncated = true;
    o.onProblem?.(p);
  };
  const tree = new BTree(vs, { verifyCrc: true });
  const ctx: FsContext = { vs, tree, verifyData: false };

  // 1. headers (the set's own warnings: stale vol_crc / blockmap entry CRCs)
  for (const w of vs.warnings) report('warning', 'volume', w.code.replace(/^W_/, ''), w.message, w.where);

  // PFS list first: the filesystem pass needs each PFS's as-of TID while it walks.
  // Read through a tree that skips node CRCs: a bad CRC is the walk's finding, not a reason to
  // check every PFS as if it were a master. What still fails here is reported by the walk too.
  let pfsList: PfsInfo[] = [];
  try {
    pfsList = listPfs({ ...ctx, tree: new BTree(vs, { verifyCrc: false }) });
  } catch (e) {
    if (!(e instanceof HammerError)) throw e;
    report('warning', 'fs', 'PFS_LIST', `PFS records unreadable (${e.detail}); filesystem checks cover PFS 0 only`, e.where);
  }
  const known = new Map(pfsList.map((p) => [p.id, p]));
  const wanted = o.pfs ?? pfsList.filter((p) => !p.deleted).map((p) => p.id);
  if (wanted.length === 0 && !o.pfs) wanted.push(0);
  const perPfs = new Map<number, PfsRecords>();
  for (const id of wanted) {
    const info = known.get(id);
    if (!info && pfsList.length) report('error', 'fs', 'PFS_MISSING', `PFS ${id} has no PFS record`, { structure: `PFS ${id}` }, { pfs: id });
    const asof = viewTid(info);
    perPfs.set(id, { id, asof, inodes: new Map(), entries: [], owned: new Map(), fix: new Map(), dataRecords: 0 });
  }
  const strayPfs = new Set<number>();

  // 2. the B-Tree
  const facts: NodeFact[] = [];
  const factIndex = new Map<bigint, number>();
  let leafDepth = -1;
  let maxTidSeen = 0n;
  const prevVisible = new Uint8Array(64);
  const prevVisibleDv = new DataView(prevVisible.buffer);
  let havePrevVisible = false;
  const checkData = o.checkData ?? true;

  const onNode = (r: WalkedNode): void => {
    const w = r.where;
    if (!r.node) {
      if (r.mark === 'Y') report('error', 'btree', 'NODE_LOOP', r.error?.detail ?? 'node visited twice', w);
      else report('error', 'btree', 'NODE_UNREADABLE', `cannot read B-Tree node: ${r.error?.detail ?? 'unreadable'}`, w);
      return;
    }
    const n = r.node;
    const dv = n.dv;
    res.stats.nodes++;
    if (r.crc === null) report('error', 'btree', 'NODE_CRC', `B-Tree node CRC mismatch (stored 0x${n.crc.toString(16).padStart(8, '0')})`, w);
    if (r.mark === 'U') {
      report('error', 'btree', 'NODE_TYPE', `unknown node type 0x${n.type.toString(16)}`, w);
      return;
    }
    const isLeaf = n.type === HAMMER_BTREE_TYPE_LEAF;
    if (isLeaf) res.stats.leafNodes++;
    else res.stats.internalNodes++;
    const headerProblem = n.headerProblem();
    if (headerProblem) report('error', 'btree', 'NODE_COUNT', headerProblem, w);
    else if (r.mark === 'C') report('warning', 'btree', 'NODE_EMPTY', 'empty leaf in a node with other children', w);
    if (r.depth + 1 > res.stats.levels) res.stats.levels = r.depth + 1;

    // the parent element's btype must name this node's type
    if (r.parentNode && r.parentIndex !== undefined) {
      const pb = r.parentNode.dv.getUint8(r.parentNode.elmAt(r.parentIndex) + ELM.btype);
      if ((pb === HAMMER_BTREE_TYPE_INTERNAL || pb === HAMMER_BTREE_TYPE_LEAF) && pb !== n.type) {
        report('error', 'btree', 'BTYPE', `parent element says '${String.fromCharCode(pb)}' but the node is '${String.fromCharCode(n.type)}'`, w);
      }
    }
    const fact: NodeFact = {
      offset: n.offset, parent: r.parentNode ? factIndex.get(r.parentNode.offset) ?? -1 : -1,
      parentElmMirrorTid: r.parentMirrorTid, mirrorTid: n.mirrorTid, maxTid: 0n, where: w,
    };
    factIndex.set(n.offset, facts.length);
    facts.push(fact);

    const count = r.elms - (isLeaf ? 0 : 1);
    // walk's per-element flags (hammer show's columns), reported once per kind per node
    let bounds = 0, badType = 0, childParent = 0, mirror = 0;
    let rbnType = false;
    for (let i = 0; i < r.elms; i++) {
      const f = r.elmFlags[i];
      if (f & (ELMF_TOOFARLEFT | ELMF_TOOFARRIGHT)) bounds++;
      if (f & ELMF_BADTYPE) {
        if (!isLeaf && i === count) rbnType = true;
        else badType++;
      }
      // leaves: C means data offset/length 0, which zero-fill records legally have (checked below)
      if (!isLeaf && f & ELMF_BADCHILDPARENT) childParent++;
      if (f & ELMF_BADMIRRORTID) mirror++;
    }
    if (bounds) report('error', 'btree', 'KEY_BOUNDS', `${bounds} element(s) outside the parent element's key range`, w);
    if (badType) report('error', 'btree', 'BTYPE', `${badType} element(s) with a btype wrong for their node`, w);
    if (rbnType) report('info', 'btree', 'RBN_BTYPE', 'right boundary element has a non-zero btype (ignored by readers)', w);
    if (childParent) report('error', 'btree', 'CHILD_PARENT', `${childParent} element(s) whose child is missing or does not point back to this node`, w);
    if (mirror) {
      report('error', 'btree', 'MIRROR_TID', isLeaf
        ? `${mirror} element TID(s) above the node's mirror_tid ${hx(n.mirrorTid)}`
        : `${mirror} element mirror_tid(s) above the node's mirror_tid ${hx(n.mirrorTid)}`, w);
    }
    // strict key order inside the node (internal: including the right boundary)
    const last = isLeaf ? count - 1 : count;
    for (let i = 0; i < last; i++) {
      const c = cmpBaseElmRaw(dv, n.elmAt(i), dv, n.elmAt(i + 1));
      if (c >= 0) {
        report('error', 'btree', 'KEY_ORDER', c === 0 ? `elements ${i} and ${i + 1} have the same key` : `element ${i + 1} sorts before element ${i}`, { ...w, index: i + 1 });
        break;
      }
    }
    if (!isLeaf) return;

    if (leafDepth < 0) leafDepth = r.depth;
    else if (r.depth !== leafDepth) report('error', 'btree', 'LEAF_DEPTH', `leaf at depth ${r.depth}, other leaves at depth ${leafDepth}`, w);

    let maxTid = 0n;
    for (let i = 0; i < count; i++) {
      const at = n.elmAt(i);
      const ew: Where = { ...w, structure: 'B-Tree leaf element', index: i };
      const createTid = dv.getBigUint64(at + ELM.createTid, LE);
      const deleteTid = dv.getBigUint64(at + ELM.deleteTid, LE);
      if (createTid > maxTid) maxTid = createTid;
      if (deleteTid > maxTid) maxTid = deleteTid;
      res.stats.records++;
      if (deleteTid !== 0n) res.stats.deletedRecords++;
      if (dv.getUint8(at + ELM.btype) !== HAMMER_BTREE_TYPE_RECORD) continue; // reported as BTYPE
      if (createTid === 0n) report('error', 'btree', 'TID', 'record with create_tid 0', ew);
      else if (deleteTid !== 0n && deleteTid <= createTid) report('error', 'btree', 'TID', `delete_tid ${hx(deleteTid)} is not after create_tid ${hx(createTid)}`, ew);
      const recType = dv.getUint16(at + ELM.recType, LE);
      const loc = dv.getUint32(at + ELM.localization, LE);
      const low = loc & 0xffff;
      const dataOff = dv.getBigUint64(at + ELM.dataOffset, LE);
      const dataLen = dv.getInt32(at + ELM.dataLen, LE);
      checkRecordShape(recType, low, dataOff, dataLen, dv.getBigInt64(at + ELM.key, LE), ew, report);
      if (checkData && r.dataError) {
        const e = r.dataError[i];
        if (e === 'BI') report('error', 'data', 'DATA_LEN', `INODE record with data_len ${dataLen}, expected 128`, ew);
        else if (e === 'IO') report('error', 'data', 'DATA_UNREADABLE', `record data ${hx(dataOff)}/${dataLen} cannot be read`, ew);
        else if ((e === 'BX' || e === 'Bx') && r.dataCrc?.[i] == null) report('error', 'data', 'DATA_CRC', `record data CRC mismatch at ${hx(dataOff)}`, ew);
      }
      // identity seen visible twice (per the PFS's view TID)
      const pfs = loc >>> 16;
      const pr = perPfs.get(pfs);
      const asof = pr?.asof ?? viewTid(known.get(pfs));
      const visible = asof === CURRENT ? deleteTid === 0n : createTid <= asof && (deleteTid === 0n || asof < deleteTid);
      if (!known.has(pfs) && pfsList.length && !strayPfs.has(pfs)) {
        strayPfs.add(pfs);
        report('error', 'fs', 'PFS_MISSING', `records of PFS ${pfs}, which has no PFS record`, ew, { pfs });
      }
      if (!visible) continue;
      if (havePrevVisible && Math.abs(cmpBaseElmRaw(prevVisibleDv, 0, dv, at)) <= 1) {
        report('error', 'btree', 'DUP_VISIBLE', 'two versions of the same record are visible at once', ew, { pfs, objId: dv.getBigInt64(at + ELM.objId, LE) });
      }
      prevVisible.set(n.bytes.subarray(at - n.at, at - n.at + 40));
      havePrevVisible = true;
      if (pr) collect(pr, n, i, recType, low, ew);
    }
    fact.maxTid = maxTid;
    if (maxTid > maxTidSeen) maxTidSeen = maxTid;
  };

  /** Keep what the filesystem pass needs of one visible record of a checked PFS. */
  const collect = (pr: PfsRecords, n: NodeView, i: number, recType: number, low: number, ew: Where): void => {
    const dv = n.dv;
    const at = n.elmAt(i);
    const objId = dv.getBigInt64(at + ELM.objId, LE);
    const dataOff = dv.getBigUint64(at + ELM.dataOffset, LE);
    const dataLen = dv.getInt32(at + ELM.dataLen, LE);
    const leafObjType = dv.getUint8(at + ELM.objType);
    const payload = (len: number): Uint8Array | null => {
      if (dataOff === 0n || len <= 0) return null;
      try {
        return vs.read(dataOff, len, { structure: 'record data', hammerOff: dataOff });
      } catch (e) {
        if (e instanceof HammerError) return null; // reported by the data check
        throw e;
      }
    };
    switch (recType) {
      case HAMMER_RECTYPE_INODE: {
        if (low !== LOC_INODE || dataLen !== HAMMER_INODE_DATA_SIZE) return;
        const b = payload(HAMMER_INODE_DATA_SIZE);
        if (!b) return;
        const d = new DataView(b.buffer, b.byteOffset, b.length);
        pr.inodes.set(objId, {
          objId, leafObjType, objType: d.getUint8(INO.objType), nlinks: d.getBigUint64(INO.nlinks, LE), size: d.getBigUint64(INO.size, LE),
          parentObjId: d.getBigInt64(INO.parentObjId, LE), capFlags: d.getUint8(INO.capFlags), ext: b.slice(INO.ext, INO.ext + HAMMER_INODE_BASESYMLEN), where: ew,
        });
        return;
      }
      case HAMMER_RECTYPE_DIRENTRY: {
        if (dataLen < HAMMER_ENTRY_NAME_OFF || dataLen > HAMMER_BUFSIZE) return;
        const b = payload(dataLen);
        if (!b) return;
        const d = new DataView(b.buffer, b.byteOffset, b.length);
        pr.entries.push({
          dirObjId: objId, leafLoc: dv.getUint32(at + ELM.localization, LE), key: dv.getBigInt64(at + ELM.key, LE), leafObjType,
          targetObjId: d.getBigInt64(0, LE), targetLoc: d.getUint32(8, LE), name: b.slice(HAMMER_ENTRY_NAME_OFF), where: ew,
        });
        return;
      }
      case HAMMER_RECTYPE_DATA: case HAMMER_RECTYPE_DB: case HAMMER_RECTYPE_FIX: case HAMMER_RECTYPE_EXT: {
        let l = pr.owned.get(objId);
        if (!l) pr.owned.set(objId, (l = []));
        l.push({ recType, where: ew });
        if (recType === HAMMER_RECTYPE_DATA) pr.dataRecords++;
        if (recType === HAMMER_RECTYPE_FIX && dv.getBigInt64(at + ELM.key, LE) === 1n) pr.fix.set(objId, dataLen);
        return;
      }
      default:
        return;
    }
  };

  o.onPhase?.('btree');
  walkBTree(tree, { checkData, onNode });

  // mirror_tid aggregates, bottom-up: facts are in pre-order, so children come after parents
  for (let k = facts.length - 1; k >= 0; k--) {
    const f = facts[k];
    if (f.parent >= 0 && f.maxTid > facts[f.parent].maxTid) facts[f.parent].maxTid = f.maxTid;
  }
  for (const f of facts) {
    if (f.parent < 0) {
      // newfs's lone root leaf has mirror_tid 0; any other root must cover its whole tree
      if (f.mirrorTid !== 0n && f.maxTid > f.mirrorTid) report('error', 'btree', 'MIRROR_TID', `root mirror_tid ${hx(f.mirrorTid)} is older than the newest TID ${hx(f.maxTid)} in the tree`, f.where);
      continue;
    }
    if (f.maxTid > f.parentElmMirrorTid) {
      report('error', 'btree', 'MIRROR_TID', `parent element mirror_tid ${hx(f.parentElmMirrorTid)} is older than the newest TID ${hx(f.maxTid)} in this subtree`, f.where);
    } else if (f.mirrorTid > f.parentElmMirrorTid) {
      report('error', 'btree', 'MIRROR_TID', `node mirror_tid ${hx(f.mirrorTid)} is above its parent element's ${hx(f.parentElmMirrorTid)}`, f.where);
    }
  }
  const hdr = vs.root;
  if (maxTidSeen > hdr.nextTid) {
    // newfs_hammer itself writes next_tid 0x100000000 under records of 0x100000001 (ONDISK.md §10)
    const newfsQuirk = maxTidSeen === hdr.nextTid + 1n && res.stats.records <= 2;
    report(newfsQuirk ? 'info' : 'warning', 'volume', 'NEXT_TID', `vol0_next_tid ${hx(hdr.nextTid)} is below the newest TID in the tree ${hx(maxTidSeen)}`, { structure: 'volume header', volNo: 0, path: vs.volumes[0].device.path, rawOffset: 248, field: 'vol0_next_tid' });
  }

  // 3. freemap
  o.onPhase?.('freemap');
  const referenced = checkFreemap(vs, tree, res, report);

  // 4. UNDO FIFO
  o.onPhase?.('undo');
  checkUndo(vs, report);

  // 5. filesystem per PFS
  o.onPhase?.('filesystem');
  let liveInodes = 0;
  for (const pr of perPfs.values()) {
    checkPfs(pr, report);
    liveInodes += pr.inodes.size;
    let dirs = 0;
    for (const i of pr.inodes.values()) if (i.objType === HAMMER_OBJTYPE_DIRECTORY) dirs++;
    res.stats.pfs.push({ id: pr.id, asof: pr.asof, inodes: pr.inodes.size, directories: dirs, entries: pr.entries.length, dataRecords: pr.dataRecords });
  }
  // vol0_stat_inodes is a statfs figure only: a mismatch misleads df, it damages nothing
  if (!o.pfs && perPfs.size === wanted.length && BigInt(liveInodes) !== hdr.statInodes) {
    report('warning', 'volume', 'STAT_INODES', `vol0_stat_inodes is ${hdr.statInodes}, ${liveInodes} live inodes counted`, { structure: 'volume header', volNo: 0, path: vs.volumes[0].device.path, rawOffset: 224, field: 'vol0_stat_inodes' });
  }
  res.stats.referencedBigBlocks = referenced;
  res.clean = res.errors === 0;
  return res;
}

/** The TID a PFS is checked as of: a slave as the kernel mounts it (sync_end_tid), else now. */
function viewTid(info: PfsInfo | undefined): bigint {
  return info?.slave ? info.syncEndTid : CURRENT;
}

type Report = (severity: Severity, area: ProblemArea, code: string, message: string, where: Where, extra?: { pfs?: number; objId?: bigint }) => void;

/** Payload shape per record type and localization (RECORDS.md §1). */
function checkRecordShape(recType: number, low: number, dataOff: bigint, dataLen: number, key: bigint, ew: Where, report: Report): void {
  const inodeLoc = recType === HAMMER_RECTYPE_INODE || recType === HAMMER_RECTYPE_SNAPSHOT || recType === HAMMER_RECTYPE_CONFIG;
  const miscLoc = recType === HAMMER_RECTYPE_DATA || recType === HAMMER_RECTYPE_DB || recType === HAMMER_RECTYPE_FIX || recType === HAMMER_RECTYPE_EXT || recType === HAMMER_RECTYPE_PFS;
  if (low !== LOC_INODE && low !== LOC_MISC) report('error', 'btree', 'LOCALIZATION', `localization low bits 0x${low.toString(16)} are neither INODE nor MISC`, ew);
  else if ((inodeLoc && low !== LOC_INODE) || (miscLoc && low !== LOC_MISC)) report('error', 'btree', 'LOCALIZATION', `rec_type 0x${recType.toString(16)} in the wrong localization 0x${low.toString(16)}`, ew);
  if (!inodeLoc && !miscLoc && recType !== HAMMER_RECTYPE_DIRENTRY) report('warning', 'btree', 'REC_TYPE', `unknown rec_type 0x${recType.toString(16)}`, ew);
  if (dataLen < 0 || dataLen > HAMMER_XBUFSIZE) report('error', 'data', 'DATA_LEN', `data_len ${dataLen} out of range 0..65536`, ew);
  else if (dataLen === 0 && dataOff !== 0n) report('error', 'data', 'DATA_LEN', 'data_len 0 with a data offset', ew);
  else if (dataOff === 0n && dataLen > 0 && recType !== HAMMER_RECTYPE_DATA && recType !== HAMMER_RECTYPE_DB) {
    // only file data may be a zero-fill record
    report('error', 'data', 'DATA_LEN', `rec_type 0x${recType.toString(16)} without a payload`, ew);
  } else if (dataOff === 0n && dataLen === 0 && (recType === HAMMER_RECTYPE_DATA || recType === HAMMER_RECTYPE_DB)) {
    report('error', 'data', 'DATA_LEN', 'file data record of length 0', ew);
  }
  if (recType === HAMMER_RECTYPE_DATA && dataLen > 0 && dataLen <= HAMMER_XBUFSIZE) {
    if (dataOff !== 0n) {
      const z = zoneOf(dataOff);
      if (z !== 10 && z !== 11) report('error', 'data', 'DATA_ZONE', `file data in zone ${z}`, ew);
    }
    // DATA keys are end offsets: the record covers [key - data_len, key)
    const start = key - BigInt(dataLen);
    if (start < 0n) report('error', 'data', 'DATA_KEY', `file data record ends at ${key} but is ${dataLen} bytes long`, ew);
    else {
      // the kernel writes whole 16 KiB blocks below 1 MiB and 64 KiB blocks above (a small file's
      // one record at 0 is shorter); other shapes read fine but no kernel makes them
      const block = start < 1048576n ? 16384n : 65536n;
      if (start % block !== 0n || BigInt(dataLen) > block) report('warning', 'data', 'DATA_SHAPE', `file data record [${start}, ${key}) is not one aligned ${block / 1024n} KiB block`, ew);
    }
  }
}

/* ------------------------------------------------------------------ freemap */

/**
 * checkmap() plus the freemap checks it lacks. Returns the number of referenced big-blocks.
 */
function checkFreemap(vs: VolumeSet, tree: BTree, res: VerifyResult, report: Report): number {
  const hdr = vs.root;
  let cm: ReturnType<typeof checkmap>;
  try {
    cm = checkmap(tree);
  } catch (e) {
    // only the freemap's own top level (layer1 array) can make checkmap give up
    if (!(e instanceof HammerError)) throw e;
    report('error', 'freemap', 'FREEMAP_UNREADABLE', `freemap cannot be read: ${e.detail}`, e.where);
    return 0;
  }
  const refs = new Set<bigint>();
  for (const b of cm.blocks) {
    refs.add(withZone(b.block, 2) & ~(BB - 1n));
    const w = b.where;
    if (b.verdict === 'BZ') report('error', 'freemap', 'FREEMAP_ZONE', `big-block ${hx(b.block)} is used as zone ${b.calcZone} but the freemap says zone ${b.layer2.zone}`, w);
    else if (b.verdict === 'BM') report('error', 'freemap', 'FREEMAP_FREE', `big-block ${hx(b.block)}: ${b.calcFree} bytes free by recount, freemap says ${b.layer2.bytesFree}`, w);
    else if (b.verdict === 'BA') report('error', 'freemap', 'FREEMAP_APPEND', `big-block ${hx(b.block)}: data reaches byte ${b.calcEnd}, beyond append_off ${b.layer2.appendOff}`, w);
  }
  for (const u of cm.unmapped) report('error', 'freemap', 'UNMAPPED', `${u.source} reference ${hx(u.offset)} cannot be resolved: ${u.message}`, { structure: `${u.source} reference`, hammerOff: u.offset });
  for (const off of cm.undoIllegal.slice(0, 20)) report('warning', 'undo', 'UNDO_ILLEGAL', 'FIFO record with an illegal size (hammer checkmap would loop here)', { structure: 'UNDO FIFO', hammerOff: off });
  res.stats.undoRecords = cm.undoRecords;

  // layer1 / layer2 scan: CRCs, counters, ownership of unreferenced big-blocks, volume ends
  const version = vs.version;
  let total = 0;
  let free = 0;
  const seenL1 = new Set<number>();
  let cur: { l1: Layer1Report; free: number; lastIndex: number; nBig: number; reported: number } | null = null;
  // A layer1 entry pointing at garbage makes all 524288 entries below it bad: list the first
  // ones, count the rest in one summary problem.
  const L2_LIST = 100;
  const rep2: Report = (severity, area, code, message, where, extra) => {
    if (cur && ++cur.reported > L2_LIST) return;
    report(severity, area, code, message, where, extra);
  };
  const finishL1 = (): void => {
    if (!cur) return;
    const { l1 } = cur;
    if (cur.reported > L2_LIST) report('error', 'freemap', 'LAYER2_MORE', `${cur.reported - L2_LIST} more layer2 problems below this layer1 entry (not listed)`, l1.where);
    const stop = cur.lastIndex + 1;
    if (stop < cur.nBig) {
      report('error', 'freemap', 'LAYER2_UNAVAIL', `big-blocks ${stop}.. of this layer1 lie inside volume ${l1.index >> 10} but are marked unavailable (zone 15)`, l1.where);
    } else if (stop < HAMMER_BLOCKMAP_RADIX2) {
      const bad = checkTailUnavail(vs, l1, stop);
      if (bad >= 0) report('error', 'freemap', 'LAYER2_BEYOND', `layer2 entry ${bad} past the end of the volume is not a plain zone-15 entry`, { ...l1.where, structure: 'freemap layer2 entry', index: bad });
    }
    if (BigInt(cur.free) !== l1.entry.blocksFree) report('error', 'freemap', 'LAYER1_FREE', `layer1 blocks_free is ${l1.entry.blocksFree}, ${cur.free} free layer2 entries counted`, l1.where);
    cur = null;
  };
  const bigBlocksOf = (vol: number): number => {
    const v = vs.volumes[vol];
    return v ? Math.floor((v.header.bufEnd - v.header.bufBeg) / HAMMER_BIGBLOCK_SIZE) : 0;
  };
  try {
    scanBlockmap(vs, {
      onLayer1: (l1) => {
        finishL1();
        seenL1.add(l1.index);
        if (!l1.crcOk) report('error', 'freemap', 'LAYER1_CRC', 'layer1 entry CRC mismatch', l1.where);
        const vol = l1.index >> 10;
        const firstBig = (l1.index & 1023) * HAMMER_BLOCKMAP_RADIX2;
        const nBig = Math.max(0, Math.min(HAMMER_BLOCKMAP_RADIX2, bigBlocksOf(vol) - firstBig));
        if (l1.entry.physOffset !== HAMMER_BLOCKMAP_UNAVAIL && nBig === 0) {
          report('error', 'freemap', 'LAYER1_EXTRA', `layer1 entry ${l1.index} maps space beyond volume ${vol}`, l1.where);
        }
        cur = { l1, free: 0, lastIndex: -1, nBig, reported: 0 };
      },
      onLayer2: (l2) => {
        if (!cur) return;
        cur.lastIndex = l2.index;
        const e = l2.entry;
        const w = l2.where;
        const blk = withZone(l2.zoneOffset, 2);
        const what = `big-block ${hx(blk)}`;
        if (!l2.crcOk) rep2('error', 'freemap', 'LAYER2_CRC', `layer2 entry CRC mismatch for ${what}`, w);
        if (l2.badAppend) rep2('error', 'freemap', 'LAYER2_APPEND', `${what}: append_off ${e.appendOff} beyond 8 MiB`, w);
        if (e.bytesFree > HAMMER_BIGBLOCK_SIZE || (e.bytesFree < 0 && version < 5)) rep2('error', 'freemap', 'LAYER2_FREE', `${what}: bytes_free ${e.bytesFree} out of range`, w);
        if (l2.index >= cur.nBig) {
          if (e.zone !== HAMMER_ZONE_UNAVAIL_INDEX) rep2('error', 'freemap', 'LAYER2_BEYOND', `${what} lies past the end of its volume but is owned by zone ${e.zone}`, w);
          return;
        }
        if (e.zone === HAMMER_ZONE_UNAVAIL_INDEX) return; // reported by finishL1 (inside the volume)
        total++;
        if (e.zone === 0) {
          cur.free++;
          free++;
          if (e.appendOff !== 0 || e.bytesFree !== HAMMER_BIGBLOCK_SIZE) rep2('error', 'freemap', 'FREE_NOT_RESET', `free ${what} has append_off ${e.appendOff}, bytes_free ${e.bytesFree} (expected 0, 8388608)`, w);
          return; // a referenced free big-block is checkmap's BZ, reported above
        }
        if (e.zone === HAMMER_ZONE_UNDO_INDEX || e.zone === HAMMER_ZONE_FREEMAP_INDEX) total--; // not counted in vol0_stat_bigblocks
        const legal = e.zone === HAMMER_ZONE_UNDO_INDEX || e.zone === HAMMER_ZONE_FREEMAP_INDEX || (e.zone >= HAMMER_ZONE_BTREE_INDEX && e.zone < HAMMER_ZONE_UNAVAIL_INDEX);
        if (!legal) {
          rep2('error', 'freemap', 'LAYER2_ZONE', `${what} owned by zone ${e.zone}, which never owns big-blocks`, w);
          return;
        }
        if (!refs.has(blk & ~(BB - 1n))) {
          if (e.zone >= HAMMER_ZONE_BTREE_INDEX && e.bytesFree === HAMMER_BIGBLOCK_SIZE) {
            rep2('warning', 'freemap', 'UNREFERENCED', `${what} is owned by zone ${e.zone} but empty and unreferenced (not returned to the free pool)`, w);
          } else {
            rep2('error', 'freemap', 'LEAKED', `${what} is owned by zone ${e.zone} with ${HAMMER_BIGBLOCK_SIZE - e.bytesFree} bytes in use, but nothing references it`, w);
          }
        }
      },
    });
    finishL1();
  } catch (e) {
    if (!(e instanceof HammerError)) throw e;
    report('error', 'freemap', 'FREEMAP_UNREADABLE', `freemap cannot be read: ${e.detail}`, e.where);
    return refs.size;
  }
  for (let v = 0; v < vs.volumes.length; v++) {
    const n = bigBlocksOf(v);
    for (let k = 0; k * HAMMER_BLOCKMAP_RADIX2 < n; k++) {
      const idx = (v << 10) | k;
      if (!seenL1.has(idx)) {
        const z2 = hdr.blockmap[HAMMER_ZONE_FREEMAP_INDEX].physOffset + BigInt(idx * HAMMER_LAYER1_BYTES);
        report('error', 'freemap', 'LAYER1_MISSING', `volume ${v} has no layer1 entry for its big-blocks from ${k * HAMMER_BLOCKMAP_RADIX2}`, { structure: 'freemap layer1 entry', hammerOff: z2, index: idx });
      }
    }
  }
  res.stats.bigBlocks = total;
  res.stats.freeBigBlocks = free;
  const hw: Where = { structure: 'volume header', volNo: 0, path: vs.volumes[0].device.path };
  if (BigInt(free) !== hdr.statFreebigblocks) report('error', 'volume', 'STAT_FREEBIGBLOCKS', `vol0_stat_freebigblocks is ${hdr.statFreebigblocks}, ${free} free big-blocks counted`, { ...hw, rawOffset: 208, field: 'vol0_stat_freebigblocks' });
  if (BigInt(total) !== hdr.statBigblocks) report('error', 'volume', 'STAT_BIGBLOCKS', `vol0_stat_bigblocks is ${hdr.statBigblocks}, ${total} usable big-blocks counted`, { ...hw, rawOffset: 200, field: 'vol0_stat_bigblocks' });
  return refs.size;
}

/**
 * Past a volume's end every layer2 entry is the same zone-15 entry newfs wrote: compare raw bytes
 * against the first one (no CRC per entry needed). Returns the first differing index, or -1.
 */
function checkTailUnavail(vs: VolumeSet, l1: Layer1Report, from: number): number {
  const phys = l1.entry.physOffset;
  // `from` is the entry scanBlockmap stopped at: a zone-15 entry with a good CRC
  const first = vs.read(phys + BigInt(from * HAMMER_LAYER2_BYTES), HAMMER_LAYER2_BYTES).slice();
  const perBuf = HAMMER_BUFSIZE / HAMMER_LAYER2_BYTES;
  for (let j0 = from - (from % perBuf); j0 < HAMMER_BLOCKMAP_RADIX2; j0 += perBuf) {
    const { buf, at } = vs.buffer(phys + BigInt(j0 * HAMMER_LAYER2_BYTES), HAMMER_BUFSIZE);
    const b = buf.bytes;
    for (let k = j0 < from ? from - j0 : 0; k < perBuf; k++) {
      const p = at + k * HAMMER_LAYER2_BYTES;
      for (let x = 0; x < HAMMER_LAYER2_BYTES; x++) {
        if (b[p + x] !== first[x]) return j0 + k;
      }
    }
  }
  return -1;
}

/* ------------------------------------------------------------------ UNDO FIFO */

function checkUndo(vs: VolumeSet, report: Report): void {
  const hdr = vs.root;
  const bm = hdr.blockmap[HAMMER_ZONE_UNDO_INDEX];
  const hw: Where = { structure: 'blockmap entry', volNo: 0, path: vs.volumes[0].device.path, rawOffset: 264 + HAMMER_ZONE_UNDO_INDEX * 40, index: HAMMER_ZONE_UNDO_INDEX };
  const size = fifoSize(vs);
  const base = BigInt(HAMMER_ZONE_UNDO_INDEX) << 60n;
  if (zoneOf(bm.allocOffset) !== HAMMER_ZONE_UNDO_INDEX || size === 0 || size % HAMMER_BIGBLOCK_SIZE !== 0 || size / HAMMER_BIGBLOCK_SIZE > HAMMER_UNDO_LAYER2) {
    report('error', 'undo', 'UNDO_POINTER', `UNDO alloc_offset ${hx(bm.allocOffset)} is not a whole number of big-blocks (1..128) in zone 3`, hw);
    return;
  }
  const nBig = size / HAMMER_BIGBLOCK_SIZE;
  for (let i = 0; i < HAMMER_UNDO_LAYER2; i++) {
    const a = hdr.undoArray[i];
    const wa: Where = { structure: 'volume header', volNo: 0, path: vs.volumes[0].device.path, rawOffset: 904 + i * 8, field: 'vol0_undo_array', index: i };
    if (i < nBig && (a === HAMMER_BLOCKMAP_UNAVAIL || zoneOf(a) !== 2 || (a & (BB - 1n)) !== 0n)) report('error', 'undo', 'UNDO_ARRAY', `UNDO big-block ${i} has no valid zone-2 address (${hx(a)})`, wa);
    else if (i >= nBig && a !== HAMMER_BLOCKMAP_UNAVAIL) report('warning', 'undo', 'UNDO_ARRAY', `vol0_undo_array[${i}] is set beyond the FIFO size`, wa);
  }
  let bad = false;
  for (const [name, off] of [['first_offset', bm.firstOffset], ['next_offset', bm.nextOffset]] as const) {
    if (zoneOf(off) !== HAMMER_ZONE_UNDO_INDEX || off < base || off >= bm.allocOffset || (off & 7n) !== 0n) {
      report('error', 'undo', 'UNDO_POINTER', `UNDO ${name} ${hx(off)} is not inside the FIFO [${hx(base)}, ${hx(bm.allocOffset)})`, { ...hw, field: name });
      bad = true;
    }
  }
  if (bad) return;
  // the active range must parse record by record (with wrap-around)
  const first = Number(bm.firstOffset & HAMMER_OFF_SHORT_MASK);
  const next = Number(bm.nextOffset & HAMMER_OFF_SHORT_MASK);
  let pos = first;
  let done = 0;
  const span = next >= first ? next - first : size - first + next;
  while (done < span) {
    let r;
    try {
      r = recordAt(vs, pos);
    } catch (e) {
      if (!(e instanceof HammerError)) throw e;
      report('error', 'undo', 'UNDO_RECORD', `active UNDO range cannot be read: ${e.detail}`, e.where);
      return;
    }
    if (!r.rec) {
      report('error', 'undo', 'UNDO_RECORD', `bad record in the active UNDO range: ${r.problem}`, { structure: 'UNDO FIFO record', hammerOff: fifoOff(pos) });
      return;
    }
    done += r.size;
    pos += r.size;
    if (pos >= size) pos -= size;
  }
  if (done !== span) report('error', 'undo', 'UNDO_RECORD', 'last record of the active UNDO range runs past next_offset', { structure: 'UNDO FIFO record', hammerOff: fifoOff(pos) });
}

/* ------------------------------------------------------------------ filesystem */

const isDirType = (t: number) => t === HAMMER_OBJTYPE_DIRECTORY;

function checkPfs(pr: PfsRecords, report: Report): void {
  const pfs = pr.id;
  const x = (objId?: bigint) => ({ pfs, objId });
  const root = pr.inodes.get(1n);
  if (!root) {
    report('error', 'fs', 'PFS_ROOT', `PFS ${pfs} has no root directory inode (obj_id 1)`, { structure: `PFS ${pfs}` }, x(1n));
  } else if (!isDirType(root.objType)) {
    report('error', 'fs', 'PFS_ROOT', `PFS ${pfs} root inode is obj_type ${root.objType}, not a directory`, root.where, x(1n));
  }
  for (const ino of pr.inodes.values()) {
    if (ino.leafObjType !== ino.objType) report('error', 'fs', 'INODE_TYPE', `INODE leaf obj_type ${ino.leafObjType} differs from the inode's obj_type ${ino.objType}`, ino.where, x(ino.objId));
    if (ino.objType === 0 || ino.objType > HAMMER_OBJTYPE_SOCKET) report('error', 'fs', 'INODE_TYPE', `inode has invalid obj_type ${ino.objType}`, ino.where, x(ino.objId));
    if (isDirType(ino.objType) && (ino.capFlags & HAMMER_INODE_CAP_DIRHASH_MASK) > 1) report('error', 'fs', 'INODE_CAPS', `directory uses reserved hash algorithm ${ino.capFlags & 3}`, ino.where, x(ino.objId));
  }

  // directory entries
  const links = new Map<bigint, EntryRec[]>();
  const children = new Map<bigint, bigint[]>();
  const names = new Map<bigint, Set<string>>();
  for (const e of pr.entries) {
    const dir = pr.inodes.get(e.dirObjId);
    const ex = x(e.dirObjId);
    if (!dir) {
      report('error', 'fs', 'DIRENT_ORPHAN', `entry "${nameText(e.name)}" belongs to directory ${hx(e.dirObjId)}, which has no live inode`, e.where, ex);
      continue;
    }
    if (!isDirType(dir.objType)) {
      report('error', 'fs', 'DIRENT_ORPHAN', `entry "${nameText(e.name)}" belongs to inode ${hx(e.dirObjId)}, which is not a directory`, e.where, ex);
      continue;
    }
    const wantLoc = (((pfs << 16) | (dir.capFlags & HAMMER_INODE_CAP_DIR_LOCAL_INO ? LOC_INODE : LOC_MISC)) >>> 0);
    if (e.leafLoc !== wantLoc) report('error', 'fs', 'DIRENT_LOC', `entry "${nameText(e.name)}" in localization 0x${e.leafLoc.toString(16).padStart(8, '0')}, the directory's cap flags say 0x${wantLoc.toString(16).padStart(8, '0')}`, e.where, ex);
    if (e.name.length === 0 || e.name.includes(0) || e.name.includes(0x2f)) report('error', 'fs', 'DIRENT_NAME', `entry name ${JSON.stringify(nameText(e.name))} is empty or contains NUL or '/'`, e.where, ex);
    // hash key: ALG0 keys carry arbitrary low 32 bits (old kernels' iterator); ALG1 namekey + collision index
    const nk = directoryNamekey(dir.capFlags, e.name);
    const alg = dir.capFlags & HAMMER_INODE_CAP_DIRHASH_MASK;
    let hi = alg === 0 ? nk.key | 0xffffffffn : nk.key + nk.maxIterations;
    if (hi > KEY_MAX) hi = KEY_MAX;
    if (e.key < nk.key || e.key > hi) report('error', 'fs', 'DIRENT_HASH', `entry "${nameText(e.name)}" has key ${hx(e.key)}, outside [${hx(nk.key)}, ${hx(hi)}] for its name (ALG${alg})`, e.where, ex);
    const nm = Buffer.from(e.name).toString('latin1');
    let set = names.get(e.dirObjId);
    if (!set) names.set(e.dirObjId, (set = new Set()));
    if (set.has(nm)) report('error', 'fs', 'DIRENT_DUP', `name "${nameText(e.name)}" appears twice in directory ${hx(e.dirObjId)}`, e.where, ex);
    set.add(nm);
    if (e.targetLoc >>> 16 !== pfs || (e.targetLoc & 0xffff) !== 0) {
      report('error', 'fs', 'DIRENT_PFS', `entry "${nameText(e.name)}" names localization 0x${e.targetLoc.toString(16).padStart(8, '0')}, not PFS ${pfs}`, e.where, ex);
      continue;
    }
    const t = pr.inodes.get(e.targetObjId);
    if (!t) {
      report('error', 'fs', 'DIRENT_TARGET', `entry "${nameText(e.name)}" names inode ${hx(e.targetObjId)}, which is not live in PFS ${pfs}`, e.where, x(e.targetObjId));
      continue;
    }
    if (e.leafObjType !== t.objType) report('error', 'fs', 'DIRENT_TYPE', `entry "${nameText(e.name)}" says obj_type ${e.leafObjType}, inode ${hx(t.objId)} is obj_type ${t.objType}`, e.where, x(t.objId));
    let l = links.get(t.objId);
    if (!l) links.set(t.objId, (l = []));
    l.push(e);
    let c = children.get(e.dirObjId);
    if (!c) children.set(e.dirObjId, (c = []));
    c.push(t.objId);
  }

  // reachability from the root through live entries
  const reached = new Set<bigint>();
  if (root) {
    const stack = [1n];
    reached.add(1n);
    while (stack.length) {
      const d = stack.pop()!;
      for (const c of children.get(d) ?? []) {
        if (reached.has(c)) continue;
        reached.add(c);
        if (isDirType(pr.inodes.get(c)!.objType)) stack.push(c);
      }
    }
  }

  for (const ino of pr.inodes.values()) {
    const named = links.get(ino.objId) ?? [];
    const ix = x(ino.objId);
    if (ino.objId === 1n) {
      // a PFS root has no entry and nlinks 1 (newfs and pfs-master bump it from 0)
      if (named.length) report('error', 'fs', 'NLINKS', `PFS root is named by ${named.length} directory entr${named.length === 1 ? 'y' : 'ies'}`, ino.where, ix);
      if (ino.nlinks !== 1n) report('error', 'fs', 'NLINKS', `PFS root nlinks is ${ino.nlinks}, expected 1`, ino.where, ix);
      continue;
    }
    if (named.length === 0) {
      report('error', 'fs', 'UNREACHABLE', `inode (obj_type ${ino.objType}, nlinks ${ino.nlinks}) is named by no directory entry`, ino.where, ix);
      continue;
    }
    if (ino.nlinks !== BigInt(named.length)) report('error', 'fs', 'NLINKS', `nlinks is ${ino.nlinks}, ${named.length} directory entr${named.length === 1 ? 'y names' : 'ies name'} it`, ino.where, ix);
    if (!reached.has(ino.objId)) report('error', 'fs', 'UNREACHABLE', 'inode is named only from directories not reachable from the PFS root', ino.where, ix);
    if (isDirType(ino.objType)) {
      if (named.length > 1) report('error', 'fs', 'NLINKS', `directory named by ${named.length} entries (hard-linked directory)`, ino.where, ix);
      else if (ino.parentObjId !== named[0].dirObjId) report('error', 'fs', 'PARENT', `parent_obj_id is ${hx(ino.parentObjId)}, the directory holding it is ${hx(named[0].dirObjId)}`, ino.where, ix);
    }
    if (ino.objType === HAMMER_OBJTYPE_SOFTLINK) checkSymlink(pr, ino, report);
  }

  // records whose inode is not live
  for (const [objId, recs] of pr.owned) {
    const ino = pr.inodes.get(objId);
    if (!ino) {
      report('error', 'fs', 'ORPHAN_RECORD', `${recs.length} live record(s) (first rec_type 0x${recs[0].recType.toString(16)}) of inode ${hx(objId)}, which is not live`, recs[0].where, x(objId));
      continue;
    }
    for (const r of recs) {
      if (r.recType === HAMMER_RECTYPE_DATA && ino.objType !== HAMMER_OBJTYPE_REGFILE && ino.objType !== HAMMER_OBJTYPE_DBFILE) {
        report('error', 'fs', 'DATA_OWNER', `file data record on an inode of obj_type ${ino.objType}`, r.where, x(objId));
        break;
      }
      if (r.recType === HAMMER_RECTYPE_FIX && ino.objType !== HAMMER_OBJTYPE_SOFTLINK) {
        report('error', 'fs', 'DATA_OWNER', `FIX record on an inode of obj_type ${ino.objType}`, r.where, x(objId));
        break;
      }
    }
  }
}

/** A symlink's size is its target length: inline (≤ 24 bytes, zero padded) or a FIX record of that length. */
function checkSymlink(pr: PfsRecords, ino: InodeRec, report: Report): void {
  const fix = pr.fix.get(ino.objId);
  const x = { pfs: pr.id, objId: ino.objId };
  if (fix !== undefined) {
    if (BigInt(fix) !== ino.size) report('error', 'fs', 'SYMLINK_SIZE', `symlink size ${ino.size}, its target record holds ${fix} bytes`, ino.where, x);
    return;
  }
  if (ino.size > BigInt(HAMMER_INODE_BASESYMLEN)) {
    report('error', 'fs', 'SYMLINK_SIZE', `symlink size ${ino.size} needs a target record, none is live`, ino.where, x);
    return;
  }
  const n = Number(ino.size);
  const nul = ino.ext.indexOf(0);
  if ((nul >= 0 && nul < n) || ino.ext.subarray(n).some((b) => b !== 0)) {
    report('error', 'fs', 'SYMLINK_SIZE', `symlink size ${n} disagrees with its inline target`, ino.where, x);
  }
}

function nameText(b: Uint8Array): string {
  // eslint-disable-next-line no-control-regex
  return Buffer.from(b).toString('utf8').replace(/[\x00-\x1f\x7f]/g, (c) => '\\x' + c.charCodeAt(0).toString(16).padStart(2, '0'));
}
