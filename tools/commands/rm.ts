/**
 * hammerfs rm -f VOL [-r] [-d] PATH...: remove names (history keeps them: delete_tid is set).
 * Without -r a directory needs -d and must be empty; -r removes a subtree in one transaction.
 */
import type { CommandModule } from 'yargs';
import { run } from '../common.js';
import { UsageError } from '../../src/errors.js';
import { HAMMER_OBJTYPE_DIRECTORY } from '../../src/ondisk/constants.js';
import { writeOptions, withWriter, report, type WriteCommonArgs } from './write.js';

interface RmArgs extends WriteCommonArgs {
  paths: string[];
  r?: boolean;
  d?: boolean;
}

export const rmCommand: CommandModule<object, RmArgs> = {
  command: 'rm <paths..>',
  describe: 'remove files (-d empty directories, -r subtrees) from a master PFS; history keeps them',
  builder: (y) =>
    writeOptions(y)
      .positional('paths', { type: 'string', array: true, demandOption: true, describe: 'paths inside the PFS' })
      .option('r', { type: 'boolean', default: false, describe: 'remove directories and their contents' })
      .option('d', { type: 'boolean', default: false, describe: 'remove empty directories' }) as never,
  handler: run<RmArgs>((a) =>
    withWriter(a, (w) => {
      let removed = 0;
      for (const p of a.paths) {
        const ex = w.lookup(p);
        if (ex && ex.objType === HAMMER_OBJTYPE_DIRECTORY) {
          if (a.r) {
            w.autoCommit = false;
            removed += w.removeTree(p);
            w.commit();
            w.autoCommit = true;
          } else if (a.d) {
            w.rmdir(p);
            removed++;
          } else throw new UsageError('is a directory (use -d or -r)', { structure: `path ${p}` });
        } else {
          w.unlink(p);
          removed++;
        }
      }
      report(a, w, 'rm', { paths: a.paths, removed });
    }),
  ),
};
