// Every subcommand module, in the order `--help` lists them. One line per command.
import type { CommandModule } from 'yargs';
import { infoCommand } from './info.js';
import { lsCommand } from './ls.js';
import { catCommand } from './cat.js';
import { statCommand } from './stat.js';
import { extractCommand } from './extract.js';
import { historyCommand } from './history.js';
import { snapshotsCommand } from './snapshots.js';
import { pfsStatusCommand } from './pfs-status.js';
import { recoverCommand } from './recover.js';
import { probeCommand } from './probe.js';
import { timelineCommand } from './timeline.js';
import { newfsCommand } from './newfs.js';
import { showCommand } from './show.js';
import { blockmapCommand } from './blockmap.js';
import { checkmapCommand } from './checkmap.js';
import { verifyCommand } from './verify.js';
import { mountCommand } from './mount.js';
import { umountCommand } from './umount.js';
import { showUndoCommand } from './show-undo.js';
import { replayUndoCommand } from './replay-undo.js';
import { mirrorReadCommand } from './mirror-read.js';
import { mirrorDumpCommand } from './mirror-dump.js';
import { mirrorWriteCommand } from './mirror-write.js';
import { mirrorCopyCommand } from './mirror-copy.js';
import { pfsMasterCommand } from './pfs-master.js';
import { pfsSlaveCommand } from './pfs-slave.js';
import { pfsUpdateCommand } from './pfs-update.js';
import { pfsUpgradeCommand } from './pfs-upgrade.js';
import { pfsDowngradeCommand } from './pfs-downgrade.js';
import { pfsDestroyCommand } from './pfs-destroy.js';
import { importCommand } from './import.js';
import { writeCommand } from './write.js';
import { mkdirCommand } from './mkdir.js';
import { rmCommand } from './rm.js';
import { mvCommand } from './mv.js';
import { lnCommand } from './ln.js';
import { chmodCommand } from './chmod.js';
import { chownCommand } from './chown.js';
import { touchCommand } from './touch.js';
import { snapshotCommand } from './snapshot.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commands: CommandModule<any, any>[] = [
  infoCommand,
  lsCommand,
  catCommand,
  statCommand,
  extractCommand,
  historyCommand,
  snapshotsCommand,
  pfsStatusCommand,
  recoverCommand,
  probeCommand,
  timelineCommand,
  newfsCommand,
  showCommand,
  blockmapCommand,
  checkmapCommand,
  verifyCommand,
  mountCommand,
  umountCommand,
  showUndoCommand,
  replayUndoCommand,
  mirrorReadCommand,
  mirrorDumpCommand,
  mirrorWriteCommand,
  mirrorCopyCommand,
  pfsMasterCommand,
  pfsSlaveCommand,
  pfsUpdateCommand,
  pfsUpgradeCommand,
  pfsDowngradeCommand,
  pfsDestroyCommand,
  importCommand,
  writeCommand,
  mkdirCommand,
  rmCommand,
  mvCommand,
  lnCommand,
  chmodCommand,
  chownCommand,
  touchCommand,
  snapshotCommand,
];
