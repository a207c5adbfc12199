/**
 * B-Tree node — struct hammer_node_ondisk (sys/vfs/hammer/hammer_btree.h), 4096 bytes:
 * crc u32 @00 (over [4,4096)), reserved01 @04, parent @08 (zone-8, 0 at root), count i32 @10,
 * type u8 @14 ('I' / 'L' / 'D'), reserved @15..37, mirror_tid @38, 63 elements from @40.
 * Internal nodes use elms[count] as the right boundary. A NodeView reads fields in place from
 * the cached buffer; nothing is copied or decoded until asked.
 */
import {
  LE, HAMMER_BTREE_NODE_SIZE, HAMMER_BTREE_ELM_SIZE, HAMMER_BTREE_LEAF_ELMS, HAMMER_BTREE_INT_ELMS,
  HAMMER_BTREE_TYPE_INTERNAL, HAMMER_BTREE_TYPE_LEAF,
} from './constants.js';
import { crcFn, crcAlgFor, testCrc, type CrcVerdict, type CrcAlg } from './crc.js';
import { u64, setU64 } from './int64.js';
import { decodeInternalElm, decodeLeafElm, ELM, type InternalElm, type LeafElm } from './btree-elm.js';

export const NODE = { crc: 0x00, reserved01: 0x04, parent: 0x08, count: 0x10, type: 0x14, mirrorTid: 0x38, elms: 0x40 } as const;
export const NODE_SIZE = HAMMER_BTREE_NODE_SIZE;

export function btreeNodeCrc(bytes: Uint8Array, at: number, alg: CrcAlg): number {
  return crcFn(alg)(bytes.subarray(at + 4, at + HAMMER_BTREE_NODE_SIZE));
}
export function btreeNodeCrcVerdict(bytes: Uint8Array, at: number, version: number): CrcVerdict {
  const stored = new DataView(bytes.buffer, bytes.byteOffset + at, 4).getUint32(0, LE);
  return testCrc(version, stored, (alg) => btreeNodeCrc(bytes, at, alg));
}
export function sealBtreeNode(bytes: Uint8Array, at: number, version: number): void {
  const crc = btreeNodeCrc(bytes, at, crcAlgFor(version));
  new DataView(bytes.buffer, bytes.byteOffset + at, 4).setUint32(0, crc, LE);
}

/** In-place view of one node inside a buffer. */
export class NodeView {
  constructor(
    readonly dv: DataView,
    readonly at: number,
    readonly offset: bigint, // zone-8 address of the node
  ) {}
  get bytes(): Uint8Array {
    return new Uint8Array(this.dv.buffer, this.dv.byteOffset + this.at, HAMMER_BTREE_NODE_SIZE);
  }
  get crc(): number { return this.dv.getUint32(this.at + NODE.crc, LE); }
  get parent(): bigint { return u64(this.dv, this.at + NODE.parent); }
  get count(): number { return this.dv.getInt32(this.at + NODE.count, LE); }
  get type(): number { return this.dv.getUint8(this.at + NODE.type); }
  get mirrorTid(): bigint { return u64(this.dv, this.at + NODE.mirrorTid); }
  get isLeaf(): boolean { return this.type === HAMMER_BTREE_TYPE_LEAF; }
  get isInternal(): boolean { return this.type === HAMMER_BTREE_TYPE_INTERNAL; }
  /** Byte position (within dv) of element i. */
  elmAt(i: number): number { return this.at + NODE.elms + i * HAMMER_BTREE_ELM_SIZE; }
  leaf(i: number): LeafElm { return decodeLeafElm(this.dv, this.elmAt(i)); }
  internal(i: number): InternalElm { return decodeInternalElm(this.dv, this.elmAt(i)); }
  subtreeOffset(i: number): bigint { return u64(this.dv, this.elmAt(i) + ELM.subtreeOffset); }
  elmMirrorTid(i: number): bigint { return u64(this.dv, this.elmAt(i) + ELM.mirrorTid); }
  /** Maximum legal count for this node's type. */
  maxCount(): number { return this.isLeaf ? HAMMER_BTREE_LEAF_ELMS : HAMMER_BTREE_INT_ELMS; }
  /** A structural problem with the header, or null: unknown type, count out of range. */
  headerProblem(): string | null {
    const t = this.type, c = this.count;
    if (t !== HAMMER_BTREE_TYPE_LEAF && t !== HAMMER_BTREE_TYPE_INTERNAL) return `bad node type 0x${t.toString(16)}`;
    if (t === HAMMER_BTREE_TYPE_LEAF && (c < 0 || c > HAMMER_BTREE_LEAF_ELMS)) return `leaf count ${c} out of range 0..63`;
    if (t === HAMMER_BTREE_TYPE_INTERNAL && (c < 1 || c > HAMMER_BTREE_INT_ELMS)) return `internal count ${c} out of range 1..62`;
    return null;
  }
}

/* ---- writers' helpers ---- */
export function setNodeHeader(dv: DataView, at: number, h: { parent: bigint; count: number; type: number; mirrorTid: bigint }): void {
  setU64(dv, at + NODE.parent, h.parent);
  dv.setInt32(at + NODE.count, h.count, LE);
  dv.setUint8(at + NODE.type, h.type);
  setU64(dv, at + NODE.mirrorTid, h.mirrorTid);
}
