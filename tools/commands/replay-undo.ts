/**
 * hammerfs replay-undo: roll back an interrupted commit (UNDO recovery stage 1) explicitly.
 * Opening any volume set for writing does the same implicitly; this command does only that and
 * reports what it found. Takes the exclusive lock. REDO records are counted, not replayed.
 */
import type { CommandModule } from 'yargs';
import { withVolumes, run, type CommonArgs } from '../common.js';
import { printJson } from '../output.js';
import { UsageError } from '../../src/errors.js';
import { splitVolumeArg } from '../../src/volume/volume-set.js';
import { openVolumeSetForWrite } from '../../src/volume/writable-volume-set.js';
import { recoverUndo } from '../../src/volume/recovery.js';
import { fifoOff } from '../../src/volume/undo-fifo.js';
import { hex64 } from '../../src/ondisk/int64.js';

export const replayUndoCommand: CommandModule<object, CommonArgs> = {
  command: 'replay-undo',
  describe: 'roll back an interrupted commit from the UNDO FIFO (writes; exclusive lock)',
  builder: (y) => withVolumes(y),
  handler: run<CommonArgs>((a) => {
    const paths = splitVolumeArg(a.f ?? []);
    if (paths.length === 0) throw new UsageError('no volumes given (-f VOL[:VOL...])', { structure: 'argument', field: 'f' });
    if (a.lock === false) throw new UsageError('replay-undo writes and always takes the exclusive lock; --no-lock is not allowed', { structure: 'argument', field: 'lock' });
    const vs = openVolumeSetForWrite(paths, { recover: false });
    try {
      const r = recoverUndo(vs);
      if (a.json) {
        printJson({ clean: r.clean, first: fifoOff(r.first), last: fifoOff(r.last), undone: r.undone, bytes: r.bytes, redoRecords: r.redoRecords, redoSyncOffset: r.redoSyncOffset, nextSeq: r.nextSeq });
        return;
      }
      if (r.clean) {
        process.stdout.write(`UNDO FIFO clean at ${hex64(fifoOff(r.first))}: nothing to undo\n`);
        return;
      }
      process.stdout.write(`Rolled back ${hex64(fifoOff(r.first))}..${hex64(fifoOff(r.last))}: ${r.undone} UNDO records, ${r.bytes} bytes restored\n`);
      if (r.redoRecords) process.stdout.write(`${r.redoRecords} REDO records seen (not replayed: needs a kernel mount)\n`);
    } finally {
      vs.close();
    }
  }),
};
