/**
 * Seed material for the fuzz targets, cut out of the real images: every volume header, every
 * B-Tree node, the freemap entries in use, leaf payloads by record type, and 16 KiB of the UNDO
 * FIFO. Mutating real structures reaches far deeper into a decoder than random bytes (which
 * mostly die at the first signature check).
 *
 * Extraction uses only the stable read path (VolumeSet, BTree.node) and walks nodes itself with
 * a visited set, so a damaged image cannot make it loop either.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openVolumeSet, type VolumeSet } from '../src/volume/volume-set.js';
import { BTree } from '../src/btree/btree.js';
import { HammerError } from '../src/errors.js';
import {
  HAMMER_VOLUME_HEADER_SIZE, HAMMER_BTREE_TYPE_INTERNAL, HAMMER_BTREE_TYPE_LEAF,
  HAMMER_BLOCKMAP_UNAVAIL, HAMMER_ZONE_UNDO_INDEX, HAMMER_LAYER1_BYTES, HAMMER_LAYER2_BYTES,
  HAMMER_RECTYPE_INODE, HAMMER_RECTYPE_DIRENTRY, HAMMER_RECTYPE_PFS, HAMMER_RECTYPE_SNAPSHOT, HAMMER_RECTYPE_CONFIG,
  HAMMER_BLOCKMAP_ENTRY_SIZE, HAMMER_XBUFSIZE,
} from '../src/ondisk/constants.js';
import { VOL } from '../src/ondisk/volume-header.js';
import { layer1Entries } from '../src/volume/freemap.js';

export const IMAGE_FILES: Record<string, string[]> = {
  'demo-v7': ['demo-v7.img'],
  v6: ['v6.img'],
  v4: ['v4.img'],
  multi3: ['multi3.vol0.img', 'multi3.vol1.img', 'multi3.vol2.img'],
  'content-v7': ['content-v7.img'],
};

export interface Samples {
  /** Where the images were read from (targets that build their own seeds from them). */
  dir: string;
  /** 1928-byte volume headers (all images, all volumes). */
  headers: Uint8Array[];
  /** Whole volume sets' headers, concatenated (one sample per image). */
  headerSets: Uint8Array[];
  /** 4096-byte B-Tree nodes. */
  nodes: Uint8Array[];
  /** 40 + 32 + 16 bytes: a blockmap entry, a layer1 entry, a layer2 entry (all in use). */
  blockmap: Uint8Array[];
  inode: Uint8Array[];
  dirent: Uint8Array[];
  pfs: Uint8Array[];
  snapshot: Uint8Array[];
  config: Uint8Array[];
  /** 16 KiB UNDO FIFO buffers. */
  fifo: Uint8Array[];
  /** Directory entry names. */
  names: Uint8Array[];
}

/** All node offsets reachable from the root, each once (depth-first, element order). */
export function collectNodeOffsets(tree: BTree): bigint[] {
  const out: bigint[] = [];
  const seen = new Set<bigint>();
  const stack = [tree.rootOffset];
  while (stack.length) {
    const off = stack.pop()!;
    if (seen.has(off)) continue;
    seen.add(off);
    let n;
    try {
      n = tree.node(off);
    } catch (e) {
      if (e instanceof HammerError) continue;
      throw e;
    }
    out.push(off);
    if (n.type === HAMMER_BTREE_TYPE_INTERNAL) {
      for (let i = n.count - 1; i >= 0; i--) {
        const c = n.subtreeOffset(i);
        if (c !== 0n) stack.push(c);
      }
    }
  }
  return out;
}

function copy(b: Uint8Array): Uint8Array {
  return Uint8Array.from(b);
}

