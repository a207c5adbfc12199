/**
 * hammerfs touch -f VOL [--mtime µs|ISO] [-c] PATH...: create empty files, or set mtime/atime of
 * existing objects (written in place, as the kernel does: times are outside the inode CRC).
 */
import type { CommandModule } from 'yargs';
import { run } from '../common.js';
import { UsageError } from '../../src/errors.js';
import { writeOptions, withWriter, report, type WriteCommonArgs } from './write.js';

interface TouchArgs extends WriteCommonArgs {
  paths: string[];
  mtime?: string;
  c?: boolean;
}

/** µs since the epoch from a number (µs) or a date string. */
function timeArg(v: string | undefined): bigint | undefined {
  if (v === undefined) return undefined;
  if (/^\d{1,18}$/.test(v)) return BigInt(v);
  const ms = Date.parse(v);
  if (Number.isNaN(ms)) throw new UsageError(`--mtime takes microseconds since the epoch or a date, got "${v}"`, { structure: 'argument', field: 'mtime' });
  return BigInt(ms) * 1000n;
}

export const touchCommand: CommandModule<object, TouchArgs> = {
  command: 'touch <paths..>',
  describe: 'create empty files or update times in a master PFS',
  builder: (y) =>
    writeOptions(y)
      .positional('paths', { type: 'string', array: true, demandOption: true })
      .option('mtime', { type: 'string', describe: 'time to set (µs since the epoch or a date); default now' })
      .option('c', { type: 'boolean', default: false, describe: 'do not create missing files' }) as never,
  handler: run<TouchArgs>((a) =>
    withWriter(a, (w) => {
      const t = timeArg(a.mtime);
      for (const p of a.paths) w.touchPath(p, { mtime: t, atime: t, create: !a.c });
      report(a, w, 'touch', { paths: a.paths });
    }),
  ),
};
