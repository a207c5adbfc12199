/**
 * hammerfs history PATH: every TID at which the inode or its data changed (what hammer(8) history
 * lists), with the inode versions and data records behind them. Each listed TID can be given to
 * --asof or as PATH@@0x<tid> to read that version.
 */
import type { CommandModule } from 'yargs';
import { run } from '../common.js';
import { Output, printJson } from '../output.js';
import { withFs, openFs, isoS, isoUs, showName, type FsArgs } from './fs-shared.js';
import { hex64 } from '../../src/ondisk/int64.js';

interface HistoryArgs extends FsArgs {
  path: string;
  v?: boolean;
}

export const historyCommand: CommandModule<object, HistoryArgs> = {
  command: 'history <path>',
  describe: 'every version of a file or directory: create/delete TIDs and timestamps (-v: records)',
  builder: (y) =>
    withFs(y)
      .positional('path', { type: 'string', demandOption: true, describe: 'path inside the PFS (name@@0x<tid> to find something deleted since)' })
      .option('v', { type: 'boolean', default: false, describe: 'also list each inode version and data record' }) as never,
  handler: run<HistoryArgs>((a) => {
    const { vs, fs } = openFs(a);
    try {
      const r = fs.resolve(a.path);
      const h = fs.history(r.inode);
      if (a.json) {
        printJson({
          path: a.path, pfs: h.pfs, obj_id: h.objId,
          versions: h.tids.map((t) => ({
            tid: t.tid, ts: t.ts, time: isoS(t.ts), inode_created: t.inodeCreated, inode_deleted: t.inodeDeleted,
            data_created: t.dataCreated, data_deleted: t.dataDeleted,
          })),
          inodes: h.inodes.map((i) => ({
            create_tid: i.createTid, delete_tid: i.deleteTid, create_ts: i.createTs, delete_ts: i.deleteTs,
            size: Number(i.size), mode: i.mode, nlinks: Number(i.nlinks), uid: i.uid, gid: i.gid, ctime_us: Number(i.ctime), parent_obj_id: i.parentObjId,
          })),
          data: h.data.map((d) => ({
            offset: Number(d.offset), length: d.length, data_offset: d.dataOffset,
            create_tid: d.createTid, delete_tid: d.deleteTid, create_ts: d.createTs, delete_ts: d.deleteTs,
          })),
        });
        return;
      }
      const o = new Output();
      o.line(`${showName(a.path)}\tobj_id 0x${hex64(h.objId)} PFS ${h.pfs}`);
      for (const t of h.tids) {
        const what: string[] = [];
        if (t.inodeCreated) what.push('inode');
        if (t.inodeDeleted) what.push('inode-deleted');
        if (t.dataCreated) what.push(`+${t.dataCreated} data`);
        if (t.dataDeleted) what.push(`-${t.dataDeleted} data`);
        o.line(`    0x${hex64(t.tid)} ${isoS(t.ts)} ${what.join(' ')}`);
      }
      if (a.v) {
        o.line('inode versions:');
        for (const i of h.inodes) {
          o.line(`    0x${hex64(i.createTid)}..${i.deleteTid ? '0x' + hex64(i.deleteTid) : 'now'} size ${i.size} mode ${i.mode.toString(8)} nlinks ${i.nlinks} ctime ${isoUs(i.ctime)}`);
        }
        o.line('data records:');
        for (const d of h.data) {
          o.line(`    [${d.offset}, ${d.offset + BigInt(d.length)}) 0x${hex64(d.createTid)}..${d.deleteTid ? '0x' + hex64(d.deleteTid) : 'now'} at ${hex64(d.dataOffset)}`);
        }
      }
      o.flush();
    } finally {
      vs.close();
    }
  }),
};
