/**
 * Every subcommand, in the order `--help` lists them: its name (= its module's file name) and a
 * loader. Modules load lazily so that a command pays only for its own code (and its library
 * layers) at start-up, not for all forty.
 */
import type { CommandModule } from 'yargs';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyCommand = CommandModule<any, any>;

export const commandTable: [name: string, load: () => Promise<AnyCommand>][] = [
  ['info', async () => (await import('./info.js')).infoCommand],
  ['ls', async () => (await import('./ls.js')).lsCommand],
  ['cat', async () => (await import('./cat.js')).catCommand],
  ['stat', async () => (await import('./stat.js')).statCommand],
  ['extract', async () => (await import('./extract.js')).extractCommand],
  ['history', async () => (await import('./history.js')).historyCommand],
  ['snapshots', async () => (await import('./snapshots.js')).snapshotsCommand],
  ['pfs-status', async () => (await import('./pfs-status.js')).pfsStatusCommand],
  ['recover', async () => (await import('./recover.js')).recoverCommand],
  ['probe', async () => (await import('./probe.js')).probeCommand],
  ['timeline', async () => (await import('./timeline.js')).timelineCommand],
  ['newfs', async () => (await import('./newfs.js')).newfsCommand],
  ['show', async () => (await import('./show.js')).showCommand],
  ['blockmap', async () => (await import('./blockmap.js')).blockmapCommand],
  ['checkmap', async () => (await import('./checkmap.js')).checkmapCommand],
  ['verify', async () => (await import('./verify.js')).verifyCommand],
  ['mount', async () => (await import('./mount.js')).mountCommand],
  ['umount', async () => (await import('./umount.js')).umountCommand],
  ['show-undo', async () => (await import('./show-undo.js')).showUndoCommand],
  ['replay-undo', async () => (await import('./replay-undo.js')).replayUndoCommand],
  ['mirror-read', async () => (await import('./mirror-read.js')).mirrorReadCommand],
  ['mirror-dump', async () => (await import('./mirror-dump.js')).mirrorDumpCommand],
  ['mirror-write', async () => (await import('./mirror-write.js')).mirrorWriteCommand],
  ['mirror-copy', async () => (await import('./mirror-copy.js')).mirrorCopyCommand],
  ['pfs-master', async () => (await import('./pfs-master.js')).pfsMasterCommand],
  ['pfs-slave', async () => (await import('./pfs-slave.js')).pfsSlaveCommand],
  ['pfs-update', async () => (await import('./pfs-update.js')).pfsUpdateCommand],
  ['pfs-upgrade', async () => (await import('./pfs-upgrade.js')).pfsUpgradeCommand],
  ['pfs-downgrade', async () => (await import('./pfs-downgrade.js')).pfsDowngradeCommand],
  ['pfs-destroy', async () => (await import('./pfs-destroy.js')).pfsDestroyCommand],
  ['import', async () => (await import('./import.js')).importCommand],
  ['write', async () => (await import('./write.js')).writeCommand],
  ['mkdir', async () => (await import('./mkdir.js')).mkdirCommand],
  ['rm', async () => (await import('./rm.js')).rmCommand],
  ['mv', async () => (await import('./mv.js')).mvCommand],
  ['ln', async () => (await import('./ln.js')).lnCommand],
  ['chmod', async () => (await import('./chmod.js')).chmodCommand],
  ['chown', async () => (await import('./chown.js')).chownCommand],
  ['touch', async () => (await import('./touch.js')).touchCommand],
  ['snapshot', async () => (await import('./snapshot.js')).snapshotCommand],
];

/** Load the named commands (all of them when `names` is undefined), in table order. */
export async function loadCommands(names?: string[]): Promise<AnyCommand[]> {
  const rows = names ? commandTable.filter(([n]) => names.includes(n)) : commandTable;
  return Promise.all(rows.map(([, load]) => load()));
}
