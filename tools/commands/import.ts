/**
 * hammerfs import -f VOL [--pfs N] SRCDIR [DESTPATH]: copy a local tree into a master PFS
 * (files with holes kept, directories, symlinks, hard links, fifos, devices, modes, owners,
 * times), committing in bounded batches. Progress on a TTY (stderr), never otherwise.
 */
import type { CommandModule } from 'yargs';
import { run } from '../common.js';
import { printJson } from '../output.js';
import { UsageError } from '../../src/errors.js';
import { importTree, type ImportStats } from '../../src/fs/write/import.js';
import { writeOptions, withWriter, tidText, type WriteCommonArgs } from './write.js';
import { ProgressLine, humanBytes } from '../progress.js';

interface ImportArgs extends WriteCommonArgs {
  srcdir: string;
  destpath?: string;
  sparse?: boolean;
  owners?: boolean;
  batch?: number;
}


export const importCommand: CommandModule<object, ImportArgs> = {
  command: 'import <srcdir> [destpath]',
  describe: 'copy a local directory tree into a master PFS (like makefs), history kept',
  builder: (y) =>
    writeOptions(y)
      .positional('srcdir', { type: 'string', demandOption: true, describe: 'local directory to copy' })
      .positional('destpath', { type: 'string', default: '/', describe: 'directory inside the PFS (created if missing)' })
      .option('sparse', { type: 'boolean', default: true, describe: 'leave all-zero blocks as holes (--no-sparse writes them)' })
      .option('owners', { type: 'boolean', default: true, describe: 'copy uid/gid (--no-owners: 0/0)' })
      .option('batch', { type: 'number', default: 48, describe: 'commit every N MiB of changes' }) as never,
  handler: run<ImportArgs>((a) =>
    withWriter(a, (w) => {
      if (!Number.isFinite(a.batch ?? 48) || (a.batch ?? 48) <= 0) throw new UsageError(`--batch takes a positive number of MiB, got ${a.batch}`, { structure: 'argument', field: 'batch' });
      const progress = ProgressLine.forCommand('import', a);
      const t0 = Date.now();
      const draw = (s: ImportStats) => progress.update({ done: s.bytes, bytes: true, extra: `${s.files} files, ${s.dirs} dirs, ${s.commits} commits` });
      const s = importTree(w, a.srcdir, a.destpath ?? '/', {
        sparse: a.sparse, owners: a.owners, batchBytes: Math.max(1, a.batch ?? 48) * 1024 * 1024, progress: progress.enabled ? draw : undefined,
      });
      progress.done();
      const secs = (Date.now() - t0) / 1000;
      if (a.json) {
        printJson({ ...s, topObjId: tidText(s.topObjId), lastTid: w.lastCommit ? tidText(w.lastCommit.tid) : null, seconds: secs });
      } else if (!a.quiet) {
        process.stderr.write(
          `imported ${s.files} files (${humanBytes(s.bytes)}), ${s.dirs} directories, ${s.symlinks} symlinks, ${s.hardlinks} hard links, ${s.special} special files in ${secs.toFixed(1)}s, ${s.commits} commits\n`,
        );
      }
    }),
  ),
};
