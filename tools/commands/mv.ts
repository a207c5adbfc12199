/** hammerfs mv -f VOL FROM TO: rename (a file replaces a file, a directory an empty directory). */
import type { CommandModule } from 'yargs';
import { run } from '../common.js';
import { HAMMER_OBJTYPE_DIRECTORY } from '../../src/ondisk/constants.js';
import { writeOptions, withWriter, report, type WriteCommonArgs } from './write.js';

interface MvArgs extends WriteCommonArgs {
  from: string;
  to: string;
}

export const mvCommand: CommandModule<object, MvArgs> = {
  command: 'mv <from> <to>',
  describe: 'rename or move a file or directory inside a master PFS',
  builder: (y) =>
    writeOptions(y)
      .positional('from', { type: 'string', demandOption: true })
      .positional('to', { type: 'string', demandOption: true, describe: 'new path; an existing directory receives FROM under its own name' }) as never,
  handler: run<MvArgs>((a) =>
    withWriter(a, (w) => {
      let to = a.to;
      const dst = w.lookup(to);
      const src = w.lookup(a.from);
      // like mv(1): moving onto an existing directory puts the source inside it
      if (dst && dst.objType === HAMMER_OBJTYPE_DIRECTORY && src && dst.objId !== src.objId) {
        const base = a.from.split('/').filter(Boolean).pop() ?? '';
        to = `${to.replace(/\/+$/, '')}/${base}`;
      }
      w.rename(a.from, to);
      report(a, w, 'mv', { from: a.from, to });
    }),
  ),
};
