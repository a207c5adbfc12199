/** hammerfs snapshots: the snapshot records of a PFS (hammer(8) snapls). */
import type { CommandModule } from 'yargs';
import { run } from '../common.js';
import { Output, printJson } from '../output.js';
import { withFs, openFs, isoUs, type FsArgs } from './fs-shared.js';
import { hex64 } from '../../src/ondisk/int64.js';

export const snapshotsCommand: CommandModule<object, FsArgs> = {
  command: 'snapshots',
  describe: 'list the snapshots of a PFS (--pfs): TID, time, label',
  builder: (y) => withFs(y) as never,
  handler: run<FsArgs>((a) => {
    const { vs, fs } = openFs(a);
    try {
      const snaps = fs.snapshots();
      if (a.json) {
        printJson({ pfs: fs.pfs, snapshots: snaps.map((s) => ({ tid: s.tid, ts_us: Number(s.ts), time: isoUs(s.ts), label: s.label, create_tid: s.createTid })) });
        return;
      }
      const o = new Output();
      o.line(`Snapshots on PFS #${fs.pfs}`);
      o.line('Transaction ID\t\tTimestamp\t\tNote');
      for (const s of snaps) o.line(`0x${hex64(s.tid)}\t${isoUs(s.ts).replace(/\.\d+Z$/, 'Z')}\t${JSON.stringify(s.label)}`);
      o.flush();
    } finally {
      vs.close();
    }
  }),
};
