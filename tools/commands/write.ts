/**
 * hammerfs write -f VOL PATH [--offset N | --append] [--mode OCTAL] < data
 *
 * Stores stdin as the file PATH of a master PFS: creates it, or replaces its contents (the old
 * data stays in the history); --offset/--append write into an existing file instead. The data
 * streams in bounded batches, one commit per batch (each commit is consistent).
 * Also the shared pieces of the file-operation commands (mkdir, rm, mv, ln, chmod, chown,
 * touch, snapshot, import): options, opening the set for writing with the exclusive lock, and
 * the one-line report.
 */
import type { Argv, CommandModule } from 'yargs';
import { withVolumes, withPfs, pfsArg, run, type CommonArgs } from '../common.js';
import { printJson, warn } from '../output.js';
import { UsageError } from '../../src/errors.js';
import { splitVolumeArg } from '../../src/volume/volume-set.js';
import { openVolumeSetForWrite } from '../../src/volume/writable-volume-set.js';
import { HammerWriter, writeStream } from '../../src/fs/write/writer.js';
import { hex64 } from '../../src/ondisk/int64.js';

export interface WriteCommonArgs extends CommonArgs {
  pfs?: number;
}

/** -f, --pfs, --json, --quiet, --debug for a command that writes. */
export function writeOptions<T>(y: Argv<T>) {
  return withPfs(withVolumes(y));
}

/** Open the -f volumes for writing (exclusive lock, UNDO recovery) and run fn with a writer. */
export async function withWriter<R>(a: WriteCommonArgs, fn: (w: HammerWriter) => R | Promise<R>): Promise<R> {
  const paths = splitVolumeArg(a.f ?? []);
  if (paths.length === 0) throw new UsageError('no volumes given (-f VOL[:VOL...])', { structure: 'argument', field: 'f' });
  if (a.lock === false) throw new UsageError('--no-lock is for read-only commands; writing always takes the exclusive lock', { structure: 'argument', field: 'lock' });
  const vs = openVolumeSetForWrite(paths);
  try {
    if (!a.quiet && !a.json) for (const w of vs.warnings) warn(w.message, w.where);
    const w = new HammerWriter(vs, { pfs: pfsArg(a.pfs) });
    try {
      return await fn(w);
    } catch (e) {
      w.abort();
      throw e;
    }
  } finally {
    vs.close();
  }
}

export const tidText = (t: bigint) => '0x' + hex64(t);

/** After a command: --json gets {op, tid, ...}; otherwise nothing (Unix style) unless asked. */
export function report(a: WriteCommonArgs, w: HammerWriter, op: string, extra: Record<string, unknown> = {}): void {
  if (a.json) printJson({ op, pfs: w.pfs, tid: w.lastCommit ? tidText(w.lastCommit.tid) : null, commits: w.commits, ...extra });
}

export function parseMode(v: string | number | undefined, field = 'mode'): number | undefined {
  if (v === undefined) return undefined;
  const s = String(v);
  if (!/^[0-7]{1,4}$/.test(s)) throw new UsageError(`--${field} takes an octal mode (e.g. 644), got "${s}"`, { structure: 'argument', field });
  return parseInt(s, 8);
}

interface WriteArgs extends WriteCommonArgs {
  path: string;
  offset?: number;
  append?: boolean;
  mode?: string;
}

export const writeCommand: CommandModule<object, WriteArgs> = {
  command: 'write <path>',
  describe: 'store stdin as a file (create or replace; --offset/--append write into it), history kept',
  builder: (y) =>
    writeOptions(y)
      .positional('path', { type: 'string', demandOption: true, describe: 'file path inside the PFS' })
      .option('offset', { type: 'number', describe: 'write at this byte offset of an existing file (no truncation)' })
      .option('append', { type: 'boolean', default: false, describe: 'write at the end of an existing file' })
      .option('mode', { type: 'string', describe: 'permission bits of a new file (octal, default 644)' }) as never,
  handler: run<WriteArgs>(async (a) => {
    if (a.offset !== undefined && (!Number.isSafeInteger(a.offset) || a.offset < 0)) throw new UsageError(`--offset takes a byte offset, got ${a.offset}`, { structure: 'argument', field: 'offset' });
    if (a.offset !== undefined && a.append) throw new UsageError('--offset and --append exclude each other', { structure: 'argument', field: 'append' });
    const mode = parseMode(a.mode);
    await withWriter(a, async (w) => {
      const r = await writeStream(w, a.path, process.stdin, { offset: a.offset, append: a.append, mode });
      report(a, w, 'write', { path: a.path, objId: tidText(r.objId), bytes: r.bytes });
    });
  }),
};
