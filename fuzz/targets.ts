/**
 * Fuzz targets: one per decoder that takes outside bytes. `run(input)` feeds the bytes to the
 * decoder and then exercises what a caller would do with the result. The contract under test:
 * a target returns normally or throws a HammerError. Anything else (TypeError, RangeError, a
 * broken invariant reported as a plain Error, a hang, unbounded allocation) is a finding.
 *
 * Shared by `npm run fuzz` (fuzz/run.ts) and by the regression tests that replay
 * test/fuzz/corpus/*.bin, so a finding is always re-checked against the same code.
 */
import { HammerError, type Where } from '../src/errors.js';
import {
  decodeVolumeHeader, encodeVolumeHeader, volumeHeaderCrcVerdict,
} from '../src/ondisk/volume-header.js';
import {
  decodeBlockmapEntry, encodeBlockmapEntry, blockmapEntryCrcVerdict, decodeLayer1, encodeLayer1, layer1CrcVerdict,
  decodeLayer2, encodeLayer2, layer2CrcVerdict,
} from '../src/ondisk/blockmap.js';
import { NodeView, btreeNodeCrcVerdict } from '../src/ondisk/btree-node.js';
import { cmpBaseElm, cmpBaseElmRaw, decodeBaseElm } from '../src/ondisk/btree-elm.js';
import { decodeInodeData, inodeUid, inodeGid, recordDataCrcVerdict } from '../src/ondisk/inode-data.js';
import { decodeEntryData } from '../src/ondisk/entry-data.js';
import { decodePfsData, encodePfsData, isSlave } from '../src/ondisk/pfs-data.js';
import { decodeSnapshotData, decodeConfigData } from '../src/ondisk/snapshot-data.js';
import { fifoRecordProblem, decodeFifoRecord } from '../src/ondisk/fifo.js';
import { directoryNamekey } from '../src/ondisk/dirhash.js';
import {
  HAMMER_VOLUME_HEADER_SIZE, HAMMER_BTREE_NODE_SIZE, HAMMER_BTREE_TYPE_INTERNAL, HAMMER_BTREE_ELM_SIZE,
  HAMMER_RECTYPE_INODE, HAMMER_MAX_ZONES,
} from '../src/ondisk/constants.js';
import { VOL } from '../src/ondisk/volume-header.js';
import { readVolumeHeader, assembleVolumeSet, VolumeSet } from '../src/volume/volume-set.js';
import { zoneUsage } from '../src/volume/freemap.js';
import { SparseDevice } from './sparse-device.js';
import type { Samples } from './samples.js';

export interface FuzzTarget {
  name: string;
  /** What the target covers, for the reliability report. */
  covers: string;
  /** Largest input the mutator should produce. */
  maxLen: number;
  seeds(s: Samples): Uint8Array[];
  run(input: Uint8Array): void;
  /** Unmutated seeds may end in a HammerError (the target builds an incomplete medium around them). */
  seedsMayFail?: boolean;
}

/** A broken invariant found by a target (not a HammerError, so it counts as a finding). */
export class InvariantError extends Error {
  override name = 'InvariantError';
}
function check(cond: boolean, what: string): void {
  if (!cond) throw new InvariantError(what);
}

const W: Where = { structure: 'fuzz input' };

/** Run fn; HammerErrors are an accepted outcome, anything else propagates. */
export function tolerate<T>(fn: () => T): T | HammerError {
  try {
    return fn();
  } catch (e) {
    if (e instanceof HammerError) return e;
    throw e;
  }
}

function padTo(b: Uint8Array, n: number): Uint8Array {
  if (b.length >= n) return b;
  const o = new Uint8Array(n);
  o.set(b);
  return o;
}
function eqBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const volumeHeader: FuzzTarget = {
  name: 'volume-header',
  covers: 'decodeVolumeHeader, volumeHeaderCrcVerdict, blockmapEntryCrcVerdict, encode/decode round trip',
  maxLen: 4096,
  seeds: (s) => s.headers,
  run(input) {
    const h = decodeVolumeHeader(input, W);
    volumeHeaderCrcVerdict(h);
    for (let z = 0; z < HAMMER_MAX_ZONES; z++) blockmapEntryCrcVerdict(h.blockmap[z], h.version);
    // Whatever was accepted must survive re-encoding (the writer rewrites headers it read).
    const again = decodeVolumeHeader(encodeVolumeHeader(h), W);
    check(again.nextTid === h.nextTid && again.btreeRoot === h.btreeRoot && again.bufEnd === h.bufEnd && again.volNo === h.volNo, 'volume header round trip changed a field');
    check(eqBytes(encodeVolumeHeader(h).subarray(VOL.blockmap), input.subarray(VOL.blockmap, HAMMER_VOLUME_HEADER_SIZE)), 'blockmap/undo array not re-encoded byte for byte');
  },
};

