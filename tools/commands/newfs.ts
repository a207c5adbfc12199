/**
 * hammerfs newfs -L LABEL [-V VERSION] [-u UNDOSIZE] [-b BOOTSIZE] [-m MEMLOGSIZE] [--force]
 *                [--fsid UUID] [--time MICROSECONDS] [--size SIZE[:SIZE...]] -f VOL[:VOL...]
 *
 * DragonFly's newfs_hammer, byte for byte (src/volume/newfs.ts). Differences in the command
 * line: -f names the volumes (as everywhere in hammerfs), --force is newfs_hammer's -f;
 * a filesystem below 10 GB is only a warning; a volume that already holds HAMMER is refused
 * without --force (newfs_hammer overwrites silently). --fsid / --time pin the two inputs
 * newfs_hammer takes from the machine (random fsid, clock), for reproducible images.
 * --size creates missing image files (sparse) or extends smaller ones; it never shrinks.
 */
import * as fs from 'node:fs';
import type { CommandModule } from 'yargs';
import { run, type CommonArgs } from '../common.js';
import { printJson, warn } from '../output.js';
import { UsageError } from '../../src/errors.js';
import { splitVolumeArg } from '../../src/volume/volume-set.js';
import { newfsPaths, newfsReport, parseSize, type NewfsOptions } from '../../src/volume/newfs.js';
import { uuidFromString } from '../../src/ondisk/uuid.js';
import { parseU64 } from '../../src/ondisk/int64.js';

interface NewfsArgs extends CommonArgs {
  L?: string;
  V?: string;
  u?: string;
  b?: string;
  m?: string;
  force?: boolean;
  fsid?: string;
  time?: string;
  size?: string;
}

const arg = (field: string) => ({ structure: 'argument', field });

function sizeOpt(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = parseSize(v);
  if (typeof n === 'string') throw new UsageError(`-${flag}: ${n}`, arg(flag));
  return n;
}

/** --fsid: the text form hammer(8) prints, or the 16 raw bytes as 32 hex digits. */
function fsidOpt(v: string | undefined): Uint8Array | undefined {
  if (v === undefined) return undefined;
  const t = v.trim();
  if (/^[0-9a-f]{32}$/i.test(t)) return Uint8Array.from(Buffer.from(t, 'hex'));
  const u = uuidFromString(t);
  if (!u) throw new UsageError(`--fsid takes a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx) or 32 hex digits, got "${v}"`, arg('fsid'));
  return u;
}

/** Create or extend image files to --size before formatting (block devices have their own size). */
function applySizes(paths: string[], spec: string): void {
  const parts = spec.split(':');
  if (parts.length !== 1 && parts.length !== paths.length) {
    throw new UsageError(`--size takes one size or one per volume (${paths.length}), got ${parts.length}`, arg('size'));
  }
  paths.forEach((p, i) => {
    const size = sizeOpt(parts.length === 1 ? parts[0] : parts[i], '-size')!;
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(p);
    } catch {
      st = undefined;
    }
    if (st && !st.isFile()) throw new UsageError('--size applies to image files only', { structure: 'volume', path: p });
    if (st && st.size > size) throw new UsageError(`file is larger (${st.size} bytes) than --size ${size}; refusing to shrink it`, { structure: 'volume', path: p });
    if (!st) fs.writeFileSync(p, new Uint8Array(0), { flag: 'wx' });
    if (!st || st.size < size) fs.truncateSync(p, size);
  });
}

