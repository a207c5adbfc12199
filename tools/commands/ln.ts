/** hammerfs ln -f VOL [-s] TARGET LINKPATH: hard link, or (-s) symbolic link with TARGET as its text. */
import type { CommandModule } from 'yargs';
import { run } from '../common.js';
import { writeOptions, withWriter, report, tidText, type WriteCommonArgs } from './write.js';

interface LnArgs extends WriteCommonArgs {
  target: string;
  link: string;
  s?: boolean;
}

export const lnCommand: CommandModule<object, LnArgs> = {
  command: 'ln <target> <link>',
  describe: 'make a hard link (or -s a symbolic link) in a master PFS',
  builder: (y) =>
    writeOptions(y)
      .positional('target', { type: 'string', demandOption: true, describe: 'existing path (hard link) or link text (-s)' })
      .positional('link', { type: 'string', demandOption: true, describe: 'new path' })
      .option('s', { type: 'boolean', default: false, describe: 'symbolic link' }) as never,
  handler: run<LnArgs>((a) =>
    withWriter(a, (w) => {
      if (a.s) {
        const id = w.symlink(a.link, a.target);
        report(a, w, 'symlink', { link: a.link, target: a.target, objId: tidText(id) });
      } else {
        w.link(a.target, a.link);
        report(a, w, 'link', { link: a.link, target: a.target });
      }
    }),
  ),
};
