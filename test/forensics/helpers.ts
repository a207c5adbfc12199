// Helpers for the forensic tests: sparse private copies of images, damage at exact node
// positions, and a check of a recovered tree against content-v7.manifest.json.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { openVolumeSet } from '../../src/volume/volume-set.js';
import { BTree } from '../../src/btree/btree.js';
import { goldenJson, imagePaths, type ImageName } from '../helpers/images.js';

export const CLI = fileURLToPath(new URL('../../dist/tools/cli.js', import.meta.url));

/** Copy an image's volumes into a temp dir writing only non-zero 16 KiB blocks (sparse, fast). */
export function sparseCopy(name: ImageName): { paths: string[]; dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `hammerfs-forensics-${name}-`));
  const zero = Buffer.alloc(16384);
  const buf = Buffer.alloc(1 << 20);
  const paths = imagePaths(name).map((src) => {
    const dst = path.join(dir, path.basename(src));
    const size = fs.statSync(src).size;
    const fi = fs.openSync(src, 'r');
    const fo = fs.openSync(dst, 'w');
    try {
      fs.ftruncateSync(fo, size);
      for (let pos = 0; pos < size; pos += buf.length) {
        const n = fs.readSync(fi, buf, 0, Math.min(buf.length, size - pos), pos);
        for (let at = 0; at < n; at += 16384) {
          const piece = buf.subarray(at, Math.min(at + 16384, n));
          if (!piece.equals(zero.subarray(0, piece.length))) fs.writeSync(fo, piece, 0, piece.length, pos + at);
        }
      }
    } finally {
      fs.closeSync(fi);
      fs.closeSync(fo);
    }
    return dst;
  });
  return { paths, dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export function readBytes(file: string, pos: number, len: number): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const b = Buffer.alloc(len);
    fs.readSync(fd, b, 0, len, pos);
    return b;
  } finally {
    fs.closeSync(fd);
  }
}
export function writeBytes(file: string, pos: number, b: Buffer): void {
  const fd = fs.openSync(file, 'r+');
  try {
    fs.writeSync(fd, b, 0, b.length, pos);
  } finally {
    fs.closeSync(fd);
  }
}

export function zeroBytes(file: string, pos: number, len: number): void {
  const fd = fs.openSync(file, 'r+');
  try {
    fs.writeSync(fd, Buffer.alloc(len), 0, len, pos);
  } finally {
    fs.closeSync(fd);
  }
}

export interface TreeNodeInfo {
  offset: bigint;
  type: 'I' | 'L';
  depth: number;
  vol: number;
  pos: number;
  /** Leaf elements: [localization, obj_id, rec_type, key, data payload of DIRENTRY (target obj_id) or undefined]. */
  elms: { localization: number; objId: bigint; recType: number; deleteTid: bigint; target?: bigint }[];
}

/** Every node of the (undamaged) tree, walked from vol0_btree_root. */
export function treeNodes(paths: string[]): TreeNodeInfo[] {
  const vs = openVolumeSet(paths);
  try {
    const t = new BTree(vs);
    const out: TreeNodeInfo[] = [];
    const visit = (off: bigint, depth: number) => {
      const n = t.node(off);
      const loc = vs.locate(off, 4096);
      const info: TreeNodeInfo = { offset: off, type: n.isLeaf ? 'L' : 'I', depth, vol: loc.vol, pos: loc.pos, elms: [] };
      out.push(info);
      if (n.isLeaf) {
        for (let i = 0; i < n.count; i++) {
          const e = n.leaf(i);
          let target: bigint | undefined;
          if (e.recType === 0x11) target = new DataView(vs.read(e.dataOffset, e.dataLen).slice().buffer).getBigInt64(0, true);
          info.elms.push({ localization: e.localization, objId: e.objId, recType: e.recType, deleteTid: e.deleteTid, target });
        }
      } else {
        for (let i = 0; i < n.count; i++) visit(n.subtreeOffset(i), depth + 1);
      }
    };
    visit(vs.root.btreeRoot, 0);
    return out;
  } finally {
    vs.close();
  }
}

export interface ManifestEntry {
  type: string;
  obj_id: string;
  size: number;
  sha256?: string;
  target?: string;
  nlinks: number;
  mode: number;
  mtime_us: number;
  inode_tid: string;
  data_records: number;
  uid: number;
  gid: number;
}
export interface Manifest {
  generations: { gen: number; tid: string }[];
  trees: Record<string, Record<string, Record<string, ManifestEntry>>>;
  counts: { records_by_type: Record<string, number> };
}
export const manifest = () => goldenJson<Manifest>('content-v7.manifest.json');
export const lastTid = (m: Manifest) => m.generations[m.generations.length - 1].tid;

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

export interface CheckResult {
  checked: number;
  bad: string[];
}

/**
 * Compare DEST/PFSnnnnn/<path> with the manifest's view at `tid`. `only(pfs, entry)` limits the
 * check (damaged media: only what is expected to survive).
 */
export function checkTree(dest: string, m: Manifest, tid: string, only?: (pfs: number, p: string, e: ManifestEntry) => boolean): CheckResult {
  const res: CheckResult = { checked: 0, bad: [] };
  for (const [pfsText, entries] of Object.entries(m.trees[tid])) {
    const pfs = Number(pfsText);
    const root = path.join(dest, `PFS${String(pfs).padStart(5, '0')}`);
    for (const [p, e] of Object.entries(entries)) {
      if (only && !only(pfs, p, e)) continue;
      res.checked++;
      const fp = p === '/' ? root : root + p;
      let st: fs.Stats;
      try {
        st = fs.lstatSync(fp);
      } catch {
        res.bad.push(`missing ${pfs}:${p} (${e.type})`);
        continue;
      }
      let ok = true;
      switch (e.type) {
        case 'file': ok = st.isFile() && st.size === e.size && sha256(fs.readFileSync(fp)) === e.sha256; break;
        case 'dir': ok = st.isDirectory(); break;
        case 'symlink': ok = st.isSymbolicLink() && fs.readlinkSync(fp, { encoding: 'buffer' }).equals(Buffer.from(e.target ?? '')); break;
        case 'fifo': ok = st.isFIFO(); break;
        case 'socket': ok = st.isSocket(); break;
        case 'chr': ok = process.getuid?.() !== 0 || st.isCharacterDevice(); break;
        case 'blk': ok = process.getuid?.() !== 0 || st.isBlockDevice(); break;
        default: ok = true;
      }
      if (!ok) res.bad.push(`wrong ${pfs}:${p} (${e.type})`);
    }
  }
  return res;
}

/** Every path below dest (relative), for "nothing extra" checks. */
export function listTree(dest: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const n of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, n.name);
      out.push(path.relative(dest, p));
      if (n.isDirectory()) walk(p);
    }
  };
  walk(dest);
  return out;
}

export function tmpDest(tag: string): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), `hammerfs-recover-${tag}-`)), 'out');
}
