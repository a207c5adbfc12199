/**
 * Options every command shares (../shared/CLI.md) and the handler wrapper that maps errors to
 * exit codes. Commands: `export const cmd: CommandModule<{}, Args>` in tools/commands/NAME.ts,
 * registered in tools/cli.ts.
 */
import type { Argv } from 'yargs';
import { openVolumeSet, splitVolumeArg, type VolumeSet } from '../src/volume/volume-set.js';
import { parseU64 } from '../src/ondisk/int64.js';
import { UsageError } from '../src/errors.js';
import { reportError } from './exit.js';
import { warn } from './output.js';

export interface CommonArgs {
  f?: string[];
  json?: boolean;
  debug?: boolean;
  quiet?: boolean;
  lock?: boolean; // --no-lock sets false
}

/** -f VOL[:VOL...] (repeatable), --json, --no-lock, --debug, --quiet. */
export function withVolumes<T>(y: Argv<T>, o: { json?: boolean } = {}) {
  let r = y
    .option('f', { type: 'string', array: true, nargs: 1, describe: 'volumes of the filesystem, VOL[:VOL...]', demandOption: true, requiresArg: true })
    .option('lock', { type: 'boolean', default: true, describe: 'take a shared lock on the volumes (--no-lock: look at media another process holds; read-only commands only)' })
    .option('debug', { type: 'boolean', default: false, describe: 'stack traces on errors' })
    .option('quiet', { type: 'boolean', default: false, describe: 'no progress output' });
  if (o.json !== false) r = r.option('json', { type: 'boolean', default: false, describe: 'machine-readable output (64-bit values as "0x%016x" strings)' }) as typeof r;
  return r;
}
export function withPfs<T>(y: Argv<T>) {
  return y.option('pfs', { type: 'number', default: 0, describe: 'PFS id (0 = root PFS)' });
}
export function withAsof<T>(y: Argv<T>) {
  return y.option('asof', { type: 'string', describe: 'view as of this TID (0x<hex> or decimal)' });
}

/** Parse a TID option value; UsageError names the option. */
export function tidArg(v: string | undefined, name: string): bigint | undefined {
  if (v === undefined) return undefined;
  const t = parseU64(v);
  if (t === undefined) throw new UsageError(`--${name} takes 0x<hex> or a decimal TID, got "${v}"`, { structure: 'argument', field: name });
  return t;
}
export function pfsArg(v: number | undefined): number {
  const p = v ?? 0;
  if (!Number.isInteger(p) || p < 0 || p > 65535) throw new UsageError(`--pfs takes 0..65535, got ${v}`, { structure: 'argument', field: 'pfs' });
  return p;
}

/** Open the -f volumes read-only; prints the set's warnings unless --json/--quiet. */
export function openReadOnly(a: CommonArgs, o: { warnings?: boolean } = {}): VolumeSet {
  const paths = splitVolumeArg(a.f ?? []);
  if (paths.length === 0) throw new UsageError('no volumes given (-f VOL[:VOL...])', { structure: 'argument', field: 'f' });
  const vs = openVolumeSet(paths, { lock: a.lock === false ? 'none' : 'shared' });
  if (o.warnings !== false && !a.quiet) for (const w of vs.warnings) warn(w.message, w.where);
  return vs;
}

/** Wrap a handler: errors become "hammerfs: ..." on stderr and an exit code. */
export function run<A extends CommonArgs>(fn: (a: A) => number | void | Promise<number | void>) {
  return async (a: A): Promise<void> => {
    try {
      const code = await fn(a);
      if (typeof code === 'number' && code !== 0) process.exitCode = code;
    } catch (e) {
      reportError(e, a.debug);
    }
  };
}
