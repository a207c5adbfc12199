/**
 * encode(decode(bytes)) === bytes for every on-disk structure found in the bundled images: volume
 * headers of every volume, the 16 zone blockmap entries, every layer1 entry that covers a volume
 * and every layer2 entry below it, every B-Tree node header and element (leaf and internal), and
 * every leaf payload with a codec (inode, directory entry, PFS, snapshot). Also the stored CRCs
 * that DragonFly's tools verify (node, leaf data, layer1, layer2) recompute to the stored value.
 */
import { describe, expect, it } from 'vitest';
import { imagePaths, NEWFS_IMAGES, type ImageName } from '../../helpers/images.js';
import { openVolumeSet } from '../../../src/volume/volume-set.js';
import { BTree } from '../../../src/btree/btree.js';
import { walkBTree } from '../../../src/btree/walk.js';
import { decodeVolumeHeader, encodeVolumeHeader } from '../../../src/ondisk/volume-header.js';
import {
  decodeBlockmapEntry, encodeBlockmapEntry, decodeLayer1, encodeLayer1, decodeLayer2, encodeLayer2, layer1CrcVerdict, layer2CrcVerdict,
} from '../../../src/ondisk/blockmap.js';
import { decodeLeafElm, encodeLeafElm, decodeInternalElm, encodeInternalElm } from '../../../src/ondisk/btree-elm.js';
import { btreeNodeCrcVerdict, setNodeHeader, NODE } from '../../../src/ondisk/btree-node.js';
import { decodeInodeData, encodeInodeData, recordDataCrcVerdict } from '../../../src/ondisk/inode-data.js';
import { decodeEntryData, encodeEntryData } from '../../../src/ondisk/entry-data.js';
import { decodePfsData, encodePfsData } from '../../../src/ondisk/pfs-data.js';
import { decodeSnapshotData, encodeSnapshotData } from '../../../src/ondisk/snapshot-data.js';
import { forEachBigBlock, layer1Entries } from '../../../src/volume/freemap.js';
import { HAMMER_VOLUME_HEADER_SIZE, HAMMER_BLOCKMAP_ENTRY_SIZE } from '../../../src/ondisk/constants.js';

const hexOf = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe.each([...NEWFS_IMAGES, 'content-v7' as ImageName])('round trip %s', (name) => {
  it('volume headers and blockmap entries', () => {
    const vs = openVolumeSet(imagePaths(name));
    try {
      for (const v of vs.volumes) {
        const raw = v.device.read(0, HAMMER_VOLUME_HEADER_SIZE);
        const h = decodeVolumeHeader(raw, { structure: 'volume header' });
        // encode from the decoded fields with the raw copy wiped, so every field is really written
        const enc = encodeVolumeHeader({ ...h, raw: new Uint8Array(HAMMER_VOLUME_HEADER_SIZE) });
        expect(hexOf(enc)).toBe(hexOf(raw));
        const dv = new DataView(raw.buffer, raw.byteOffset, raw.length);
        for (let z = 0; z < 16; z++) {
          const at = 264 + z * HAMMER_BLOCKMAP_ENTRY_SIZE;
          const out = new Uint8Array(HAMMER_BLOCKMAP_ENTRY_SIZE);
          encodeBlockmapEntry(decodeBlockmapEntry(dv, at), new DataView(out.buffer), 0);
          expect(hexOf(out)).toBe(hexOf(raw.subarray(at, at + HAMMER_BLOCKMAP_ENTRY_SIZE)));
        }
      }
    } finally {
      vs.close();
    }
  });

  it('freemap layer1 and layer2 entries (CRCs verified)', () => {
    const vs = openVolumeSet(imagePaths(name));
    try {
      const out = new Uint8Array(32);
      const odv = new DataView(out.buffer);
      let n1 = 0, n2 = 0;
      for (const l1 of layer1Entries(vs)) {
        const raw = vs.read(l1.z2, 32);
        encodeLayer1(decodeLayer1(new DataView(raw.buffer, raw.byteOffset, 32), 0), odv, 0);
        expect(hexOf(out)).toBe(hexOf(raw));
        expect(layer1CrcVerdict(l1.entry, vs.version)).not.toBeNull();
        n1++;
      }
      forEachBigBlock(vs, (b) => {
        const raw = vs.read(b.l2Z2, 16);
        encodeLayer2(decodeLayer2(new DataView(raw.buffer, raw.byteOffset, 16), 0), odv, 0);
        expect(hexOf(out.subarray(0, 16))).toBe(hexOf(raw));
        expect(layer2CrcVerdict(b.entry, vs.version)).not.toBeNull();
        n2++;
      });
      expect(n1).toBe(vs.volumes.length);
      expect(n2).toBeGreaterThan(90);
    } finally {
      vs.close();
    }
  });

  it('B-Tree nodes, elements and record payloads', () => {
    const vs = openVolumeSet(imagePaths(name));
    try {
      let elms = 0, payloads = 0;
      walkBTree(new BTree(vs), {
        onNode: (n) => {
          const node = n.node!;
          expect(btreeNodeCrcVerdict(node.bytes, 0, vs.version)).not.toBeNull();
          // node header: re-encode onto a copy and compare
          const copy = new Uint8Array(node.bytes);
          const cdv = new DataView(copy.buffer);
          setNodeHeader(cdv, 0, { parent: node.parent, count: node.count, type: node.type, mirrorTid: node.mirrorTid });
          expect(hexOf(copy.subarray(0, NODE.elms))).toBe(hexOf(node.bytes.subarray(0, NODE.elms)));
          const out = new Uint8Array(64);
          const odv = new DataView(out.buffer);
          for (let i = 0; i < n.elms; i++) {
            const at = node.elmAt(i);
            const raw = new Uint8Array(node.dv.buffer, node.dv.byteOffset + at, 64);
            if (node.isLeaf) {
              const e = decodeLeafElm(node.dv, at);
              encodeLeafElm(e, odv, 0);
              expect(hexOf(out)).toBe(hexOf(raw));
              const data = vs.read(e.dataOffset, e.dataLen);
              expect(recordDataCrcVerdict(e.recType, data, e.dataCrc, vs.version)).not.toBeNull();
              const w = { structure: 'record' };
              let enc: Uint8Array | null = null;
              if (e.recType === 0x01) enc = encodeInodeData(decodeInodeData(data, w));
              else if (e.recType === 0x11) enc = encodeEntryData(decodeEntryData(data, w));
              else if (e.recType === 0x15) enc = encodePfsData(decodePfsData(data, w));
              else if (e.recType === 0x16) enc = encodeSnapshotData(decodeSnapshotData(data, w));
              if (enc) {
                expect(hexOf(enc)).toBe(hexOf(data));
                payloads++;
              }
            } else {
              encodeInternalElm(decodeInternalElm(node.dv, at), odv, 0);
              expect(hexOf(out)).toBe(hexOf(raw));
            }
            elms++;
          }
        },
      });
      expect(elms).toBeGreaterThanOrEqual(2);
      expect(payloads).toBeGreaterThanOrEqual(2);
      if (name === 'content-v7') expect(payloads).toBe(304 + 237 + 3 + 4);
    } finally {
      vs.close();
    }
  });
});
