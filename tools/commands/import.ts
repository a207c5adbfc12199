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

interface ImportArgs extends WriteCommonArgs {
  srcdir: string;
  destpath?: string;
  sparse?: boolean;
  owners?: boolean;
  batch?: number;
}

function human(n: number): string {
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
  return `${i === 0 ? v : v.toFixed(1)} ${u[i]}`;
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
      const tty = process.stderr.isTTY && !a.quiet && !a.json;
      const t0 = Date.now();
      let last = 0;
      const draw = (s: ImportStats) => {
        const now = Date.now();
        if (now - last < 200) return;
        last = now;
        const secs = Math.max(0.001, (now - t0) / 1000);
        process.stderr.write(`\r${s.files} files, ${s.dirs} dirs, ${human(s.bytes)} (${human(s.bytes / secs)}/s, ${(s.files / secs).toFixed(0)} files/s), ${s.commits} commits   `);
      };
      const s = importTree(w, a.srcdir, a.destpath ?? '/', {
        sparse: a.sparse, owners: a.owners, batchBytes: Math.max(1, a.batch ?? 48) * 1024 * 1024, progress: tty ? draw : undefined,
      });
      if (tty) process.stderr.write('\r\x1b[K');
      const secs = (Date.now() - t0) / 1000;
      if (a.json) {
        printJson({ ...s, topObjId: tidText(s.topObjId), lastTid: w.lastCommit ? tidText(w.lastCommit.tid) : null, seconds: secs });
      } else if (!a.quiet) {
        process.stderr.write(
          `imported ${s.files} files (${human(s.bytes)}), ${s.dirs} directories, ${s.symlinks} symlinks, ${s.hardlinks} hard links, ${s.special} special files in ${secs.toFixed(1)}s, ${s.commits} commits\n`,
        );
      }
    }),
  ),
};
