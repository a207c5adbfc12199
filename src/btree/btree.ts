/**
 * Node access for the one global B-Tree: reads a node through the buffer cache, checks that
 * the offset is a zone-8, 4 KiB-aligned address inside the set, verifies the node CRC
 * (v7: CRC-32C, or CRC-32 as fallback) once per node until invalidated, and checks the header
 * (type, count) so no caller can index past the element array.
 */
import { BadFieldError, CrcMismatchError, type Where } from '../errors.js';
import { HAMMER_BTREE_NODE_SIZE, HAMMER_ZONE_BTREE_INDEX } from '../ondisk/constants.js';
import { NodeView, btreeNodeCrc, btreeNodeCrcVerdict } from '../ondisk/btree-node.js';
import { zoneOf } from '../ondisk/offset.js';
import { crcAlgFor } from '../ondisk/crc.js';
import type { VolumeSet } from '../volume/volume-set.js';

export interface BTreeOptions {
  /** Check node CRCs (default true). */
  verifyCrc?: boolean;
}

export class BTree {
  private verified = new Set<bigint>();
  /** Nodes whose elements the cursor found in strictly increasing key order (see cursor.ts). */
  readonly ordered = new Set<bigint>();
  readonly verifyCrc: boolean;
  nodesRead = 0;
  constructor(
    readonly vs: VolumeSet,
    o: BTreeOptions = {},
  ) {
    this.verifyCrc = o.verifyCrc ?? true;
  }
  get rootOffset(): bigint {
    return this.vs.root.btreeRoot;
  }
  nodeWhere(off: bigint): Where {
    const w: Where = { structure: 'B-Tree node', hammerOff: off };
    try {
      const loc = this.vs.locate(off, HAMMER_BTREE_NODE_SIZE);
      w.volNo = loc.vol;
      w.rawOffset = loc.pos;
      w.path = this.vs.volumes[loc.vol].device.path;
    } catch {
      /* location itself is bad; the caller's error says so */
    }
    return w;
  }
  /** Read a node without CRC or header checks (for show/verify, which report instead of throw). */
  rawNode(off: bigint): NodeView {
    const where: Where = { structure: 'B-Tree node', hammerOff: off };
    if (zoneOf(off) !== HAMMER_ZONE_BTREE_INDEX) throw new BadFieldError('B-Tree node offset is not in zone 8', where);
    if ((off & 0xfffn) !== 0n) throw new BadFieldError('B-Tree node offset is not 4 KiB aligned', where);
    const { buf, at } = this.vs.buffer(off, HAMMER_BTREE_NODE_SIZE, where);
    this.nodesRead++;
    return new NodeView(buf.dv, at, off);
  }
  /** Read a node, verifying CRC and header. */
  node(off: bigint): NodeView {
    const n = this.rawNode(off);
    if (this.verifyCrc && !this.verified.has(off)) {
      if (btreeNodeCrcVerdict(n.bytes, 0, this.vs.version) === null) {
        throw new CrcMismatchError(this.nodeWhere(off), btreeNodeCrc(n.bytes, 0, crcAlgFor(this.vs.version)), n.crc, 'B-Tree node CRC mismatch');
      }
      this.verified.add(off);
    }
    const p = n.headerProblem();
    if (p) throw new BadFieldError(p, this.nodeWhere(off));
    return n;
  }
  /** Forget cached verdicts (after writes). */
  invalidate(off?: bigint): void {
    if (off === undefined) {
      this.verified.clear();
      this.ordered.clear();
    } else {
      this.verified.delete(off);
      this.ordered.delete(off);
    }
  }
}
