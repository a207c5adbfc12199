/**
 * hammerfs mirror-read: write a PFS as a HAMMER mirror stream (the format of `hammer mirror-read`,
 * readable by `hammer mirror-write` / `mirror-dump` and by hammerfs mirror-dump). Read-only.
 * --estimate: a no-data pass that says how many records and bytes the real run will send.
 */
import * as fs from 'node:fs';
import type { CommandModule } from 'yargs';
import { withVolumes, withPfs, openReadOnly, run, tidArg, pfsArg, type CommonArgs } from '../common.js';
import { printJson, toJson } from '../output.js';
import { BTree } from '../../src/btree/btree.js';
import { UsageError, IoError } from '../../src/errors.js';
import { hex64 } from '../../src/ondisk/int64.js';
import { FdSink, MirrorStreamWriter } from '../../src/mirror/stream-writer.js';
import {
  planMirrorRead, writeMirrorStreamAsync, estimateMirrorRead, DEFAULT_BATCH_BYTES, ResumeTracker, type MirrorReadProgress,
} from '../../src/mirror/mirror-read.js';
import { decodeResumeToken, encodeResumeToken, planResume, tokenFromPoint } from '../../src/mirror/resume.js';
import { ProgressLine, humanBytes } from '../progress.js';

interface Args extends CommonArgs {
  pfs?: number;
  since?: string;
  until?: string;
  resume?: string;
  nodata?: boolean;
  o?: string;
  estimate?: boolean;
  'batch-bytes'?: string;
}

/** "268435456", "256M", "4g", "512k" → bytes. */
export function parseSize(v: string, name: string): number {
  const m = /^(\d+)([kmgt]i?b?)?$/i.exec(v.trim());
  if (!m) throw new UsageError(`--${name} takes a byte count like 268435456, 512k, 256M or 4G; got "${v}"`, { structure: 'argument', field: name });
  const mult = m[2] ? 1024 ** ('kmgt'.indexOf(m[2][0].toLowerCase()) + 1) : 1;
  const n = Number(m[1]) * mult;
  if (!Number.isSafeInteger(n)) throw new UsageError(`--${name} ${v} is too large`, { structure: 'argument', field: name });
  return n;
}


/** Progress of a mirror-read on a TTY: payload bytes against the prescan total, batches. */
function progressBar(total: number): { update: (p: MirrorReadProgress) => void; done: () => void } {
  const line = new ProgressLine(true, 'mirror-read');
  return {
    update: (p) => line.update({ done: p.payloadBytes, total: total > 0 ? total : undefined, bytes: true, extra: `batch ${p.batch}/${p.batches}`, force: p.batch >= p.batches }),
    done: () => line.done(),
  };
}

