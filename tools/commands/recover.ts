/**
 * hammerfs recover DESTDIR: rebuild files from the B-Tree leaf nodes found anywhere on the media
 * (src/fs/recover.ts). Works with a damaged tree, a destroyed volume 0 header and missing volumes.
 */
import type { CommandModule } from 'yargs';
import { withVolumes, withAsof, run, tidArg, pfsArg, type CommonArgs } from '../common.js';
import { Output, printJson, warn } from '../output.js';
import { splitVolumeArg } from '../../src/volume/volume-set.js';
import { UsageError } from '../../src/errors.js';
import { openRawMedia } from '../../src/fs/raw-scan.js';
import { recover } from '../../src/fs/recover.js';
import { hex64 } from '../../src/ondisk/int64.js';
import { ProgressLine } from '../progress.js';


interface RecoverArgs extends CommonArgs {
  destdir: string;
  asof?: string;
  pfs?: number;
  perms?: boolean;
  scan?: 'auto' | 'full';
}

export const recoverCommand: CommandModule<object, RecoverArgs> = {
  command: 'recover <destdir>',
  describe: 'rebuild files and directories from every B-Tree leaf found on the media (damaged filesystems too)',
  builder: (y) =>
    withAsof(withVolumes(y))
      .positional('destdir', { type: 'string', demandOption: true, describe: 'new or empty directory to write into (PFSnnnnn/... below it)' })
      .option('pfs', { type: 'number', describe: 'only this PFS (default: every PFS found)' })
      .option('perms', { type: 'boolean', default: false, describe: 'restore permission bits (and owners when root); default leaves files readable' })
      .option('scan', { choices: ['auto', 'full'] as const, default: 'auto' as const, describe: 'auto: skip UNDO/freemap big-blocks when the freemap is readable; full: every 4 KiB of every volume' }),
  handler: run<RecoverArgs>((a) => {
    const paths = splitVolumeArg(a.f ?? []);
    if (paths.length === 0) throw new UsageError('no volumes given (-f VOL[:VOL...])', { structure: 'argument', field: 'f' });
    const asof = tidArg(a.asof, 'asof');
    const pfs = a.pfs === undefined ? undefined : pfsArg(a.pfs);
    const media = openRawMedia(paths, { lock: a.lock === false ? 'none' : 'shared' });
    const progress = ProgressLine.forCommand('recover', a);
    try {
      const report = recover(media, a.destdir, {
        asof, pfs, perms: a.perms, scan: a.scan,
        onProgress: (phase, done, total) => progress.update({ done, total, bytes: phase === 'scan', extra: phase === 'scan' ? 'scanning' : 'writing' }),
      });
      progress.done();
      if (a.json) {
        // Sizes as numbers where exact (../shared/CLI.md), else the hex string of a 64-bit value.
        printJson({ ...report, objects: report.objects.map((ob) => ({ ...ob, size: ob.size <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(ob.size) : ob.size })) });
        return;
      }
      if (!a.quiet) {
        for (const w of report.warnings) warn(w);
        for (const n of report.notes) process.stderr.write(`hammerfs: ${n}\n`);
      }
      const o = new Output();
      const s = report.scan;
      o.line(`Scanned ${(s.bytesScanned / 1048576).toFixed(0)} MiB: ${s.leafNodes} leaf and ${s.internalNodes} internal nodes, ${s.records} distinct records (${s.duplicateRecords} duplicate copies), ${s.badCrcCandidates} node look-alikes with bad CRC`);
      if (s.lostRanges) o.line(`${s.lostRanges} key ranges named by internal nodes whose child node was not found: records there may be lost`);
      if (report.asof !== null) o.line(`As of TID 0x${hex64(report.asof)}`);
      for (const p of report.pfs) {
        o.line(`PFS ${p.id}${p.label !== null ? ` "${p.label}"` : ''}${p.mode ? ` (${p.mode})` : ''}: ${p.objects} objects, ${p.complete} complete, ${p.partial} partial`);
      }
      for (const ob of report.objects) {
        if (ob.status !== 'partial') continue;
        const hint = ob.parentHint ? ` (parent was ${ob.parentHint})` : '';
        o.line(`partial ${ob.type.padEnd(7)} ${ob.path ?? `(not created) pfs ${ob.pfs} obj 0x${hex64(ob.objId)}`}: ${ob.problems.join(', ')}${hint}`);
      }
      const m = report.summary;
      o.line(`Recovered ${m.objects} objects (${m.files} files, ${m.directories} directories, ${m.symlinks} symlinks, ${m.special} special) into ${report.dest}: ${m.complete} complete, ${m.partial} partial, ${m.lostAndFound} in lost+found, ${m.bytesWritten} bytes of file data`);
      o.flush();
    } finally {
      progress.done();
      media.close();
    }
  }),
};
