// Shared helpers of the mirror-write tests: a full snapshot of what a PFS shows (every path,
// attributes, content hash) so master and slave can be compared as of chosen TIDs.
import * as crypto from 'node:crypto';
import { HammerFs } from '../../src/fs/index.js';
import type { Inode } from '../../src/fs/inode.js';
import type { VolumeSet } from '../../src/volume/volume-set.js';

export interface TreeEntry {
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size: string;
  mtime: string;
  nlinks: string;
  uflags: number;
  sha256?: string;
  link?: string;
}

/** Every path of PFS `pfs` as of `asof` (undefined = the PFS default: now, or a slave's sync_end_tid). dirMtime false: ignore directory mtimes. */
export function snapshotTree(vs: VolumeSet, pfs: number, asof?: bigint, o: { dirMtime?: boolean } = {}): Map<string, TreeEntry> {
  const fs = HammerFs.open(vs, { pfs, asof });
  const out = new Map<string, TreeEntry>();
  const walk = (dir: Inode, prefix: string, depth: number) => {
    if (depth > 64) throw new Error('directory tree too deep');
    for (const e of fs.readdir(dir)) {
      const ino = fs.inode(e.objId, dir.viewTid);
      if (!ino) throw new Error(`dangling entry ${prefix}/${e.nameStr}`);
      const p = `${prefix}/${e.nameStr}`;
      const t: TreeEntry = {
        type: ino.type, mode: ino.mode, uid: ino.uid, gid: ino.gid, size: ino.size.toString(), mtime: ino.mtime.toString(),
        nlinks: ino.nlinks.toString(), uflags: ino.uflags,
      };
      // A directory's mtime changes in place (no new INODE record, not under data_crc) when an
      // entry is added or removed, and mirroring carries records, not in-place edits: HAMMER
      // slaves keep the directory mtime of the last INODE record version.
      if (ino.type === 'dir' && o.dirMtime === false) t.mtime = '-';
      if (ino.type === 'file') {
        const h = crypto.createHash('sha256');
        for (const c of fs.stream(ino)) h.update(c);
        t.sha256 = h.digest('hex');
      } else if (ino.type === 'symlink') t.link = Buffer.from(fs.readlink(ino)).toString('latin1');
      out.set(p, t);
      if (ino.type === 'dir') walk(ino, p, depth + 1);
    }
  };
  walk(fs.root(), '', 0);
  return out;
}

export function diffTrees(a: Map<string, TreeEntry>, b: Map<string, TreeEntry>): string[] {
  const d: string[] = [];
  for (const [p, e] of a) {
    const f = b.get(p);
    if (!f) d.push(`missing ${p}`);
    else if (JSON.stringify(e) !== JSON.stringify(f)) d.push(`differs ${p}: ${JSON.stringify(e)} vs ${JSON.stringify(f)}`);
  }
  for (const p of b.keys()) if (!a.has(p)) d.push(`extra ${p}`);
  return d;
}