export const newfsCommand: CommandModule<object, NewfsArgs> = {
  command: 'newfs',
  describe: 'make a HAMMER filesystem on one or more volumes (byte-identical to newfs_hammer)',
  builder: (y) =>
    y
      .option('f', { type: 'string', array: true, describe: 'volumes to format, VOL[:VOL...] (volume 0 first)', demandOption: true, requiresArg: true })
      .option('L', { type: 'string', describe: 'filesystem label (required)', requiresArg: true })
      .option('V', { type: 'string', describe: 'HAMMER version 1..7 (default 7)', requiresArg: true })
      .option('u', { type: 'string', describe: 'UNDO/REDO FIFO size, e.g. 512m (default max(512m, 0.1% of volume 0), at most 1g; below 512m needs --force)', requiresArg: true })
      .option('b', { type: 'string', describe: 'boot area size (default 32k)', requiresArg: true })
      .option('m', { type: 'string', describe: 'memory log size (default 256k)', requiresArg: true })
      .option('force', { type: 'boolean', default: false, describe: 'overwrite volumes that hold HAMMER; allow sizes below the minimums' })
      .option('fsid', { type: 'string', describe: 'filesystem id (UUID as hammer prints it, or 32 hex digits of raw bytes) instead of a random one', requiresArg: true })
      .option('time', { type: 'string', describe: 'clock in microseconds since the epoch (decimal or 0x hex) instead of now', requiresArg: true })
      .option('size', { type: 'string', describe: 'create missing image files / extend smaller ones to SIZE[:SIZE...] (never shrinks)', requiresArg: true })
      .option('json', { type: 'boolean', default: false, describe: 'machine-readable result (64-bit values as "0x%016x" strings)' })
      .option('debug', { type: 'boolean', default: false, describe: 'stack traces on errors' })
      .option('quiet', { type: 'boolean', default: false, describe: 'no summary (warnings and errors still go to stderr)' }) as never,
  handler: run<NewfsArgs>((a) => {
    const paths = splitVolumeArg(a.f ?? []);
    if (paths.length === 0) throw new UsageError('no volumes given (-f VOL[:VOL...])', arg('f'));
    if (a.L === undefined || a.L === '') throw new UsageError('a filesystem label must be given (-L LABEL)', arg('L'));
    let version: number | undefined;
    if (a.V !== undefined) {
      if (!/^[0-9]+$/.test(a.V.trim())) throw new UsageError(`-V takes a HAMMER version 1..7, got "${a.V}"`, arg('V'));
      version = Number(a.V.trim());
      if (version < 1 || version > 7) throw new UsageError(`cannot format HAMMER version ${version} (1..7)`, arg('V'));
    }
    let timeUs: bigint | undefined;
    if (a.time !== undefined) {
      timeUs = parseU64(a.time);
      if (timeUs === undefined) throw new UsageError(`--time takes microseconds (decimal or 0x hex), got "${a.time}"`, arg('time'));
    }
    const o: NewfsOptions = {
      label: a.L, version, undoSize: sizeOpt(a.u, 'u'), bootSize: sizeOpt(a.b, 'b'), memlogSize: sizeOpt(a.m, 'm'),
      force: a.force === true, fsid: fsidOpt(a.fsid), timeUs,
    };
    if (a.size !== undefined) applySizes(paths, a.size);
    else for (const p of paths) if (!fs.existsSync(p)) throw new UsageError('no such file or device (--size SIZE creates an image file)', { structure: 'volume', path: p });

    const r = newfsPaths(paths, o);
    for (const w of r.warnings) warn(w);
    if (a.json) {
      printJson({
        version: r.version, label: r.label, fsid: r.fsidText, fsidRaw: Buffer.from(r.fsid).toString('hex'),
        timeUs: r.timeUs, createTs: r.createTs,
        volumes: r.volumes.map((v) => ({
          volNo: v.volNo, path: v.path, type: v.type, size: v.size, botBeg: v.botBeg, memBeg: v.memBeg, bufBeg: v.bufBeg,
          bufEnd: v.bufEnd, bigBlocks: v.bigBlocks, freeBigBlocks: v.freeBigBlocks,
        })),
        totalSize: r.totalSize, bootAreaSize: r.bootAreaSize, memoryLogSize: r.memoryLogSize, undoSize: r.undoSize,
        totalPreallocated: r.totalPreallocated, bigBlocks: Number(r.bigBlocks), freeBigBlocks: Number(r.freeBigBlocks),
        nextTid: r.nextTid, btreeRoot: r.btreeRoot, inodeOffset: r.inodeOffset, pfsOffset: r.pfsOffset, warnings: r.warnings,
      });
      return;
    }
    if (!a.quiet) process.stdout.write(newfsReport(r).join('\n') + '\n');
  }),
};
