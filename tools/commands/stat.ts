/** hammerfs stat PATH: every attribute of an inode and the record version it comes from. */
import type { CommandModule } from 'yargs';
import { run } from '../common.js';
import { Output, printJson } from '../output.js';
import { withFs, openFs, inodeJson, modeString, isoUs, isoS, showName, tidText, type FsArgs } from './fs-shared.js';
import { hex64 } from '../../src/ondisk/int64.js';

interface StatArgs extends FsArgs {
  path: string;
  L?: boolean;
}

export const statCommand: CommandModule<object, StatArgs> = {
  command: 'stat <path>',
  describe: 'attributes of a path (as of --asof, in --pfs); symlinks are not followed unless -L',
  builder: (y) =>
    withFs(y)
      .positional('path', { type: 'string', demandOption: true, describe: 'path inside the PFS (name@@0x<tid> allowed)' })
      .option('L', { type: 'boolean', default: false, describe: 'follow a final symlink' }) as never,
  handler: run<StatArgs>((a) => {
    const { vs, fs } = openFs(a);
    try {
      const r = fs.resolve(a.path, { follow: a.L });
      const ino = r.inode;
      const target = ino.type === 'symlink' ? Buffer.from(fs.readlink(ino)) : undefined;
      const records = ino.type === 'file' ? fs.dataRecords(ino).length : undefined;
      const entries = ino.type === 'dir' ? fs.readdir(ino).length : undefined;
      if (a.json) {
        printJson({
          path: a.path, asof: tidText(r.asof),
          ...inodeJson(ino, { target: target?.toString('utf8'), data_records: records, entries, inode_data_offset: ino.dataOffset, create_ts: ino.createTs }),
        });
        return;
      }
      const o = new Output();
      o.line(`  File: ${showName(a.path)}${target ? ' -> ' + showName(target.toString('utf8')) : ''}`);
      o.line(`  Type: ${ino.type}   Mode: ${(ino.mode & 0o7777).toString(8).padStart(4, '0')} (${modeString(ino.type, ino.mode)})`);
      o.line(`  Size: ${ino.size}   Links: ${ino.nlinks}   Uid: ${ino.uid}   Gid: ${ino.gid}${ino.type === 'chr' || ino.type === 'blk' ? `   Device: ${ino.rmajor},${ino.rminor}` : ''}`);
      o.line(`Obj id: 0x${hex64(ino.objId)}   PFS: ${ino.pfs}   Parent: 0x${hex64(ino.parentObjId)}`);
      o.line(` Flags: uflags 0x${ino.uflags.toString(16)}  cap_flags 0x${ino.capFlags.toString(16)}${records !== undefined ? `   Data records: ${records}` : ''}${entries !== undefined ? `   Entries: ${entries}` : ''}`);
      o.line(`Access: ${isoUs(ino.atime)}`);
      o.line(`Modify: ${isoUs(ino.mtime)}`);
      o.line(`Change: ${isoUs(ino.ctime)}`);
      o.line(` Inode: create_tid 0x${hex64(ino.createTid)} (${isoS(ino.createTs)})  delete_tid ${ino.deleteTid ? '0x' + hex64(ino.deleteTid) : '-'}   as of ${tidText(r.asof)}`);
      o.flush();
    } finally {
      vs.close();
    }
  }),
};
