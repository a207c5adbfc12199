/**
 * hammerfs replay-undo: run crash recovery explicitly and report it — stage 1 rolls an
 * interrupted commit back from the UNDO records, stage 2 re-executes fsync'ed writes a kernel
 * logged as REDO records (src/fs/write/redo.ts) and closes the FIFO. Opening any volume set for
 * writing does the same implicitly; read-only commands never do (they warn instead). Takes the
 * exclusive lock.
 */
import type { CommandModule } from 'yargs';
import { withVolumes, run, type CommonArgs } from '../common.js';
import { printJson, warn } from '../output.js';
import { UsageError } from '../../src/errors.js';
import { splitVolumeArg } from '../../src/volume/volume-set.js';
import { openVolumeSetForWrite } from '../../src/volume/writable-volume-set.js';
import { recoverUndo } from '../../src/volume/recovery.js';
import { fifoOff } from '../../src/volume/undo-fifo.js';
import { hex64 } from '../../src/ondisk/int64.js';
// loading the REDO stage plugs it into recoverUndo()
import '../../src/fs/write/redo.js';

export const replayUndoCommand: CommandModule<object, CommonArgs> = {
  command: 'replay-undo',
  describe: 'crash recovery: roll back an interrupted commit (UNDO) and replay fsync\'ed writes (REDO); writes, exclusive lock',
  builder: (y) => withVolumes(y),
  handler: run<CommonArgs>((a) => {
    const paths = splitVolumeArg(a.f ?? []);
    if (paths.length === 0) throw new UsageError('no volumes given (-f VOL[:VOL...])', { structure: 'argument', field: 'f' });
    if (a.lock === false) throw new UsageError('replay-undo writes and always takes the exclusive lock; --no-lock is not allowed', { structure: 'argument', field: 'lock' });
    const vs = openVolumeSetForWrite(paths, { recover: false });
    try {
      const r = recoverUndo(vs);
      const redo = r.redo;
      if (a.json) {
        printJson({
          clean: r.clean, first: fifoOff(r.first), last: fifoOff(r.last), undone: r.undone, bytes: r.bytes,
          redoRecords: r.redoRecords, redoSyncOffset: r.redoSyncOffset, nextSeq: r.nextSeq, redo,
        });
        return;
      }
      if (r.clean) {
        process.stdout.write(`UNDO FIFO clean at ${hex64(fifoOff(r.first))}: nothing to undo\n`);
        return;
      }
      process.stdout.write(`Rolled back ${hex64(fifoOff(r.first))}..${hex64(fifoOff(r.last))}: ${r.undone} UNDO records, ${r.bytes} bytes restored\n`);
      if (!r.redoRecords) return;
      if (!redo) {
        process.stdout.write(`${r.redoRecords} REDO records seen (not replayed)\n`);
        return;
      }
      if (!a.quiet) for (const m of redo.warnings) warn(m);
      if (redo.aborted) {
        process.stdout.write(`REDO not replayed: ${redo.aborted}\n`);
        return;
      }
      if (redo.extOffset === null) {
        process.stdout.write(`${r.redoRecords} REDO records but no REDO SYNC: nothing to replay\n`);
        return;
      }
      const from = redo.extended ? `from ${hex64(redo.extOffset)} (${redo.extBytes} bytes before the UNDO range, ${redo.termsCollected} TERM records)` : `from ${hex64(redo.extOffset)}`;
      process.stdout.write(`REDO ${from}: ${redo.replayed} replayed (${redo.bytesWritten} bytes written), ${redo.skipped} already committed, ${redo.failed} failed; ${redo.writes} WRITE, ${redo.truncs} TRUNC records\n`);
    } finally {
      vs.close();
    }
  }),
};
