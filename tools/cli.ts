#!/usr/bin/env node
/**
 * hammerfs — DragonFly HAMMER volumes on Linux. A thin yargs layer: each command lives in
 * tools/commands/NAME.ts and is registered here.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { commands } from './commands/index.js';
import { EXIT_BAD_INPUT } from './exit.js';

const argv = yargs(hideBin(process.argv))
  .scriptName('hammerfs')
  .usage('$0 <command> -f VOL[:VOL...] [options]')
  .strict()
  .demandCommand(1, 'name a command (hammerfs --help lists them)')
  .recommendCommands()
  .help()
  .alias('h', 'help')
  .version()
  .wrap(Math.min(110, process.stdout.columns || 100))
  .fail((msg, err, y) => {
    if (err) throw err;
    process.stderr.write(`hammerfs: ${msg}\n`);
    process.stderr.write(`Run "hammerfs --help" for usage.\n`);
    void y;
    process.exit(EXIT_BAD_INPUT);
  });
for (const c of commands) argv.command(c as never);
await argv.parseAsync();
