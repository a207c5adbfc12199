/**
 * hammerfs ls [-l] [-R] [-a] [PATH]: list a directory of a PFS as of a TID.
 * Forensic modes: --deleted lists the entries that were removed but whose records survive (name,
 * obj_id, create/delete TIDs and times, and the `name@@0x<tid>` path that still reaches the last
 * state); --all-versions lists every stored version of every entry, live and deleted.
 */
import type { CommandModule } from 'yargs';
import { run } from '../common.js';
import { Output, printJson, warn } from '../output.js';
import { EXIT_BAD_INPUT } from '../exit.js';
import { withFs, openFs, inodeJson, modeString, showName, tidText, isoS, type FsArgs } from './fs-shared.js';
import { CURRENT, type HammerFs, type Inode, type DirEntry } from '../../src/fs/index.js';
import { NotDirectoryError, NotFoundError } from '../../src/errors.js';
import { hex64 } from '../../src/ondisk/int64.js';

interface LsArgs extends FsArgs {
  path?: string;
  l?: boolean;
  R?: boolean;
  a?: boolean;
  deleted?: boolean;
  allVersions?: boolean;
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
      .option('a', { type: 'boolean', default: false, describe: 'include . and ..' })
      .option('deleted', { type: 'boolean', default: false, describe: 'list removed entries whose records survive, with create/delete TIDs and times' })
      .option('all-versions', { type: 'boolean', default: false, describe: 'list every stored version of every entry (live and deleted)' }) as never,
  handler: run<LsArgs>((a) => {
    const { vs, fs } = openFs(a);
    try {
      const path = a.path ?? '/';
      if (a.deleted || a.allVersions) {
        listVersions(fs, path, a);
        return;
      }
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
      let loops = 0;
      const isDir = (i: Inode) => i.type === 'dir' || i.type === 'pfs';
      if (!isDir(r.inode)) {
        const ino = r.inode;
        listings.push({ path, rows: [{ name: path, ino, target: ino.type === 'symlink' ? Buffer.from(fs.readlink(ino)).toString('utf8') : undefined }] });
      } else {
        // Directories on the current path: a damaged tree can make a directory contain itself or
        // an ancestor, and -R must neither loop nor overflow the stack on it.
        const onPath = new Set<bigint>();
        const walk = (dir: Inode, p: string) => {
          const rows = rowsOf(fs, dir, a);
          listings.push({ path: p, rows });
          if (!a.R) return;
          onPath.add(dir.objId);
          for (const row of rows) {
            if (row.name === '.' || row.name === '..' || !row.ino || !isDir(row.ino)) continue;
            const sub = (p.endsWith('/') ? p : p + '/') + row.name;
            if (onPath.has(row.ino.objId)) {
              warn(`directory loop: ${sub} is obj_id 0x${hex64(row.ino.objId)}, which contains it; not descending`, { structure: `directory ${p}` });
              loops++;
              continue;
            }
            walk(row.ino, sub);
          }
          onPath.delete(dir.objId);
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
        return loops ? EXIT_BAD_INPUT : undefined;
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
      if (loops) return EXIT_BAD_INPUT; // listed what could be listed; the tree itself is damaged
    } finally {
      vs.close();
    }
  }),
};

/* ------------------------------------------------------------------ --deleted / --all-versions */

interface VersionRow {
  entry: DirEntry;
  deleted: boolean;
  /** The inode as the entry last saw it (just before its deletion), when its record survives. */
  ino?: Inode;
  /** A path that reaches that state: `dir/name@@0x<delete_tid - 1>` for a deleted entry. */
  historyPath: string;
}

const joinPath = (dir: string, name: string) => (dir.endsWith('/') ? dir : dir + '/') + name;

function versionRows(fs: HammerFs, dir: Inode, dirPath: string, a: LsArgs): VersionRow[] {
  // "Deleted" is relative to the command's view TID, not to the directory's: inside a directory
  // reached as it was before its own removal, the entries removed with it are still listed.
  const view = fs.asof;
  return fs.entryVersions(dir, { asof: view, deletedOnly: !a.allVersions }).map((e) => {
    const deleted = e.deleteTid !== 0n && (view === CURRENT || e.deleteTid <= view);
    const asof = deleted ? e.deleteTid - 1n : view;
    const ino = fs.inode(e.objId, asof);
    const historyPath = joinPath(dirPath, e.nameStr) + (deleted ? `@@0x${hex64(asof)}` : '');
    return { entry: e, deleted, ino, historyPath };
  });
}

/**
 * The forensic listing of `path` (a directory): one row per entry version. With -R it descends
 * into subdirectories named by the rows, deleted ones included (as they were just before their
 * removal), each directory once.
 */
function listVersions(fs: HammerFs, path: string, a: LsArgs): void {
  const r = fs.resolve(path, { follow: true });
  const isDir = (i: Inode) => i.type === 'dir' || i.type === 'pfs';
  if (!isDir(r.inode)) throw new NotDirectoryError('--deleted and --all-versions list directories', { structure: `path ${path}` });
  const listings: { path: string; rows: VersionRow[] }[] = [];
  const seen = new Set<bigint>();
  const walk = (dir: Inode, p: string) => {
    seen.add(dir.objId);
    const rows = versionRows(fs, dir, p, a);
    listings.push({ path: p, rows });
    if (!a.R) return;
    // descend through the directories these rows name, and through the live ones too (a live
    // subdirectory may hold deleted entries even when its own entry never changed)
    const subdirs = new Map<bigint, { ino: Inode; path: string }>();
    for (const row of rows) if (row.ino && isDir(row.ino) && !subdirs.has(row.ino.objId)) subdirs.set(row.ino.objId, { ino: row.ino, path: row.deleted ? row.historyPath : joinPath(p, row.entry.nameStr) });
    if (!a.allVersions) {
      for (const e of fs.readdir(dir)) {
        if ((e.type !== 'dir' && e.type !== 'pfs') || subdirs.has(e.objId)) continue;
        const ino = fs.inode(e.objId, dir.viewTid);
        if (ino) subdirs.set(e.objId, { ino, path: joinPath(p, e.nameStr) });
      }
    }
    for (const { ino, path: sp } of subdirs.values()) if (!seen.has(ino.objId)) walk(ino, sp);
  };
  walk(r.inode, path);
  if (a.json) {
    printJson({
      pfs: fs.pfs, asof: tidText(fs.asof), mode: a.allVersions ? 'all-versions' : 'deleted',
      listings: listings.map((l) => ({
        path: l.path,
        entries: l.rows.map((row) => ({
          name: row.entry.nameStr, key: row.entry.key, obj_id: row.entry.objId, type: row.entry.type, deleted: row.deleted,
          create_tid: row.entry.createTid, delete_tid: row.entry.deleteTid,
          create_ts: row.entry.createTs ?? 0, delete_ts: row.entry.deleteTs ?? 0,
          created: isoS(row.entry.createTs ?? 0), removed: row.deleted ? isoS(row.entry.deleteTs ?? 0) : undefined,
          history_path: row.historyPath,
          inode: row.ino ? inodeJson(row.ino) : undefined,
        })),
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
      const e = row.entry;
      const del = row.deleted ? '0x' + hex64(e.deleteTid) : '-'.padEnd(18);
      let line = `0x${hex64(e.createTid)} ${del} ${e.type.padEnd(7)} 0x${hex64(e.objId)}`;
      if (a.l) {
        const size = row.ino ? row.ino.size.toString() : '?';
        line += ` ${(row.ino ? modeString(row.ino.type, row.ino.mode) : '?'.padEnd(10))} ${size.padStart(10)} ${isoS(e.createTs ?? 0).padEnd(20)} ${(row.deleted ? isoS(e.deleteTs ?? 0) : '-').padEnd(20)}`;
      }
      o.line(`${line} ${showName(e.nameStr)}`);
    }
  });
  o.flush();
}