const blockmap: FuzzTarget = {
  name: 'blockmap',
  covers: 'decodeBlockmapEntry/Layer1/Layer2, their CRC verdicts, byte-exact re-encoding',
  maxLen: 88,
  seeds: (s) => s.blockmap,
  run(input) {
    const b = padTo(input, 88);
    const dv = new DataView(b.buffer, b.byteOffset, 88);
    const e = decodeBlockmapEntry(dv, 0), l1 = decodeLayer1(dv, 40), l2 = decodeLayer2(dv, 72);
    for (const v of [4, 6, 7]) {
      blockmapEntryCrcVerdict(e, v); layer1CrcVerdict(l1, v); layer2CrcVerdict(l2, v);
    }
    const o = new Uint8Array(88);
    const odv = new DataView(o.buffer);
    encodeBlockmapEntry(e, odv, 0); encodeLayer1(l1, odv, 40); encodeLayer2(l2, odv, 72);
    check(eqBytes(o, b.subarray(0, 88)), 'blockmap entries not re-encoded byte for byte');
  },
};

/** Elements of a node a caller may index once headerProblem() is null. */
function nodeElements(n: NodeView): number {
  return n.count + (n.type === HAMMER_BTREE_TYPE_INTERNAL ? 1 : 0);
}

const btreeNode: FuzzTarget = {
  name: 'btree-node',
  covers: 'NodeView fields, headerProblem, leaf/internal element decode, btreeNodeCrcVerdict, cmpBaseElmRaw == cmpBaseElm on the elements',
  maxLen: HAMMER_BTREE_NODE_SIZE,
  seeds: (s) => s.nodes,
  run(input) {
    // The node sits in the second 4 KiB of a 16 KiB buffer, as in the cache.
    const buf = new Uint8Array(16384);
    buf.set(input.subarray(0, HAMMER_BTREE_NODE_SIZE), 4096);
    const dv = new DataView(buf.buffer);
    const n = new NodeView(dv, 4096, 0x8000000020001000n);
    btreeNodeCrcVerdict(buf, 4096, 7);
    btreeNodeCrcVerdict(n.bytes, 0, 6);
    void n.parent; void n.mirrorTid; void n.crc;
    if (n.headerProblem() !== null) return;
    const m = nodeElements(n);
    check(m >= 0 && n.elmAt(m - 1) + HAMMER_BTREE_ELM_SIZE <= 4096 + HAMMER_BTREE_NODE_SIZE, 'accepted count indexes past the node');
    for (let i = 0; i < m; i++) {
      if (n.isLeaf) n.leaf(i);
      else { n.internal(i); n.subtreeOffset(i); n.elmMirrorTid(i); }
      if (i > 0) {
        const raw = cmpBaseElmRaw(dv, n.elmAt(i - 1), dv, n.elmAt(i));
        const big = cmpBaseElm(decodeBaseElm(dv, n.elmAt(i - 1)), decodeBaseElm(dv, n.elmAt(i)));
        check(raw === big, `cmpBaseElmRaw ${raw} != cmpBaseElm ${big}`);
      }
    }
  },
};

const baseCmp: FuzzTarget = {
  name: 'elm-compare',
  covers: 'cmpBaseElmRaw against cmpBaseElm and antisymmetry, on any two 40-byte keys',
  maxLen: 80,
  seeds: (s) => s.nodes.map((n) => n.slice(0x40, 0x40 + 80)),
  run(input) {
    const b = padTo(input, 80);
    const dv = new DataView(b.buffer, b.byteOffset, 80);
    const raw = cmpBaseElmRaw(dv, 0, dv, 40), back = cmpBaseElmRaw(dv, 40, dv, 0);
    const big = cmpBaseElm(decodeBaseElm(dv, 0), decodeBaseElm(dv, 40));
    check(raw === big, `cmpBaseElmRaw ${raw} != cmpBaseElm ${big}`);
    check(raw === -back || (raw === 0 && back === 0), 'comparison not antisymmetric');
  },
};

const inode: FuzzTarget = {
  name: 'inode-data',
  covers: 'decodeInodeData, uid/gid, INODE data CRC rule',
  maxLen: 256,
  seeds: (s) => s.inode,
  run(input) {
    for (const v of [6, 7]) recordDataCrcVerdict(HAMMER_RECTYPE_INODE, input, 0x12345678, v);
    const d = decodeInodeData(input, W);
    inodeUid(d); inodeGid(d);
  },
};

const dirent: FuzzTarget = {
  name: 'entry-data',
  covers: 'decodeEntryData, directory name hash of the decoded name',
  maxLen: 1024,
  seeds: (s) => s.dirent,
  run(input) {
    const e = decodeEntryData(input, W);
    check(e.name.length === input.length - 16, 'entry name length');
    directoryNamekey(1, e.name);
  },
};