function fromSet(vs: VolumeSet, s: Samples): void {
  const set: Uint8Array[] = [];
  for (const v of vs.volumes) {
    const h = v.device.read(0, HAMMER_VOLUME_HEADER_SIZE);
    s.headers.push(h);
    set.push(h);
  }
  const cat = new Uint8Array(set.length * HAMMER_VOLUME_HEADER_SIZE);
  set.forEach((h, i) => cat.set(h, i * HAMMER_VOLUME_HEADER_SIZE));
  s.headerSets.push(cat);

  const tree = new BTree(vs);
  for (const off of collectNodeOffsets(tree)) {
    const n = tree.node(off);
    s.nodes.push(copy(n.bytes));
    if (n.type !== HAMMER_BTREE_TYPE_LEAF) continue;
    for (let i = 0; i < n.count; i++) {
      const leaf = n.leaf(i);
      if (leaf.dataLen <= 0 || leaf.dataLen > HAMMER_XBUFSIZE || leaf.dataOffset === 0n) continue;
      let data: Uint8Array;
      try {
        data = copy(vs.read(leaf.dataOffset, leaf.dataLen));
      } catch (e) {
        if (e instanceof HammerError) continue;
        throw e;
      }
      switch (leaf.recType) {
        case HAMMER_RECTYPE_INODE: s.inode.push(data); break;
        case HAMMER_RECTYPE_DIRENTRY: s.dirent.push(data); s.names.push(data.subarray(16)); break;
        case HAMMER_RECTYPE_PFS: s.pfs.push(data); break;
        case HAMMER_RECTYPE_SNAPSHOT: s.snapshot.push(data); break;
        case HAMMER_RECTYPE_CONFIG: s.config.push(data); break;
      }
    }
  }

  // Freemap: pair each in-use blockmap entry with a live layer1 and some layer2 entries.
  const root = vs.volumes[0].device.read(0, HAMMER_VOLUME_HEADER_SIZE);
  const l1s = layer1Entries(vs).filter((l) => l.entry.physOffset !== HAMMER_BLOCKMAP_UNAVAIL);
  for (let z = 0; z < 16 && l1s.length; z++) {
    const at = VOL.blockmap + z * HAMMER_BLOCKMAP_ENTRY_SIZE;
    const bm = root.subarray(at, at + HAMMER_BLOCKMAP_ENTRY_SIZE);
    if (bm.every((x) => x === 0)) continue;
    const l1 = l1s[z % l1s.length];
    const l1b = vs.read(l1.z2, HAMMER_LAYER1_BYTES);
    for (let k = 0; k < 4; k++) {
      const l2z2 = l1.entry.physOffset + BigInt((z * 4 + k) * HAMMER_LAYER2_BYTES);
      const sample = new Uint8Array(88);
      sample.set(bm, 0);
      sample.set(l1b, 40);
      sample.set(vs.read(l2z2, HAMMER_LAYER2_BYTES), 72);
      s.blockmap.push(sample);
    }
  }

  // The first buffers of the UNDO FIFO (DUMMY records from newfs, real UNDOs on written images).
  const undo = vs.root.blockmap[HAMMER_ZONE_UNDO_INDEX];
  if (undo.allocOffset !== 0n) {
    for (let k = 0; k < 2; k++) {
      try {
        s.fifo.push(copy(vs.read(undo.firstOffset + BigInt(k * 16384), 16384)));
      } catch (e) {
        if (!(e instanceof HammerError)) throw e;
      }
    }
  }
}

/** Load samples from the decompressed images in `dir` (missing images are skipped). */
export function loadSamples(dir: string, images = Object.keys(IMAGE_FILES)): Samples {
  const s: Samples = { dir, headers: [], headerSets: [], nodes: [], blockmap: [], inode: [], dirent: [], pfs: [], snapshot: [], config: [], fifo: [], names: [] };
  for (const name of images) {
    const paths = IMAGE_FILES[name].map((f) => path.join(dir, f));
    if (!paths.every((p) => fs.existsSync(p))) continue;
    const vs = openVolumeSet(paths, { lock: 'none' });
    try {
      fromSet(vs, s);
    } finally {
      vs.close();
    }
  }
  if (s.nodes.length === 0) throw new Error(`no images found in ${dir}`);
  return s;
}
