/**
 * walkBTree / checkmap in report mode on content-v7 with I/O faults injected under the volume set
 * (a device wrapper failing reads of chosen byte ranges): the damaged node or record is reported
 * with its location, everything else is still walked, and nothing but HammerErrors is involved.
 */
import { describe, expect, it } from 'vitest';
import { imagePaths } from '../../helpers/images.js';
import { openDevice, type BlockDevice } from '../../../src/io/device.js';
import { DeviceFilter } from '../../../src/io/device-filter.js';
import { VolumeSet, assembleVolumeSet, readVolumeHeader } from '../../../src/volume/volume-set.js';
import { BTree } from '../../../src/btree/btree.js';
import { walkBTree, ELMF_BADMIRRORTID, ELMF_TOOFARLEFT, ELMF_BADTYPE, type WalkedNode } from '../../../src/btree/walk.js';
import { sealBtreeNode } from '../../../src/ondisk/btree-node.js';
import { jsonReplacer } from '../../../src/ondisk/int64.js';
import { printShowNode, showNodeJson } from '../../../tools/format/show.js';
import type { Output } from '../../../tools/output.js';
import { checkmap } from '../../../src/btree/checkmap.js';
import { IoError } from '../../../src/errors.js';

const BUF_BEG = 0x88000;

/** Fails every read that overlaps [from, to). */
class HoleDevice extends DeviceFilter {
  constructor(inner: BlockDevice, readonly from: number, readonly to: number) {
    super(inner);
  }
  override readInto(buf: Uint8Array, pos: number): void {
    if (pos < this.to && pos + buf.length > this.from) throw new IoError('injected read error (EIO)', { structure: 'device', path: this.path, rawOffset: pos });
    this.inner.readInto(buf, pos);
  }
  override close(): void {
    this.inner.close();
  }
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

/** Overlays patched bytes on reads (no copy of the image needed). */
class PatchDevice extends HoleDevice {
  constructor(inner: BlockDevice, readonly at: number, readonly bytes: Uint8Array) {
    super(inner, 0, 0);
  }
  override readInto(buf: Uint8Array, pos: number): void {
    this.inner.readInto(buf, pos);
    const from = Math.max(pos, this.at), to = Math.min(pos + buf.length, this.at + this.bytes.length);
    if (from < to) buf.set(this.bytes.subarray(from - this.at, to - this.at), from - pos);
  }
}

/** content-v7 with one node rewritten by `edit` (then resealed, so only the edit is wrong). */
function walkEdited(node: number, edit: (dv: DataView) => void, reseal = true): Map<bigint, WalkedNode> {
  const inner = openDevice(imagePaths('content-v7')[0], { lock: 'none' });
  const b = inner.read(BUF_BEG + node, 4096);
  edit(new DataView(b.buffer, b.byteOffset, 4096));
  if (reseal) sealBtreeNode(b, 0, 7);
  const dev = new PatchDevice(inner, BUF_BEG + node, b);
  const vs = new VolumeSet(assembleVolumeSet([{ device: dev, header: readVolumeHeader(dev) }]));
  try {
    const m = new Map<bigint, WalkedNode>();
    walkBTree(new BTree(vs), { onNode: (n) => m.set(n.offset, n) });
    return m;
  } finally {
    vs.close();
  }
}

describe('element checks (hammer show flags) on edited nodes', () => {
  const LEAF = 0x21017000;
  const LEAF_OFF = 0x8000000021017000n;
  const elm = (i: number) => 0x40 + i * 64;

  it('create_tid above the leaf mirror_tid: M', () => {
    const m = walkEdited(LEAF, (dv) => dv.setBigUint64(elm(5) + 0x10, 0xffffffff00000000n, true));
    const n = m.get(LEAF_OFF)!;
    expect(n.bad).toBe(false);
    expect(n.elmFlags[5] & ELMF_BADMIRRORTID).toBeTruthy();
    expect([...n.elmFlags].filter((f) => f)).toHaveLength(1);
  });
  it('node mirror_tid above its parent element: node mark M', () => {
    const m = walkEdited(LEAF, (dv) => dv.setBigUint64(0x38, 0xffffffff00000000n, true));
    expect(m.get(LEAF_OFF)).toMatchObject({ bad: true, mark: 'M' });
  });
  it('key left of the parent bound: L; bad btype: T', () => {
    const m = walkEdited(LEAF, (dv) => {
      dv.setUint32(elm(0) + 0x24, 0, true); // localization 0 sorts before the parent's element
      dv.setUint8(elm(3) + 0x23, 0x58); // btype 'X'
    });
    const n = m.get(LEAF_OFF)!;
    expect(n.elmFlags[0] & ELMF_TOOFARLEFT).toBeTruthy();
    expect(n.elmFlags[3] & ELMF_BADTYPE).toBeTruthy();
  });
  it('a huge or negative data_len: BL, never read or checksummed', () => {
    const m = walkEdited(LEAF, (dv) => {
      dv.setInt32(elm(1) + 0x38, 0x7fffffff, true);
      dv.setInt32(elm(4) + 0x38, -16, true);
    });
    const n = m.get(LEAF_OFF)!;
    expect([n.dataError![1], n.dataError![4]]).toEqual(['BL', 'BL']);
  });
  it('a wrong data CRC: BX; a node CRC left stale: bad node, walk goes on', () => {
    const m = walkEdited(LEAF, (dv) => dv.setUint32(elm(2) + 0x3c, dv.getUint32(elm(2) + 0x3c, true) ^ 1, true));
    expect(m.get(LEAF_OFF)!.dataError![2]).toBe('BX');
    expect(m.get(LEAF_OFF)!.dataCrc![2]).toBeNull();
    const stale = walkEdited(LEAF, (dv) => dv.setUint8(0x100, dv.getUint8(0x100) ^ 1), false);
    expect(stale.get(LEAF_OFF)).toMatchObject({ bad: true, crc: null, mark: ' ' });
    expect(stale.size).toBe(27);
  });
});

describe('random damage never escapes as anything but a report', () => {
  // Deterministic pseudo-random flips (xorshift) in the root, an inner node and a leaf, with and
  // without resealing the CRC: walk must finish, visit at most a bounded number of nodes, and never
  // throw; checkmap likewise.
  it('100 damaged trees', () => {
    let x = 0x2545f491;
    const rnd = (n: number) => {
      x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
      return x % n;
    };
    const nodes = [0x21000000, 0x2100d000, 0x21017000, 0x2101a000];
    const inner = openDevice(imagePaths('content-v7')[0], { lock: 'none' });
    try {
      for (let t = 0; t < 100; t++) {
        const node = nodes[rnd(nodes.length)];
        const b = inner.read(BUF_BEG + node, 4096);
        const flips = 1 + rnd(8);
        for (let k = 0; k < flips; k++) {
          // bias towards header and element key/pointer bytes
          const pos = rnd(3) === 0 ? rnd(0x40) : 0x40 + rnd(8) * 64 + rnd(64);
          b[pos] ^= 1 << rnd(8);
        }
        if (rnd(2)) sealBtreeNode(b, 0, 7);
        const dev = new PatchDevice(inner, BUF_BEG + node, b);
        const vs = new VolumeSet(assembleVolumeSet([{ device: dev, header: readVolumeHeader(dev) }]));
        // the formatters of show (text and JSON) must cope with whatever the walk reports
        let text = 0;
        const sink = { line: (l = '') => (text += l.length), write: (l: string) => (text += l.length) } as unknown as Output;
        const st = walkBTree(new BTree(vs), {
          onNode: (n) => {
            printShowNode(sink, vs, n, { verbose: 3, quiet: false });
            JSON.stringify(showNodeJson(vs, n, true), jsonReplacer);
          },
        });
        expect(st.nodes).toBeLessThan(27 * 63);
        expect(text).toBeGreaterThan(0);
        if (t % 20 === 0) {
          // checkmap re-reads the 512 MiB FIFO each time: only every 20th tree
          const r = checkmap(new BTree(vs));
          expect(r.nodes).toBeLessThan(27 * 63);
        }
      }
    } finally {
      inner.close();
    }
  }, 120_000);
});
