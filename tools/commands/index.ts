// Every subcommand module, in the order `--help` lists them. One line per command.
import type { CommandModule } from 'yargs';
import { infoCommand } from './info.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commands: CommandModule<any, any>[] = [
  infoCommand,
];
