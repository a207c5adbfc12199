/**
 * hammerfs mirror-copy SRC DST: mirror a PFS into a slave in one process. Each side is
 * VOL[:VOL...]#PFS. Incremental from the target's sync_end_tid; -y creates a missing slave.
 * Source and target may be the same volume set (different PFSs).
 */
import type { CommandModule } from 'yargs';
import { run, tidArg, type CommonArgs } from '../common.js';
import { printJson } from '../output.js';
import { UsageError } from '../../src/errors.js';
import { hex64 } from '../../src/ondisk/int64.js';
import { splitVolumeArg, openVolumeSet } from '../../src/volume/volume-set.js';
import { openVolumeSetForWrite } from '../../src/volume/writable-volume-set.js';
import { mirrorCopy } from '../../src/mirror/mirror-copy.js';
import { describeWriteReport } from './mirror-write.js';
import { withYes, confirm } from './pfs-common.js';
import * as fs from 'node:fs';

interface Args extends CommonArgs {
  src?: string;
  dst?: string;
  y?: boolean;
  'dry-run'?: boolean;
  force?: boolean;
  since?: string;
  until?: string;
}

/** "a.img:b.img#3" -> paths and PFS id. */
export function parseSide(s: string, name: string): { paths: string[]; pfs: number } {
  const m = /^(.+)#(\d+)$/.exec(s);
  if (!m) throw new UsageError(`${name} must be VOL[:VOL...]#PFS, e.g. disk.img#1; got "${s}"`, { structure: 'argument', field: name });
  const pfs = Number(m[2]);
  if (!Number.isInteger(pfs) || pfs > 65535) throw new UsageError(`${name}: PFS id ${m[2]} out of range 0..65535`, { structure: 'argument', field: name });
  const paths = splitVolumeArg(m[1]);
  if (paths.length === 0) throw new UsageError(`${name}: no volumes`, { structure: 'argument', field: name });
  return { paths, pfs };
}

const sameFiles = (a: string[], b: string[]) => {
  const id = (p: string) => {
    const s = fs.statSync(p);
    return `${s.dev}:${s.ino}`;
  };
  try {
    const ia = a.map(id).sort();
    const ib = b.map(id).sort();
    if (ia.some((x) => ib.includes(x)) && (ia.length !== ib.length || ia.some((x, i) => x !== ib[i]))) {
      throw new UsageError('source and target share some volumes but are not the same volume set', { structure: 'argument', field: 'dst' });
    }
    return ia.length === ib.length && ia.every((x, i) => x === ib[i]);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    return false;
  }
};

export const mirrorCopyCommand: CommandModule<object, Args> = {
  command: 'mirror-copy <src> <dst>',
  describe: 'mirror PFS SRC (VOL[:VOL...]#N) into slave DST (VOL[:VOL...]#M), incrementally; -y creates the slave',
  builder: (y) =>
    withYes(y)
      .positional('src', { type: 'string', describe: 'source VOL[:VOL...]#PFS' })
      .positional('dst', { type: 'string', describe: 'target VOL[:VOL...]#PFS' })
      .option('json', { type: 'boolean', default: false })
      .option('quiet', { type: 'boolean', default: false })
      .option('debug', { type: 'boolean', default: false })
      .option('dry-run', { type: 'boolean', default: false, describe: 'report only, write nothing' })
      .option('force', { type: 'boolean', default: false, describe: 'write even into a master or a slave of another shared UUID' })
      .option('since', { type: 'string', describe: 'tid_beg override (default: target sync_end_tid + 1)' })
      .option('until', { type: 'string', describe: 'tid_end (inclusive; default: the source\'s last committed TID)' }),
  handler: run<Args>((a) => {
    const src = parseSide(a.src!, 'src');
    const dst = parseSide(a.dst!, 'dst');
    const same = sameFiles(src.paths, dst.paths);
    if (same && src.pfs === dst.pfs) throw new UsageError('source and target are the same PFS', { structure: 'argument', field: 'dst' });
    const dvs = openVolumeSetForWrite(dst.paths);
    const svs = same ? dvs : openVolumeSet(src.paths);
    try {
      const r = mirrorCopy(svs, dvs, {
        srcPfs: src.pfs, dstPfs: dst.pfs, createSlave: a.y,
        // without -y a terminal is asked (as hammer does); otherwise the copy fails and names -y
        confirmCreate: a.y || !process.stdin.isTTY ? undefined : (shared) => {
          try {
            confirm(`PFS ${dst.pfs} does not exist on the target. Create it as a slave of shared UUID ${shared}?`, false);
            return true;
          } catch {
            return false;
          }
        }, force: a.force, dryRun: a['dry-run'],
        since: tidArg(a.since, 'since'), until: tidArg(a.until, 'until'),
      });
      if (a.json) printJson(r);
      else if (!a.quiet) process.stdout.write(`mirror-copy: TIDs 0x${hex64(r.tidBeg)}..0x${hex64(r.tidEnd)}, ${r.streamBytes} stream bytes; ${describeWriteReport(r)}\n`);
    } finally {
      if (svs !== dvs) svs.close();
      dvs.close();
    }
  }),
};