export const mirrorReadCommand: CommandModule<object, Args> = {
  command: 'mirror-read',
  describe: 'write a PFS as a mirror stream (PFSD, PFSD, records, SYNC per batch; TERM) to -o FILE or a pipe',
  builder: (y) =>
    withPfs(withVolumes(y))
      .option('since', { type: 'string', describe: 'send changes with TID >= this (0x<hex> or decimal); default: the PFS sync_beg_tid' })
      .option('until', { type: 'string', describe: 'send changes up to this TID (inclusive; default: the last committed TID); the stream then brings a slave to that TID' })
      .option('resume', { type: 'string', requiresArg: true, describe: 'continue an interrupted transfer from the token it printed (the target must have kept the partial batch: mirror-write --keep-partial)' })
      .option('nodata', { type: 'boolean', default: false, describe: 'REC records without payload (flagged NODATA): for inspection, cannot be applied' })
      .option('o', { type: 'string', requiresArg: true, describe: 'write the stream to FILE (default: stdout, which must not be a terminal)' })
      .option('estimate', { type: 'boolean', default: false, describe: 'only report the records and bytes the real run would send (fast, reads no data)' })
      .option('batch-bytes', { type: 'string', describe: `split into batches of about this size, each ending in SYNC (0 = one batch; default ${DEFAULT_BATCH_BYTES / 1048576}M)` }),
  handler: run<Args>(async (a) => {
    const since = tidArg(a.since, 'since');
    const until = tidArg(a.until, 'until');
    const token = a.resume !== undefined ? decodeResumeToken(a.resume) : undefined;
    // with --resume the token names the PFS; an explicit --pfs must agree with it
    const pfsId = token && (a.pfs ?? 0) === 0 ? token.pfsId : pfsArg(a.pfs);
    const batchBytes = a['batch-bytes'] !== undefined ? parseSize(a['batch-bytes'], 'batch-bytes') : DEFAULT_BATCH_BYTES;
    const toStdout = !a.estimate && a.o === undefined;
    if (toStdout && process.stdout.isTTY) {
      throw new UsageError('refusing to write a binary mirror stream to a terminal; use -o FILE or a pipe', { structure: 'argument', field: 'o' });
    }
    const vs = openReadOnly(a, { warnings: !a.json });
    try {
      const ctx = { vs, tree: new BTree(vs) };
      const showProgress = !a.estimate && !a.quiet && process.stderr.isTTY === true;
      if (token && since !== undefined) throw new UsageError('--resume and --since exclude each other (the token holds the window)', { structure: 'argument', field: 'resume' });
      const plan = token
        ? planResume(ctx, token, { pfsId, batchBytes, until })
        : planMirrorRead(ctx, { pfsId, since, until, batchBytes, prescan: showProgress });
      const head = {
        pfs: pfsId, mode: plan.source.slave ? 'slave' : 'master', tidBeg: plan.tidBeg, tidEnd: plan.tidEnd,
        batches: plan.batches.map((b) => ({ tidBeg: b.tidBeg, tidEnd: b.tidEnd, idle: b.idle })),
      };
      if (a.estimate) {
        const t0 = process.hrtime.bigint();
        const e = estimateMirrorRead(ctx, plan, { nodata: a.nodata });
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        if (a.json) {
          printJson({ ...head, records: e.rec + e.pass + e.skip, rec: e.rec, pass: e.pass, skip: e.skip, bytes: e.bytes, payloadBytes: e.payloadBytes, nodesRead: ctx.tree.nodesRead, estimateMs: Math.round(ms) });
        } else {
          process.stdout.write(
            `PFS ${pfsId} (${head.mode}), TIDs 0x${hex64(plan.tidBeg)}..0x${hex64(plan.tidEnd)}, ${e.batches} batch${e.batches === 1 ? '' : 'es'}\n` +
              `${e.rec} REC, ${e.pass} PASS, ${e.skip} SKIP records; ${e.bytes} bytes (${humanBytes(e.bytes)}), payload ${e.payloadBytes} bytes\n`,
          );
        }
        return;
      }
      let fd = 1;
      let name = 'stdout';
      if (a.o !== undefined) {
        name = a.o;
        try {
          fd = fs.openSync(a.o, 'w', 0o644);
        } catch (e) {
          throw new IoError(`cannot create stream file: ${(e as Error).message}`, { structure: 'mirror stream output', path: a.o }, { cause: e });
        }
      }
      const bar = showProgress ? progressBar(plan.prescan?.payloadBytes ?? 0) : undefined;
      let rep;
      let interruptedBy: string | undefined;
      // Track what has reached the output (flushed after every call of at most 1 MiB) so that an
      // interrupted transfer can say where to resume.
      const tracker = new ResumeTracker();
      try {
        const w = new MirrorStreamWriter(new FdSink(fd, name));
        // SIGINT / SIGTERM end the transfer between two calls, with a resume token
        let signalled: string | undefined;
        const onSig = (sig: string) => () => {
          signalled = sig;
        };
        const sigint = onSig('SIGINT');
        const sigterm = onSig('SIGTERM');
        process.on('SIGINT', sigint);
        process.on('SIGTERM', sigterm);
        try {
          rep = await writeMirrorStreamAsync(ctx, plan, w, {
            nodata: a.nodata, progress: bar?.update, resume: a.nodata ? undefined : tracker,
            callBytes: a.nodata ? undefined : 1 << 20, startKey: token?.key,
            stop: () => signalled,
            interrupted: (why) => {
              interruptedBy = why;
              return new IoError(`interrupted by ${why}`, { structure: 'mirror stream output', path: name });
            },
          });
        } finally {
          process.off('SIGINT', sigint);
          process.off('SIGTERM', sigterm);
        }
      } catch (e) {
        // A file holds what was written; a pipe may have lost up to its buffer (<= 1 MiB).
        const point = a.nodata ? undefined : tracker.pick(fd === 1 && !fs.fstatSync(1).isFile() ? 1 << 20 : 0);
        if (point) {
          const t = encodeResumeToken(tokenFromPoint(plan.pfsId, plan.source.pfsd.subarray(40, 56), point));
          process.stderr.write(`hammerfs: mirror-read interrupted in TIDs 0x${hex64(point.tidBeg)}..0x${hex64(point.tidEnd)}; to continue (target written with mirror-write --keep-partial): --resume ${t}\n`);
        }
        if (interruptedBy) {
          // a signal is not an error of the media or the stream: the shell's 128 + signal code
          process.stderr.write(`hammerfs: mirror-read: interrupted by ${interruptedBy}\n`);
          return interruptedBy === 'SIGINT' ? 130 : 143;
        }
        throw e;
      } finally {
        bar?.done();
        if (fd !== 1) fs.closeSync(fd);
      }
      const summary = { ...head, rec: rep.rec, pass: rep.pass, skip: rep.skip, crcErrors: rep.crcErrors, bytes: rep.bytes, payloadBytes: rep.payloadBytes, nodesRead: ctx.tree.nodesRead };
      if (a.json) {
        // stdout may be the stream itself: then the summary goes to stderr
        if (toStdout) process.stderr.write(toJson(summary) + '\n');
        else printJson(summary);
      } else if (!a.quiet) {
        process.stderr.write(
          `mirror-read: PFS ${pfsId} (${head.mode}) TIDs 0x${hex64(plan.tidBeg)}..0x${hex64(plan.tidEnd)}: ${rep.batches} batch${rep.batches === 1 ? '' : 'es'}, ` +
            `${rep.rec} REC, ${rep.pass} PASS, ${rep.skip} SKIP, ${rep.bytes} bytes${rep.crcErrors ? `, ${rep.crcErrors} records with bad data CRC sent flagged` : ''}\n`,
        );
      }
    } finally {
      vs.close();
    }
  }),
};
