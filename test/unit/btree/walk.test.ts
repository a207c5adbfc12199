/**
 * walkBTree / checkmap in report mode on content-v7 with I/O faults injected under the volume set
 * (a device wrapper failing reads of chosen byte ranges): the damaged node or record is reported
 * with its location, everything else is still walked, and nothing but HammerErrors is involved.
 */
import { describe, expect, it } from 'vitest';
import { imagePaths } from '../../helpers/images.js';
import { openDevice, type BlockDevice } from '../../../src/io/device.js';
import { VolumeSet, assembleVolumeSet, readVolumeHeader } from '../../../src/volume/volume-set.js';
import { BTree } from '../../../src/btree/btree.js';
import { walkBTree, type WalkedNode } from '../../../src/btree/walk.js';
import { checkmap } from '../../../src/btree/checkmap.js';
import { IoError } from '../../../src/errors.js';

const BUF_BEG = 0x88000;

/** Fails every read that overlaps [from, to). */
class HoleDevice implements BlockDevice {
  constructor(readonly inner: BlockDevice, readonly from: number, readonly to: number) {}
  get path() { return this.inner.path; }
  get size() { return this.inner.size; }
  get isBlockDevice() { return this.inner.isBlockDevice; }
  read(pos: number, len: number): Uint8Array {
    const b = new Uint8Array(len);
    this.readInto(b, pos);
    return b;
  }
  readInto(buf: Uint8Array, pos: number): void {
    if (pos < this.to && pos + buf.length > this.from) throw new IoError('injected read error (EIO)', { structure: 'device', path: this.path, rawOffset: pos });
    this.inner.readInto(buf, pos);
  }
  close() { this.inner.close(); }
}

function openWithHole(from: number, to: number): VolumeSet {
  const dev = new HoleDevice(openDevice(imagePaths('content-v7')[0], { lock: 'none' }), from, to);
  return new VolumeSet(assembleVolumeSet([{ device: dev, header: readVolumeHeader(dev) }]));
}

describe('walk with I/O faults', () => {
  // reads go through 16 KiB buffers, so a bad sector takes the 4 nodes of its buffer with it
  const BUF = 0x21014000; // holds leaves 0x21014000..0x21017000
  const lost = [0x8000000021014000n, 0x8000000021015000n, 0x8000000021016000n, 0x8000000021017000n];

  function cleanCounts(): Map<bigint, number> {
    const vs = openWithHole(0, 0);
    const m = new Map<bigint, number>();
    try {
      walkBTree(new BTree(vs), { onNode: (n) => m.set(n.offset, n.node!.isLeaf ? n.elms : 0) });
    } finally {
      vs.close();
    }
    return m;
  }

  it('unreadable leaves are reported (I) with their location; all other nodes are walked', () => {
    const counts = cleanCounts();
    const vs = openWithHole(BUF_BEG + BUF + 0x3000, BUF_BEG + BUF + 0x3200); // one bad 512-byte sector
    try {
      const seen: WalkedNode[] = [];
      const st = walkBTree(new BTree(vs), { onNode: (n) => seen.push(n) });
      expect(st.nodes).toBe(27);
      const bad = seen.filter((n) => n.bad);
      expect(bad.map((n) => n.offset)).toEqual(lost);
      for (const b of bad) {
        expect(b).toMatchObject({ mark: 'I', node: null });
        expect(b.error).toBeInstanceOf(IoError);
        expect(b.error!.where).toMatchObject({ path: imagePaths('content-v7')[0], rawOffset: BUF_BEG + BUF });
        expect(b.where).toMatchObject({ volNo: 0, rawOffset: BUF_BEG + Number(b.offset & 0xfffffffffn) });
      }
      // the parent's elements pointing at them are flagged C (child unreadable)
      const parent = seen.find((n) => n.offset === 0x800000002101a000n)!;
      expect([...parent.elmFlags].filter((f) => f !== 0)).toHaveLength(4);
      expect(st.leafElms).toBe(1339 - lost.reduce((a, o) => a + counts.get(o)!, 0));
    } finally {
      vs.close();
    }
  });

  it('unreadable record data is an IO verdict on that record only', () => {
    // the large-data big-block at zone-2 0x22800000: every 16 KiB record there becomes unreadable
    const vs = openWithHole(BUF_BEG + 0x22800000, BUF_BEG + 0x23000000);
    try {
      let io = 0;
      const st = walkBTree(new BTree(vs), { onNode: (n) => (io += n.dataError?.filter((e) => e === 'IO').length ?? 0) });
      expect(st.badNodes).toBe(0);
      expect(io).toBeGreaterThan(100);
      expect(st.badRecords).toBe(io);
    } finally {
      vs.close();
    }
  });

  it('checkmap lists the unreadable nodes and goes on', () => {
    const vs = openWithHole(BUF_BEG + BUF, BUF_BEG + BUF + 512);
    try {
      const r = checkmap(new BTree(vs));
      expect(r.badNodes.map((n) => n.offset)).toEqual(lost);
      expect(r.leafElms).toBeLessThan(1339);
      // the leaf's records are not counted, so its big-blocks now disagree with the freemap
      expect(r.blocks.some((b) => b.verdict === 'BM')).toBe(true);
    } finally {
      vs.close();
    }
  });
});
