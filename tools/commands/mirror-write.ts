/**
 * hammerfs mirror-write: apply a mirror stream (from hammerfs or hammer mirror-read) to a slave
 * PFS, one transaction per batch, committed at the batch's SYNC together with the slave's new
 * sync_end_tid. A corrupt, truncated or foreign stream is refused with its byte offset; the open
 * batch is rolled back and the target stays at its last sync point.
 */
import * as fs from 'node:fs';
import type { CommandModule } from 'yargs';
import { withVolumes, run, pfsArg, type CommonArgs } from '../common.js';
import { printJson } from '../output.js';
import { IoError, UsageError } from '../../src/errors.js';
import { hex64 } from '../../src/ondisk/int64.js';
import { MirrorStreamReader } from '../../src/mirror/stream-reader.js';
import { MirrorWriter, type MirrorWriteReport } from '../../src/mirror/mirror-write.js';
import { openForWrite, withYes } from './pfs-common.js';

interface Args extends CommonArgs {
  pfs?: number;
  y?: boolean;
  i?: string;
  'dry-run'?: boolean;
  force?: boolean;
  'commit-buffers'?: number;
  'keep-partial'?: boolean;
}

export function describeWriteReport(r: MirrorWriteReport): string {
  const what = r.dryRun ? 'would create' : 'created';
  return (
    `PFS ${r.pfsId}: ${r.batches} batch${r.batches === 1 ? '' : 'es'} (${r.synced} synced, ${r.idle} idle${r.aborted ? `, ${r.aborted} aborted` : ''}), ` +
    `${what} ${r.created} records, ${r.dryRun ? 'would mark' : 'marked'} ${r.deleted} deleted, ${r.dryRun ? 'would update' : 'updated'} ${r.updated}, ${r.unchanged} unchanged; ` +
    `sync-end-tid 0x${hex64(r.syncEndTid)}${r.createdPfs ? ' (slave PFS created)' : ''}${r.dryRun ? ' [dry run: nothing written]' : ''}`
  );
}

/** A test hook: HAMMERFS_TEST_KILL_AFTER=N makes the process SIGKILL itself after N applied records. */
function killHook(): ((n: number) => void) | undefined {
  const v = process.env.HAMMERFS_TEST_KILL_AFTER;
  if (!v) return undefined;
  const n = Number(v);
  return (k) => {
    if (k >= n) process.kill(process.pid, 'SIGKILL');
  };
}

/**
 * hammer(8) asks on /dev/tty whether to create a missing slave (stdin carries the stream). Without
 * a controlling terminal there is no question: the writer then fails and names -y.
 */
function askOnTty(pfsId: number): ((shared: string) => boolean) | undefined {
  if (!process.stderr.isTTY) return undefined;
  return (shared) => {
    let fd: number;
    try {
      fd = fs.openSync('/dev/tty', 'r+');
    } catch {
      return false;
    }
    try {
      fs.writeSync(fd, `PFS ${pfsId} does not exist. Create it as a slave of shared UUID ${shared}? (y/n) `);
      const b = Buffer.alloc(64);
      const n = fs.readSync(fd, b, 0, b.length, null);
      return /^y(es)?$/i.test(b.subarray(0, n).toString('utf8').trim());
    } catch {
      return false;
    } finally {
      fs.closeSync(fd);
    }
  };
}

export const mirrorWriteCommand: CommandModule<object, Args> = {
  command: 'mirror-write',
  describe: 'apply a mirror stream (stdin or -i FILE) to a slave PFS; -y creates a missing slave',
  builder: (y) =>
    withYes(withVolumes(y))
      .option('pfs', { type: 'number', demandOption: true, describe: 'target PFS id (a slave of the stream\'s master)' })
      .option('i', { type: 'string', requiresArg: true, describe: 'read the stream from FILE (default: stdin)' })
      .option('dry-run', { type: 'boolean', default: false, describe: 'apply nothing; report what would be created, deleted and updated' })
      .option('force', { type: 'boolean', default: false, describe: 'write even into a master or a slave of another shared UUID' })
      .option('keep-partial', { type: 'boolean', default: false, describe: 'a stream that ends part-way through a batch keeps what it applied (sync-end-tid unchanged), for mirror-read --resume' })
      .option('commit-buffers', { type: 'number', describe: 'commit part-way once a batch has changed this many 16 KiB buffers (default: a quarter of the UNDO FIFO)' }),
  handler: run<Args>(async (a) => {
    const pfsId = pfsArg(a.pfs);
    if (a.i === undefined && process.stdin.isTTY) throw new UsageError('no stream: pipe one into stdin or give -i FILE', { structure: 'argument', field: 'i' });
    let src: AsyncIterable<Uint8Array>;
    if (a.i !== undefined) {
      try {
        fs.accessSync(a.i, fs.constants.R_OK);
      } catch (e) {
        throw new IoError(`cannot read stream file: ${(e as Error).message}`, { structure: 'mirror stream input', path: a.i }, { cause: e });
      }
      src = fs.createReadStream(a.i, { highWaterMark: 1 << 20 });
    } else src = process.stdin;
    const vs = openForWrite(a);
    const log = (s: string) => {
      if (!a.quiet && !a.json) process.stderr.write(s + '\n');
    };
    try {
      const w = new MirrorWriter(vs, {
        pfsId, createSlave: a.y, confirmCreate: a.y ? undefined : askOnTty(pfsId), force: a.force, dryRun: a['dry-run'], afterRecord: killHook(), maxDirtyBuffers: a['commit-buffers'], keepPartial: a['keep-partial'],
        onBatch: (b) => {
          if (b.how === 'aborted' && w.report.partialKept) log(`mirror-write: batch ${b.index} ended early: its ${b.created} new records are kept, sync-end-tid stays 0x${hex64(w.report.syncEndTid)}; continue with mirror-read --resume`);
          else if (b.how === 'aborted') log(`mirror-write: batch ${b.index} (TIDs 0x${hex64(b.tidBeg)}..0x${hex64(b.tidEnd)}) rolled back; the target stays at sync-end-tid 0x${hex64(w.report.syncEndTid)}`);
          else if (b.how === 'sync') log(`Source can update synctid to 0x${hex64(b.tidEnd)}`);
        },
      });
      const reader = new MirrorStreamReader(w);
      try {
        for await (const chunk of src) reader.push(chunk);
        reader.end();
      } finally {
        w.finish();
      }
      const r = w.report;
      if (a.json) printJson(r);
      else if (!a.quiet) process.stderr.write(`mirror-write: ${describeWriteReport(r)}\n`);
      return 0;
    } finally {
      vs.close();
    }
  }),
};

