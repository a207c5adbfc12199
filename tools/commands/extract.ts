/**
 * hammerfs extract PATH DESTDIR: copy a subtree (as of --asof, in --pfs) to the local disk with
 * modes, times, owners (as root), symlinks, hardlinks, FIFOs and (as root) device nodes.
 * A directory's contents go into DESTDIR; anything else into DESTDIR/<name>.
 */
import type { CommandModule } from 'yargs';
import { run } from '../common.js';
import { printJson, warn } from '../output.js';
import { withFs, openFs, tidText, type FsArgs } from './fs-shared.js';
import { extractTree, subtreeTotals } from '../../src/fs/extract.js';
import { ProgressLine, humanBytes } from '../progress.js';

interface ExtractArgs extends FsArgs {
  path: string;
  destdir: string;
}


export const extractCommand: CommandModule<object, ExtractArgs> = {
  command: 'extract <path> <destdir>',
  describe: 'copy a subtree (as of --asof, in --pfs) to a local directory, keeping modes, times, links',
  builder: (y) =>
    withFs(y)
      .positional('path', { type: 'string', demandOption: true, describe: 'path inside the PFS (name@@0x<tid> allowed)' })
      .positional('destdir', { type: 'string', demandOption: true, describe: 'local directory (created if missing)' }) as never,
  handler: run<ExtractArgs>((a) => {
    const { vs, fs } = openFs(a);
    try {
      const progress = ProgressLine.forCommand('extract', a);
      // The total (for percent and ETA) costs one more walk of the inodes, only worth it for a human.
      const total = progress.enabled ? subtreeTotals(fs, a.path) : undefined;
      const rep = extractTree(fs, a.path, a.destdir, {
        onProgress: progress.enabled
          ? (bytes, objects) => progress.update({ done: bytes, total: total!.bytes, bytes: true, extra: `${objects}/${total!.objects} objects` })
          : undefined,
      });
      progress.done();
      if (a.json) {
        printJson({ path: a.path, destdir: a.destdir, pfs: fs.pfs, asof: tidText(fs.asof), ...rep });
        return;
      }
      for (const s of rep.skipped) warn(`not extracted: ${s.path}: ${s.reason}`);
      if (!a.quiet) {
        process.stderr.write(
          `extracted ${rep.dirs} directories, ${rep.files} files (${humanBytes(rep.bytes)}), ${rep.symlinks} symlinks, ${rep.hardlinks} hardlinks, ${rep.fifos} fifos, ${rep.devices} devices; ${rep.skipped.length} skipped\n`,
        );
      }
    } finally {
      vs.close();
    }
  }),
};
