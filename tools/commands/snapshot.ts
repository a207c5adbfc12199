/**
 * hammerfs snapshot -f VOL [--pfs N] [LABEL]: record a snapshot of the PFS (a SNAPSHOT record on
 * its root inode) at the last committed TID; prints that TID (what `path@@0x<tid>` takes).
 */
import type { CommandModule } from 'yargs';
import { run } from '../common.js';
import { printJson } from '../output.js';
import { writeOptions, withWriter, tidText, type WriteCommonArgs } from './write.js';

interface SnapshotArgs extends WriteCommonArgs {
  label?: string;
}

export const snapshotCommand: CommandModule<object, SnapshotArgs> = {
  command: 'snapshot [label]',
  describe: 'record a snapshot of a master PFS at the last committed TID',
  builder: (y) => writeOptions(y).positional('label', { type: 'string', default: '', describe: 'snapshot label (at most 63 bytes)' }) as never,
  handler: run<SnapshotArgs>((a) =>
    withWriter(a, (w) => {
      const tid = w.snapshot(a.label ?? '');
      if (a.json) printJson({ pfs: w.pfs, tid: tidText(tid), label: a.label ?? '' });
      else process.stdout.write(`${tidText(tid)}\n`);
    }),
  ),
};
