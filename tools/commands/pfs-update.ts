/**
 * hammerfs pfs-update / pfs-upgrade / pfs-downgrade / pfs-destroy: change a PFS record
 * (spec/RECORDS.md §6). upgrade rolls a slave back to its sync_end_tid and makes it a master;
 * downgrade makes a master a slave; destroy removes every record of the PFS (asks, or -y).
 */
import type { CommandModule } from 'yargs';
import { withVolumes, run, pfsArg, type CommonArgs } from '../common.js';
import { printJson } from '../output.js';
import { UsageError } from '../../src/errors.js';
import { updatePfs, upgradePfs, downgradePfs, destroyPfs, describePfs, readPfsRecord } from '../../src/mirror/pfs-admin.js';
import { BTree } from '../../src/btree/btree.js';
import { hex64 } from '../../src/ondisk/int64.js';
import { openForWrite, parsePfsFields, confirm, withYes } from './pfs-common.js';

interface Args extends CommonArgs {
  pfs?: number;
  options?: string[];
  y?: boolean;
}

export const pfsUpdateCommand: CommandModule<object, Args> = {
  command: 'pfs-update [options..]',
  describe: 'change fields of a PFS record (label=, snapshots=, snapshots-clear, prune-min=, sync-beg-tid=, sync-end-tid=, shared-uuid=, unique-uuid=)',
  builder: (y) => withVolumes(y).option('pfs', { type: 'number', demandOption: true, describe: 'PFS id' }).positional('options', { type: 'string', array: true }),
  handler: run<Args>((a) => {
    const id = pfsArg(a.pfs);
    const fields = parsePfsFields(a.options ?? []);
    if (Object.keys(fields).length === 0) throw new UsageError('nothing to update: give field=value options', { structure: 'argument', field: 'options' });
    const vs = openForWrite(a);
    try {
      const d = updatePfs(vs, id, fields);
      if (a.json) printJson(describePfs(id, d));
      else process.stdout.write(`PFS#${id} updated\n`);
    } finally {
      vs.close();
    }
  }),
};

export const pfsUpgradeCommand: CommandModule<object, Args> = {
  command: 'pfs-upgrade',
  describe: 'make a slave PFS a master (changes after its sync_end_tid are rolled back)',
  builder: (y) => withVolumes(y).option('pfs', { type: 'number', demandOption: true, describe: 'PFS id' }),
  handler: run<Args>((a) => {
    const id = pfsArg(a.pfs);
    const vs = openForWrite(a);
    try {
      const r = upgradePfs(vs, id);
      if (a.json) printJson({ ...describePfs(id, r.data), rolledBack: r.rollback });
      else process.stdout.write(`pfs-upgrade of PFS#${id} (${r.data.label}) succeeded; ${r.rollback.removed} records removed, ${r.rollback.undeleted} undeleted (rolled back to 0x${hex64(r.data.syncEndTid)})\n`);
    } finally {
      vs.close();
    }
  }),
};

export const pfsDowngradeCommand: CommandModule<object, Args> = {
  command: 'pfs-downgrade',
  describe: 'make a master PFS a slave (it then only changes through mirror-write)',
  builder: (y) => withVolumes(y).option('pfs', { type: 'number', demandOption: true, describe: 'PFS id' }),
  handler: run<Args>((a) => {
    const id = pfsArg(a.pfs);
    const vs = openForWrite(a);
    try {
      const d = downgradePfs(vs, id);
      if (a.json) printJson(describePfs(id, d));
      else process.stdout.write(`pfs-downgrade of PFS#${id} (${d.label}) succeeded; sync-end-tid=0x${hex64(d.syncEndTid)}\n`);
    } finally {
      vs.close();
    }
  }),
};

export const pfsDestroyCommand: CommandModule<object, Args> = {
  command: 'pfs-destroy',
  describe: 'remove every record of a PFS and mark it deleted (asks for confirmation; -y)',
  builder: (y) => withYes(withVolumes(y)).option('pfs', { type: 'number', demandOption: true, describe: 'PFS id' }),
  handler: run<Args>((a) => {
    const id = pfsArg(a.pfs);
    if (id === 0) throw new UsageError('PFS 0 cannot be destroyed', { structure: 'argument', field: 'pfs' });
    const vs = openForWrite(a);
    try {
      const cur = readPfsRecord(new BTree(vs), id);
      confirm(`Destroy PFS#${id}${cur ? ` (${cur.data.label})` : ''} and every file in it?`, a.y);
      const r = destroyPfs(vs, id);
      if (a.json) printJson({ pfs: id, removed: r.removed, commits: r.commits });
      else process.stdout.write(`pfs-destroy of PFS#${id} succeeded: ${r.removed} records removed\n`);
    } finally {
      vs.close();
    }
  }),
};
