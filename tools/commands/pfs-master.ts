/**
 * hammerfs pfs-master / pfs-slave: create a PFS (its PFS record; a master also gets its root
 * directory). `hammer pfs-master <path> [options]` on the media: options are hammer's
 * field=value list (label=..., shared-uuid=... for a slave, ...).
 */
import type { CommandModule } from 'yargs';
import { withVolumes, run, pfsArg, type CommonArgs } from '../common.js';
import { printJson } from '../output.js';
import { UsageError } from '../../src/errors.js';
import { createPfs, describePfs } from '../../src/mirror/pfs-admin.js';
import { uuidToString } from '../../src/ondisk/uuid.js';
import { hex64 } from '../../src/ondisk/int64.js';
import { openForWrite, parsePfsFields } from './pfs-common.js';

interface Args extends CommonArgs {
  pfs?: number;
  options?: string[];
}

function makeCommand(slave: boolean): CommandModule<object, Args> {
  const name = slave ? 'pfs-slave' : 'pfs-master';
  return {
    command: `${name} [options..]`,
    describe: slave ? 'create a slave PFS (options: shared-uuid=UUID of its master, label=...)' : 'create a master PFS with an empty root directory (options: label=..., ...)',
    builder: (y) =>
      withVolumes(y)
        .option('pfs', { type: 'number', demandOption: true, describe: 'id of the new PFS (1..65535)' })
        .positional('options', { type: 'string', array: true, describe: 'field=value: label, shared-uuid, unique-uuid, sync-beg-tid, sync-end-tid, snapshots, prune-min' }),
    handler: run<Args>((a) => {
      const id = pfsArg(a.pfs);
      if (id === 0) throw new UsageError('PFS 0 always exists (the root PFS)', { structure: 'argument', field: 'pfs' });
      const fields = parsePfsFields(a.options ?? []);
      if (slave && !fields.sharedUuid && !a.quiet) {
        process.stderr.write('hammerfs: note: no shared-uuid= given: the slave gets a random one; mirror-write will refuse streams until it matches the master (or create the slave with mirror-write -y)\n');
      }
      const vs = openForWrite(a);
      try {
        const r = createPfs(vs, id, { slave, sharedUuid: fields.sharedUuid, label: fields.label, fields });
        if (a.json) printJson({ ...describePfs(id, r.data), createTid: r.tid, rootInode: r.rootInodeCreated });
        else {
          process.stdout.write(
            `PFS#${id} created as a ${slave ? 'slave' : 'master'} (create tid 0x${hex64(r.tid)})\n` +
              `    sync-beg-tid=0x${hex64(r.data.syncBegTid)}\n    sync-end-tid=0x${hex64(r.data.syncEndTid)}\n` +
              `    shared-uuid=${uuidToString(r.data.sharedUuid)}\n    unique-uuid=${uuidToString(r.data.uniqueUuid)}\n` +
              `    label="${r.data.label}"\n` + (slave ? '    operating as a SLAVE\n' : '    operating as a MASTER\n'),
          );
        }
      } finally {
        vs.close();
      }
    }),
  };
}

export const pfsMasterCommand = makeCommand(false);
export const pfsSlaveCommand = makeCommand(true);
