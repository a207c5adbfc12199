#!/usr/bin/env node
/**
 * hammerfs — DragonFly HAMMER volumes on Linux. A thin yargs layer: each command lives in
 * tools/commands/NAME.ts and is listed in tools/commands/index.ts.
 *
 * Start-up: when the first word names a command and no help is asked for, only that command's
 * module is loaded (the others are not needed to parse its arguments); `--help`, a bare
 * `hammerfs` or an unknown word load every command so yargs can list them or suggest one.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { commandTable, loadCommands } from './commands/index.js';
import { EXIT_BAD_INPUT } from './exit.js';

const args = hideBin(process.argv);
const first = args.find((a) => !a.startsWith('-'));
const wantsHelp = args.some((a) => a === '--help' || a === '-h');
const known = first !== undefined && commandTable.some(([n]) => n === first);
const commands = await loadCommands(known && !wantsHelp ? [first] : undefined);

const argv = yargs(args)
  .scriptName('hammerfs')
  .usage('$0 <command> -f VOL[:VOL...] [options]')
  .strict()
  .demandCommand(1, 'name a command (hammerfs --help lists them)')
  .recommendCommands()
  .help()
  .alias('h', 'help')
  .version()
  .wrap(Math.min(110, process.stdout.columns || 100))
  .fail((msg, err) => {
    if (err) throw err;
    process.stderr.write(`hammerfs: ${msg}\n`);
    process.stderr.write(`Run "hammerfs --help" for usage.\n`);
    process.exit(EXIT_BAD_INPUT);
  });
for (const c of commands) argv.command(c);
await argv.parseAsync();
