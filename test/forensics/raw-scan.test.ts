// The raw scanner on its own: node recognition and both CRC flavours, I/O errors on the media
// (a bad sector inside a leaf and inside a file's data), a corrupted (not zeroed) leaf, and
// --scan full against the freemap-guided default.
import * as fs from 'node:fs';
import { DeviceFilter } from '../../src/io/device-filter.js';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { IoError } from '../../src/errors.js';
import { openDevice, type BlockDevice } from '../../src/io/device.js';
import { nodeCandidate, rawMediaFromDevices, openRawMedia, scanMedia } from '../../src/fs/raw-scan.js';
import { recover } from '../../src/fs/recover.js';
import { sealBtreeNode } from '../../src/ondisk/btree-node.js';
import { imagePaths } from '../helpers/images.js';
import { checkTree, manifest, lastTid, tmpDest, treeNodes, type TreeNodeInfo } from './helpers.js';

const M = manifest();
const LAST = lastTid(M);
const dests: string[] = [];
afterAll(() => {
  for (const d of dests) fs.rmSync(d, { recursive: true, force: true });
});

/** A real image whose reads fail (EIO) wherever they touch one of the given byte ranges. */
class BadSectorDevice extends DeviceFilter {
  constructor(inner: BlockDevice, readonly bad: { pos: number; len: number }[]) {
    super(inner);
  }
  override readInto(buf: Uint8Array, pos: number): void {
    for (const r of this.bad) {
      if (pos < r.pos + r.len && r.pos < pos + buf.length) throw new IoError('injected read error (EIO)', { structure: 'device', path: this.path, rawOffset: pos });
    }
    this.inner.readInto(buf, pos);
  }
  override close(): void { this.inner.close(); }
}

/** A real image with a few bytes changed on the way out (the file itself is untouched). */
class OverlayDevice extends DeviceFilter {
  readonly patches: { at: number; bytes: Uint8Array }[];
  constructor(inner: BlockDevice, at: number, bytes: Uint8Array, ...more: { at: number; bytes: Uint8Array }[]) {
    super(inner);
    this.patches = [{ at, bytes }, ...more];
  }
  override readInto(buf: Uint8Array, pos: number): void {
    this.inner.readInto(buf, pos);
    for (const { at, bytes } of this.patches) {
      for (let i = 0; i < bytes.length; i++) {
        const p = at + i - pos;
        if (p >= 0 && p < buf.length) buf[p] = bytes[i];
      }
    }
  }
  override close(): void { this.inner.close(); }
}

const nodes = treeNodes(imagePaths('content-v7'));
const leaves = nodes.filter((n) => n.type === 'L');

describe('nodeCandidate', () => {
  const dev = openDevice(imagePaths('content-v7')[0]);
  const leaf = dev.read(leaves[0].pos, 4096);
  dev.close();
  const dv = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.length);
  it('accepts a v7 node by CRC-32C, and by CRC-32 too (upgraded volumes), not a v6 node with CRC-32C', () => {
    expect(nodeCandidate(leaf, 0, dv(leaf), 7)).toBe('crc32c');
    expect(nodeCandidate(leaf, 0, dv(leaf), undefined)).toBe('crc32c');
    expect(nodeCandidate(leaf, 0, dv(leaf), 6)).toBe(null);
    const legacy = leaf.slice();
    sealBtreeNode(legacy, 0, 6);
    expect(nodeCandidate(legacy, 0, dv(legacy), 7)).toBe('crc32');
    expect(nodeCandidate(legacy, 0, dv(legacy), 6)).toBe('crc32');
  });
  it('rejects look-alikes: bad type, absurd count, one flipped bit', () => {
    const t = leaf.slice();
    t[0x14] = 0x44; // 'D'
    expect(nodeCandidate(t, 0, dv(t), 7)).toBeUndefined();
    const c = leaf.slice();
    dv(c).setInt32(0x10, 64, true);
    expect(nodeCandidate(c, 0, dv(c), 7)).toBeUndefined();
    const f = leaf.slice();
    f[0x100] ^= 1;
    expect(nodeCandidate(f, 0, dv(f), 7)).toBe(null);
  });
});