const pfs: FuzzTarget = {
  name: 'pfs-data',
  covers: 'decodePfsData, re-encode of the fixed fields',
  maxLen: 512,
  seeds: (s) => s.pfs,
  run(input) {
    const p = decodePfsData(input, W);
    isSlave(p);
    const again = decodePfsData(encodePfsData(p), W);
    check(again.syncEndTid === p.syncEndTid && again.mirrorFlags === p.mirrorFlags && again.pruneMax === p.pruneMax, 'PFS round trip');
  },
};

const snapshot: FuzzTarget = {
  name: 'snapshot-data',
  covers: 'decodeSnapshotData, decodeConfigData',
  maxLen: 2048,
  seeds: (s) => [...s.snapshot, ...s.config],
  run(input) {
    decodeConfigData(input);
    decodeSnapshotData(input, W);
  },
};

const fifo: FuzzTarget = {
  name: 'fifo',
  covers: 'fifoRecordProblem + decodeFifoRecord scanning a buffer the way recovery does (v6 and v7 CRCs)',
  maxLen: 16384,
  seeds: (s) => s.fifo.map((b) => b.slice(0, 4096)),
  run(input) {
    for (const v of [6, 7]) {
      let at = 0;
      while (at + 8 <= input.length) {
        const p = fifoRecordProblem(input, at, input.length, v);
        if (p !== null) {
          at += 8;
          continue;
        }
        const r = decodeFifoRecord(input, at, W);
        check(r.head.size >= 8 && at + r.head.size <= input.length, 'accepted record outside the buffer');
        if (r.kind === 'undo') check(32 + r.undo.payload.length <= r.head.size, 'UNDO payload past the record');
        if (r.kind === 'redo') check(56 + r.redo.payload.length <= r.head.size, 'REDO payload past the record');
        at += r.head.size;
      }
    }
  },
};

const dirhash: FuzzTarget = {
  name: 'dirhash',
  covers: 'directoryNamekey for every cap_flags algorithm; key shape invariants',
  maxLen: 300,
  seeds: (s) => s.names,
  run(input) {
    for (let cap = 0; cap < 8; cap++) {
      const { key, maxIterations } = directoryNamekey(cap, input);
      check(key > 0n && key < 1n << 63n, 'name key outside 1..2^63-1');
      check(key >> 32n !== 0n, 'name key has an empty hash part');
      if ((cap & 3) === 1) check((key & 0xffffn) === 0n && maxIterations === 0xffffffn, 'ALG1 key low bits');
      else check((key & 0xffffffffn) === 0n, 'ALG0 key low bits');
    }
  },
};

/**
 * The open path of a volume set: each 1928-byte chunk of the input is the header of one volume
 * of a 1 GiB device (zeros elsewhere); read + decode + assemble as openVolumeSet does, then what
 * `info` does (zone usage over the freemap) and offset translation of every pointer the header
 * holds.
 */
export function volumeSetFromHeaders(input: Uint8Array, size = 1 << 30): SparseDevice[] {
  const n = Math.min(4, Math.max(1, Math.ceil(input.length / HAMMER_VOLUME_HEADER_SIZE)));
  const devs: SparseDevice[] = [];
  for (let i = 0; i < n; i++) {
    devs.push(new SparseDevice(`fuzz${i}.img`, size).put(0, input.subarray(i * HAMMER_VOLUME_HEADER_SIZE, (i + 1) * HAMMER_VOLUME_HEADER_SIZE)));
  }
  return devs;
}

const volumeSet: FuzzTarget = {
  name: 'volume-set',
  covers: 'readVolumeHeader + assembleVolumeSet on devices, VolumeSet warnings, toZone2/locate/read of header pointers, freemap lookup, zone usage (info)',
  maxLen: 4 * HAMMER_VOLUME_HEADER_SIZE,
  // Only the headers are real: the freemap reads as zeros, which zone usage rightly refuses.
  seedsMayFail: true,
  seeds: (s) => s.headerSets,
  run(input) {
    const devs = volumeSetFromHeaders(input);
    const items = devs.map((device) => ({ device, header: readVolumeHeader(device) }));
    const vs = new VolumeSet(assembleVolumeSet(items), 1 << 20);
    const h = vs.root;
    const ptrs = [h.btreeRoot, ...h.blockmap.flatMap((e) => [e.physOffset, e.firstOffset, e.nextOffset, e.allocOffset])];
    for (const p of ptrs) {
      tolerate(() => vs.read(p, 64));
      tolerate(() => vs.freemapLookup(p));
    }
    zoneUsage(vs);
    check(vs.cache.sizeBytes <= 1 << 20, 'cache over budget');
  },
};

export const TARGETS: FuzzTarget[] = [volumeHeader, blockmap, btreeNode, baseCmp, inode, dirent, pfs, snapshot, fifo, dirhash, volumeSet];
