/** hammerfs chmod -f VOL MODE PATH...: permission bits (octal); a new inode version each. */
import type { CommandModule } from 'yargs';
import { run } from '../common.js';
import { writeOptions, withWriter, report, parseMode, type WriteCommonArgs } from './write.js';

interface ChmodArgs extends WriteCommonArgs {
  mode: string;
  paths: string[];
}

export const chmodCommand: CommandModule<object, ChmodArgs> = {
  command: 'chmod <mode> <paths..>',
  describe: 'change permission bits (octal) in a master PFS',
  builder: (y) =>
    writeOptions(y)
      .positional('mode', { type: 'string', demandOption: true, describe: 'octal mode, e.g. 644 or 4755' })
      .positional('paths', { type: 'string', array: true, demandOption: true }) as never,
  handler: run<ChmodArgs>((a) =>
    withWriter(a, (w) => {
      const mode = parseMode(a.mode, 'mode')!;
      for (const p of a.paths) w.setattr(p, { mode });
      report(a, w, 'chmod', { paths: a.paths, mode: mode.toString(8) });
    }),
  ),
};