describe('scan and recover with I/O errors and corruption', () => {
  it('a bad sector inside a leaf and inside file data: the scan goes on, the report names the damage', () => {
    const victim = leaves[12];
    // A DATA record somewhere else whose payload becomes unreadable.
    const dataLeaf = leaves.find((l) => l !== victim && l.elms.some((e) => e.recType === 0x10 && e.deleteTid === 0n && (e.localization >>> 16) === 0))!;
    const dataElm = dataLeaf.elms.find((e) => e.recType === 0x10 && e.deleteTid === 0n && (e.localization >>> 16) === 0)!;
    const inner = openDevice(imagePaths('content-v7')[0]);
    // Find that record's payload position by reading the leaf raw.
    const raw = inner.read(dataLeaf.pos, 4096);
    const rdv = new DataView(raw.buffer);
    let payload = -1;
    for (let i = 0; i < rdv.getInt32(0x10, true); i++) {
      const at = 0x40 + i * 64;
      if (rdv.getBigInt64(at, true) === dataElm.objId && rdv.getUint16(at + 0x20, true) === 0x10 && rdv.getBigUint64(at + 0x18, true) === 0n) {
        payload = 0x88000 + Number(rdv.getBigUint64(at + 0x30, true) & 0x000fffffffffffffn);
        break;
      }
    }
    expect(payload).toBeGreaterThan(0);
    const dev = new BadSectorDevice(inner, [{ pos: victim.pos + 512, len: 512 }, { pos: payload, len: 1 }]);
    const media = rawMediaFromDevices([dev]);
    const dest = tmpDest('eio');
    dests.push(path.dirname(dest));
    try {
      const r = recover(media, dest);
      expect(r.scan.readErrors).toBe(2); // the leaf's block and the payload's block (the scan reads data zones too)
      expect(r.warnings.join()).toMatch(/unreadable 4 KiB blocks skipped/);
      expect(r.scan.leafNodes).toBe(leaves.length - 1);
      expect(r.scan.lostRanges).toBe(1);
      const ob = r.objects.find((o) => o.pfs === 0 && o.objId === dataElm.objId)!;
      expect(ob.status).toBe('partial');
      expect(ob.problems).toContain('data-unreadable');
      for (const e of victim.elms) {
        const o = r.objects.find((x) => x.pfs === e.localization >>> 16 && x.objId === e.objId);
        if (o) expect(o.status).toBe('partial');
      }
      const complete = new Set(r.objects.filter((o) => o.status === 'complete').map((o) => `${o.pfs}:${o.objId}`));
      expect(complete.size).toBeGreaterThan(100);
      expect(checkTree(dest, M, LAST, (pfs, _p, e) => complete.has(`${pfs}:${BigInt(e.obj_id)}`)).bad).toEqual([]);
    } finally {
      media.close();
    }
  });

  it('a corrupted leaf (one byte changed) is counted as a bad-CRC look-alike and not trusted', () => {
    const inner = openDevice(imagePaths('demo-v7')[0]);
    const root = 0x21088000; // demo-v7's single root leaf (zone-2 0x21000000 + vol_buf_beg)
    const elm0Key = inner.read(root + 0x40 + 0x08, 1);
    elm0Key[0] ^= 0xff;
    const media = rawMediaFromDevices([new OverlayDevice(inner, root + 0x40 + 0x08, elm0Key)]);
    try {
      const s = scanMedia(media);
      expect(s.stats.badCrcCandidates).toBe(1);
      expect(s.stats.leafNodes).toBe(0);
      expect(s.records).toEqual([]);
    } finally {
      media.close();
    }
  });

  it('a stale copy of a leaf from before a deletion does not bring the deleted file back', () => {
    // A leaf holding the INODE record of a file deleted in generation 2 or 3.
    const live = new Set(Object.values(M.trees[LAST]['0']).map((e) => BigInt(e.obj_id)));
    const isGone = (e: TreeNodeInfo['elms'][number]) => e.recType === 0x01 && e.deleteTid !== 0n && (e.localization >>> 16) === 0 && !live.has(e.objId);
    const leaf = leaves.find((l) => l.elms.some(isGone))!;
    const idx = leaf.elms.findIndex(isGone);
    const gone = leaf.elms[idx].objId;
    const inner = openDevice(imagePaths('content-v7')[0]);
    const stale = inner.read(leaf.pos, 4096);
    // Every deleted element of the copy back to "live", as the node was before the deletions.
    const sdv = new DataView(stale.buffer);
    for (let i = 0; i < leaf.elms.length; i++) sdv.setBigUint64(0x40 + i * 64 + 0x18, 0n, true);
    sealBtreeNode(stale, 0, 7);
    // Put it where a full scan meets it before the live leaf (the first UNDO big-block), so
    // "first copy seen wins" would resurrect the file.
    const free = 0x88000 + 2 * 8388608;
    const media = rawMediaFromDevices([new OverlayDevice(inner, free, stale)]);
    const dest = tmpDest('stale');
    dests.push(path.dirname(dest));
    try {
      const r = recover(media, dest, { scan: 'full' });
      expect(r.scan.leafNodes).toBe(leaves.length + 1);
      expect(r.scan.duplicateRecords).toBe(leaf.elms.length);
      expect(r.scan.conflictingCopies).toBe(leaf.elms.filter((e) => e.deleteTid !== 0n).length);
      expect(r.objects.find((o) => o.pfs === 0 && o.objId === gone)).toBeUndefined();
      expect(r.summary.partial).toBe(0);
      expect(checkTree(dest, M, LAST).bad).toEqual([]);
    } finally {
      media.close();
    }
  });

  it('corrupted payloads: a data block and an inode fail their CRCs and make their files partial', () => {
    const inner = openDevice(imagePaths('content-v7')[0]);
    // Live DATA and INODE records of two different regular files of PFS 0, from the leaves.
    const files = Object.values(M.trees[LAST]['0']).filter((e) => e.type === 'file' && e.data_records > 0 && e.nlinks === 1);
    const payloadOf = (objId: bigint, recType: number): number => {
      for (const l of leaves) {
        const raw = inner.read(l.pos, 4096);
        const dv = new DataView(raw.buffer);
        for (let i = 0; i < dv.getInt32(0x10, true); i++) {
          const at = 0x40 + i * 64;
          if ((dv.getUint32(at + 0x24, true) >>> 16) === 0 && dv.getBigInt64(at, true) === objId && dv.getUint16(at + 0x20, true) === recType && dv.getBigUint64(at + 0x18, true) === 0n) {
            return 0x88000 + Number(dv.getBigUint64(at + 0x30, true) & 0x000fffffffffffffn);
          }
        }
      }
      throw new Error('record not found');
    };
    const a = BigInt(files[0].obj_id), b = BigInt(files[1].obj_id);
    const dataPos = payloadOf(a, 0x10), inodePos = payloadOf(b, 0x01);
    const flip = (pos: number) => ({ at: pos, bytes: Uint8Array.of(inner.read(pos, 1)[0] ^ 0x55) });
    const media = rawMediaFromDevices([new OverlayDevice(inner, flip(dataPos).at, flip(dataPos).bytes, flip(inodePos + 0x50))]);
    const dest = tmpDest('payload');
    dests.push(path.dirname(dest));
    try {
      const r = recover(media, dest);
      const oa = r.objects.find((o) => o.pfs === 0 && o.objId === a)!;
      const ob = r.objects.find((o) => o.pfs === 0 && o.objId === b)!;
      expect(oa).toMatchObject({ status: 'partial', problems: ['data-crc'], badDataRecords: 1 });
      expect(ob.status).toBe('partial');
      expect(ob.problems).toContain('inode-crc');
      expect(ob.notes.join()).toMatch(/size unknown/);
      expect(r.summary.partial).toBe(2);
    } finally {
      media.close();
    }
  });

  it('multi3 with volume 0 header zeroed (given last): vol_no 0 inferred, others from their headers', () => {
    const p = imagePaths('multi3');
    const devs = [openDevice(p[1]), openDevice(p[2]), new OverlayDevice(openDevice(p[0]), 0, new Uint8Array(16384))];
    const media = rawMediaFromDevices(devs);
    const dest = tmpDest('multi3-nohdr');
    dests.push(path.dirname(dest));
    try {
      const r = recover(media, dest);
      expect(r.volumes.map((v) => [v.volNo, v.geometry, v.bufBeg])).toEqual([[1, 'header', 0x88000], [2, 'header', 0x88000], [0, 'inferred', 0x88000]]);
      expect(r.warnings.join()).not.toMatch(/not given/);
      expect(r.summary).toMatchObject({ objects: 1, complete: 1 });
    } finally {
      media.close();
    }
  });

  it('--scan full finds the same records as the freemap-guided scan, reading more', () => {
    const media = openRawMedia(imagePaths('content-v7'));
    try {
      const auto = scanMedia(media);
      const full = scanMedia(media, { mode: 'full' });
      expect(full.stats.bytesScanned).toBeGreaterThan(auto.stats.bytesScanned);
      expect(auto.stats.bigBlocksSkipped).toBe(66); // 2 freemap + 64 UNDO big-blocks
      expect(full.records.length).toBe(auto.records.length);
      expect(full.stats.leafNodes).toBe(24);
    } finally {
      media.close();
    }
  });
});
