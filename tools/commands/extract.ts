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

interface ExtractArgs extends FsArgs {
  path: string;
  destdir: string;
}

function human(n: number): string {
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i ? 1 : 0)} ${u[i]}`;
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
      // Progress only for a human watching: stderr is a TTY, and not --quiet / --json.
      const tty = process.stderr.isTTY && !a.quiet && !a.json;
      // The total (for percent and ETA) costs one more walk of the inodes, only worth it for a human.
      const total = tty ? subtreeTotals(fs, a.path) : undefined;
      const t0 = Date.now();
      let lastDraw = 0;
      const rep = extractTree(fs, a.path, a.destdir, {
        onProgress: tty
          ? (bytes, objects) => {
              const now = Date.now();
              if (now - lastDraw < 200) return;
              lastDraw = now;
              const rate = bytes / Math.max(0.001, (now - t0) / 1000);
              const pct = total!.bytes ? Math.min(100, (100 * bytes) / total!.bytes) : 100;
              const eta = rate > 0 ? Math.max(0, (total!.bytes - bytes) / rate) : 0;
              const width = 24;
              const bar = '#'.repeat(Math.round((pct / 100) * width)).padEnd(width, '.');
              process.stderr.write(
                `\r[${bar}] ${pct.toFixed(0).padStart(3)}% ${objects}/${total!.objects} objects, ${human(bytes)}/${human(total!.bytes)} ${human(rate)}/s ETA ${Math.ceil(eta)}s   `,
              );
            }
          : undefined,
      });
      if (tty) process.stderr.write('\r\x1b[K');
      if (a.json) {
        printJson({ path: a.path, destdir: a.destdir, pfs: fs.pfs, asof: tidText(fs.asof), ...rep });
        return;
      }
      for (const s of rep.skipped) warn(`not extracted: ${s.path}: ${s.reason}`);
      if (!a.quiet) {
        process.stderr.write(
          `extracted ${rep.dirs} directories, ${rep.files} files (${human(rep.bytes)}), ${rep.symlinks} symlinks, ${rep.hardlinks} hardlinks, ${rep.fifos} fifos, ${rep.devices} devices; ${rep.skipped.length} skipped\n`,
        );
      }
    } finally {
      vs.close();
    }
  }),
};
