/** hammerfs mkdir -f VOL [-p] [--mode OCTAL] PATH...: new directories (one transaction each). */
import type { CommandModule } from 'yargs';
import { run } from '../common.js';
import { writeOptions, withWriter, report, parseMode, tidText, type WriteCommonArgs } from './write.js';

interface MkdirArgs extends WriteCommonArgs {
  paths: string[];
  p?: boolean;
  mode?: string;
}

export const mkdirCommand: CommandModule<object, MkdirArgs> = {
  command: 'mkdir <paths..>',
  describe: 'create directories in a master PFS',
  builder: (y) =>
    writeOptions(y)
      .positional('paths', { type: 'string', array: true, demandOption: true, describe: 'directory paths inside the PFS' })
      .option('p', { type: 'boolean', default: false, describe: 'create missing parents; an existing directory is not an error' })
      .option('mode', { type: 'string', describe: 'permission bits (octal, default 755)' }) as never,
  handler: run<MkdirArgs>((a) =>
    withWriter(a, (w) => {
      const mode = parseMode(a.mode);
      const ids = a.paths.map((p) => tidText(w.mkdir(p, { mode, parents: a.p })));
      report(a, w, 'mkdir', { paths: a.paths, objIds: ids });
    }),
  ),
};
