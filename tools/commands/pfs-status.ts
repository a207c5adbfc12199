/** hammerfs pfs-status: every PFS with its mode, UUIDs, sync TIDs and label (hammer(8) pfs-status). */
import type { CommandModule } from 'yargs';
import { withVolumes, openReadOnly, run, type CommonArgs } from '../common.js';
import { Output, printJson } from '../output.js';
import { HammerFs } from '../../src/fs/index.js';
import { hex64 } from '../../src/ondisk/int64.js';

export const pfsStatusCommand: CommandModule<object, CommonArgs> = {
  command: 'pfs-status',
  describe: 'every PFS: id, master/slave, shared and unique UUIDs, sync_beg_tid, sync_end_tid, label',
  builder: (y) => withVolumes(y) as never,
  handler: run<CommonArgs>((a) => {
    const vs = openReadOnly(a, { warnings: !a.json });
    try {
      const list = HammerFs.open(vs).listPfs();
      if (a.json) {
        printJson({
          pfs: list.map((p) => ({
            id: p.id, mode: p.slave ? 'slave' : 'master', deleted: p.deleted, shared_uuid: p.sharedUuid, unique_uuid: p.uniqueUuid,
            sync_beg_tid: p.syncBegTid, sync_end_tid: p.syncEndTid, mirror_flags: p.mirrorFlags, label: p.label, record_tid: p.recordTid,
          })),
        });
        return;
      }
      const o = new Output();
      for (const p of list) {
        o.line(`PFS #${p.id} {`);
        o.line(`    sync-beg-tid=0x${hex64(p.syncBegTid)}`);
        o.line(`    sync-end-tid=0x${hex64(p.syncEndTid)}`);
        o.line(`    shared-uuid=${p.sharedUuid}`);
        o.line(`    unique-uuid=${p.uniqueUuid}`);
        o.line(`    label=${JSON.stringify(p.label)}`);
        o.line(`    operating mode: ${p.slave ? 'SLAVE' : 'MASTER'}${p.deleted ? ' (deleted)' : ''}`);
        o.line('}');
      }
      o.flush();
    } finally {
      vs.close();
    }
  }),
};
