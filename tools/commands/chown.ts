/** hammerfs chown -f VOL UID[:GID] PATH...: numeric owner/group; a new inode version each. */
import type { CommandModule } from 'yargs';
import { run } from '../common.js';
import { UsageError } from '../../src/errors.js';
import { writeOptions, withWriter, report, type WriteCommonArgs } from './write.js';

interface ChownArgs extends WriteCommonArgs {
  owner: string;
  paths: string[];
}

function id(v: string, field: string): number | undefined {
  if (v === '') return undefined;
  if (!/^\d+$/.test(v) || Number(v) > 0xffffffff) throw new UsageError(`${field} must be a number 0..4294967295 (names are not looked up), got "${v}"`, { structure: 'argument', field });
  return Number(v);
}

export const chownCommand: CommandModule<object, ChownArgs> = {
  command: 'chown <owner> <paths..>',
  describe: 'change numeric owner (UID[:GID] or :GID) in a master PFS',
  builder: (y) =>
    writeOptions(y)
      .positional('owner', { type: 'string', demandOption: true, describe: 'UID, UID:GID or :GID (numbers)' })
      .positional('paths', { type: 'string', array: true, demandOption: true }) as never,
  handler: run<ChownArgs>((a) =>
    withWriter(a, (w) => {
      const [u, g = ''] = String(a.owner).split(':');
      const uid = id(u, 'uid');
      const gid = id(g, 'gid');
      if (uid === undefined && gid === undefined) throw new UsageError('give UID, UID:GID or :GID', { structure: 'argument', field: 'owner' });
      for (const p of a.paths) w.setattr(p, { uid, gid });
      report(a, w, 'chown', { paths: a.paths, uid: uid ?? null, gid: gid ?? null });
    }),
  ),
};
