/**
 * Shared by the pfs-* commands, mirror-write and mirror-copy: open the -f volumes for writing,
 * parse hammer(8)-style `field=value` PFS options, and the confirmation rule of ../shared/CLI.md
 * (-y answers yes; without -y a TTY on stdin is asked; otherwise the command fails and names -y).
 */
import * as fs from 'node:fs';
import type { Argv } from 'yargs';
import { UsageError } from '../../src/errors.js';
import { splitVolumeArg } from '../../src/volume/volume-set.js';
import { openVolumeSetForWrite, type WritableVolumeSet } from '../../src/volume/writable-volume-set.js';
import { uuidFromString } from '../../src/ondisk/uuid.js';
import { parseU64 } from '../../src/ondisk/int64.js';
import type { PfsData } from '../../src/ondisk/pfs-data.js';
import { warn } from '../output.js';
import type { CommonArgs } from '../common.js';

export function openForWrite(a: CommonArgs): WritableVolumeSet {
  const paths = splitVolumeArg(a.f ?? []);
  if (paths.length === 0) throw new UsageError('no volumes given (-f VOL[:VOL...])', { structure: 'argument', field: 'f' });
  const vs = openVolumeSetForWrite(paths);
  if (vs.recovery && !vs.recovery.clean && !a.quiet) warn(`an interrupted commit was rolled back (${vs.recovery.undone} UNDO records) before this command ran`);
  return vs;
}

export function withYes<T>(y: Argv<T>) {
  return y.option('y', { type: 'boolean', default: false, describe: 'answer yes to confirmations' });
}

/** Ask on the terminal, or fail naming the flag that allows it. */
export function confirm(question: string, yes: boolean | undefined, flag = '-y'): void {
  if (yes) return;
  if (!process.stdin.isTTY) throw new UsageError(`${question} — refusing without confirmation (stdin is not a terminal); pass ${flag}`, { structure: 'argument', field: flag.replace(/^-+/, '') });
  // read the answer from the terminal itself: Node may have put fd 0 in non-blocking mode
  const b = Buffer.alloc(256);
  let n = 0;
  let fd = -1;
  try {
    fd = fs.openSync('/dev/tty', 'r+');
    fs.writeSync(fd, `${question} (y/n) `);
    n = fs.readSync(fd, b, 0, b.length, null);
  } catch {
    n = 0;
  } finally {
    if (fd >= 0) fs.closeSync(fd);
  }
  if (!/^y(es)?$/i.test(b.subarray(0, n).toString('utf8').trim())) throw new UsageError('not confirmed', { structure: 'argument', field: flag.replace(/^-+/, '') });
}

const TIME_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** hammer pfs-update syntax: sync-beg-tid=, sync-end-tid=, shared-uuid=, unique-uuid=, label=, snapshots=, snapshots-clear, prune-min=. */
export function parsePfsFields(args: string[]): Partial<PfsData> {
  const out: Partial<PfsData> = {};
  for (const arg of args) {
    const eq = arg.indexOf('=');
    const k = eq < 0 ? arg : arg.slice(0, eq);
    const v = eq < 0 ? '' : arg.slice(eq + 1);
    const bad = (why: string) => new UsageError(`${k}: ${why}`, { structure: 'argument', field: k });
    switch (k) {
      case 'sync-beg-tid':
      case 'sync-end-tid': {
        const t = parseU64(v.startsWith('0x') || v.startsWith('0X') ? v : `0x${v}`);
        if (t === undefined) throw bad(`takes a hex TID, got "${v}"`);
        if (k === 'sync-beg-tid') out.syncBegTid = t;
        else out.syncEndTid = t;
        break;
      }
      case 'shared-uuid':
      case 'unique-uuid': {
        const u = uuidFromString(v);
        if (!u) throw bad(`not a UUID: "${v}"`);
        if (k === 'shared-uuid') out.sharedUuid = u;
        else out.uniqueUuid = u;
        break;
      }
      case 'label':
        if (Buffer.byteLength(v) >= 64) throw bad('at most 63 bytes');
        out.label = v;
        break;
      case 'snapshots':
        if (!v.startsWith('/')) throw bad('takes an absolute path');
        if (Buffer.byteLength(v) >= 64) throw bad('at most 63 bytes');
        out.snapshots = v;
        break;
      case 'snapshots-clear':
        out.snapshots = '';
        break;
      case 'prune-min': {
        // [Nd][hh:mm:ss] as hammer accepts, or N with a unit s/m/h/d
        let secs: number | undefined;
        const m1 = /^(?:(\d+)d)?(?:(\d+):(\d+)(?::(\d+))?)?$/.exec(v);
        const m2 = /^(\d+)([smhd])$/.exec(v);
        if (m2) secs = Number(m2[1]) * TIME_UNITS[m2[2]];
        else if (m1 && v) secs = Number(m1[1] ?? 0) * 86400 + Number(m1[2] ?? 0) * 3600 + Number(m1[3] ?? 0) * 60 + Number(m1[4] ?? 0);
        if (secs === undefined || !Number.isSafeInteger(secs) || secs > 0x7fffffff) throw bad(`takes Nd, hh:mm:ss, Nd hh:mm:ss or N{s,m,h,d}, got "${v}"`);
        out.pruneMin = secs;
        break;
      }
      default:
        throw new UsageError(`unknown PFS option "${arg}" (sync-beg-tid, sync-end-tid, shared-uuid, unique-uuid, label, snapshots, snapshots-clear, prune-min)`, { structure: 'argument', field: k });
    }
  }
  return out;
}
