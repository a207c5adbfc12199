/**
 * hammerfs timeline -f VOLS: a Sleuth Kit bodyfile of every inode version (src/fs/timeline.ts),
 * ready for `mactime -b FILE`. --json: one JSON array of the entries.
 */
import type { CommandModule } from 'yargs';
import { withVolumes, openReadOnly, run, pfsArg, type CommonArgs } from '../common.js';
import { Output, printJson } from '../output.js';
import { BTree } from '../../src/btree/btree.js';
import { buildTimeline, bodyfileLine } from '../../src/fs/timeline.js';

interface TimelineArgs extends CommonArgs {
  pfs?: number;
}

export const timelineCommand: CommandModule<object, TimelineArgs> = {
  command: 'timeline',
  describe: 'Sleuth Kit bodyfile (mactime format) of every inode version over all PFSs',
  builder: (y) => withVolumes(y).option('pfs', { type: 'number', describe: 'only this PFS (default: all)' }),
  handler: run<TimelineArgs>((a) => {
    const pfs = a.pfs === undefined ? undefined : pfsArg(a.pfs);
    const vs = openReadOnly(a, { warnings: !a.json });
    try {
      const entries = buildTimeline(new BTree(vs), { pfs });
      if (a.json) {
        // Sizes as numbers where exact (../shared/CLI.md), else the hex string of a 64-bit value.
        printJson(entries.map((e) => ({ ...e, size: e.size <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(e.size) : e.size })));
        return;
      }
      const o = new Output();
      for (const e of entries) o.line(bodyfileLine(e));
      o.flush();
    } finally {
      vs.close();
    }
  }),
};
