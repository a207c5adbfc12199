/** hammerfs ls [-l] [-R] [-a] [PATH]: list a directory of a PFS as of a TID. */
import type { CommandModule } from 'yargs';
import { run } from '../common.js';
import { Output, printJson } from '../output.js';
import { withFs, openFs, inodeJson, modeString, showName, tidText, type FsArgs } from './fs-shared.js';
import type { HammerFs, Inode, DirEntry } from '../../src/fs/index.js';
import { NotFoundError } from '../../src/errors.js';

interface LsArgs extends FsArgs {
  path?: string;
  l?: boolean;
  R?: boolean;
  a?: boolean;
}

interface Row {
  name: string;
  entry?: DirEntry;
  ino?: Inode;
  target?: string;
}

function shortTime(us: bigint): string {
  const d = new Date(Number(us / 1000n));
  return Number.isNaN(d.getTime()) ? '?' : d.toISOString().slice(0, 19).replace('T', ' ');
}

function rowsOf(fs: HammerFs, dir: Inode, a: LsArgs): Row[] {
  const rows: Row[] = [];
  for (const e of fs.readdir(dir, { dots: a.a })) {
    const r: Row = { name: e.nameStr, entry: e };
    if (a.l || a.R || a.json) {
      r.ino = fs.inode(e.objId, dir.viewTid);
      if (!r.ino) throw new NotFoundError(`directory entry points at inode ${e.objId.toString(16)}, which is not visible`, { structure: `entry ${e.nameStr}` });
      if (r.ino.type === 'symlink') r.target = Buffer.from(fs.readlink(r.ino)).toString('utf8');
    }
    rows.push(r);
  }
  return rows;
}

export const lsCommand: CommandModule<object, LsArgs> = {
  command: 'ls [path]',
  describe: 'list a directory (as of --asof, in --pfs); PATH may use name@@0x<tid>',
  builder: (y) =>
    withFs(y)
      .positional('path', { type: 'string', default: '/', describe: 'path inside the PFS' })
      .option('l', { type: 'boolean', default: false, describe: 'long format: mode, links, owner, size, mtime' })
      .option('R', { type: 'boolean', default: false, describe: 'recurse into subdirectories' })
      .option('a', { type: 'boolean', default: false, describe: 'include . and ..' }) as never,
  handler: run<LsArgs>((a) => {
    const { vs, fs } = openFs(a);
    try {
      const path = a.path ?? '/';
      let r = fs.resolve(path);
      // Like ls(1) without -l: a symlink named on the command line that leads to a directory is listed.
      if (r.inode.type === 'symlink' && !a.l) {
        try {
          const f = fs.resolve(path, { follow: true });
          if (f.inode.type === 'dir' || f.inode.type === 'pfs') r = f;
        } catch {
          /* dangling: list the link itself */
        }
      }
      const listings: { path: string; rows: Row[] }[] = [];
      const isDir = (i: Inode) => i.type === 'dir' || i.type === 'pfs';
      if (!isDir(r.inode)) {
        const ino = r.inode;
        listings.push({ path, rows: [{ name: path, ino, target: ino.type === 'symlink' ? Buffer.from(fs.readlink(ino)).toString('utf8') : undefined }] });
      } else {
        const walk = (dir: Inode, p: string) => {
          const rows = rowsOf(fs, dir, a);
          listings.push({ path: p, rows });
          if (!a.R) return;
          for (const row of rows) {
            if (row.name === '.' || row.name === '..' || !row.ino || !isDir(row.ino)) continue;
            walk(row.ino, (p.endsWith('/') ? p : p + '/') + row.name);
          }
        };
        walk(r.inode, path);
      }
      if (a.json) {
        printJson({
          pfs: fs.pfs, asof: tidText(fs.asof),
          listings: listings.map((l) => ({
            path: l.path,
            entries: l.rows.map((row) => ({ name: row.name, key: row.entry?.key, ...(row.ino ? inodeJson(row.ino) : {}), target: row.target })),
          })),
        });
        return;
      }
      const o = new Output();
      listings.forEach((l, i) => {
        if (a.R) {
          if (i > 0) o.line();
          o.line(`${l.path}:`);
        }
        for (const row of l.rows) {
          const name = showName(row.name);
          if (!a.l || !row.ino) {
            o.line(name);
            continue;
          }
          const ino = row.ino;
          const size = ino.type === 'chr' || ino.type === 'blk' ? `${ino.rmajor}, ${ino.rminor}` : ino.size.toString();
          o.line(`${modeString(ino.type, ino.mode)} ${String(ino.nlinks).padStart(3)} ${String(ino.uid).padStart(5)} ${String(ino.gid).padStart(5)} ${size.padStart(10)} ${shortTime(ino.mtime)} ${name}${row.target !== undefined ? ' -> ' + showName(row.target) : ''}`);
        }
      });
      o.flush();
    } finally {
      vs.close();
    }
  }),
};
