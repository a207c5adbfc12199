/**
 * hammerfs umount MOUNTPOINT: unmount a `hammerfs mount`, also a stale one (its server died:
 * "transport endpoint is not connected"), and wait for the serving process to end.
 *
 * Order: fusermount -u (clean); if that fails (busy, stale, no fusermount) fusermount -uz, then
 * umount -l (lazy: detached now, released when the last user lets go).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFile } from 'node:child_process';
import type { CommandModule } from 'yargs';
import { run } from '../common.js';
import { EXIT_BAD_INPUT, EXIT_IO } from '../exit.js';
import { fuseMountsAt, pidFileFor } from '../../src/fuse/server.js';

interface UmountArgs {
  mountpoint: string;
  force?: boolean;
  debug?: boolean;
}

function exec(cmd: string, args: string[]): Promise<{ ok: boolean; err: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 15_000 }, (e, _out, err) => resolve({ ok: !e, err: String(err || (e ? e.message : '')).trim() }));
  });
}

/** Whether `pid` still runs. A zombie (exited, not yet reaped by its new parent) counts as gone. */
function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 3, after the parenthesised command name (which may itself contain spaces or ')').
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** The mount server's pid if its pid file names a live `hammerfs ... mount` process. */
function serverPid(mountpoint: string): number | undefined {
  try {
    const rec = JSON.parse(fs.readFileSync(pidFileFor(mountpoint), 'utf8')) as { pid?: number; mountpoint?: string };
    if (typeof rec.pid !== 'number' || rec.mountpoint !== mountpoint || !alive(rec.pid)) return undefined;
    // Guard against pid reuse: the process must be a node running our mount command.
    const cmd = fs.readFileSync(`/proc/${rec.pid}/cmdline`, 'utf8').split('\0');
    return cmd.includes('mount') ? rec.pid : undefined;
  } catch {
    return undefined;
  }
}

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return !alive(pid);
}

/** The absolute mountpoint without touching a possibly dead mount (no realpath through it). */
function canonical(mp: string): string {
  const abs = path.resolve(mp);
  try {
    return path.join(fs.realpathSync(path.dirname(abs)), path.basename(abs));
  } catch {
    return abs;
  }
}

export const umountCommand: CommandModule<object, UmountArgs> = {
  command: 'umount <mountpoint>',
  describe: 'unmount a hammerfs FUSE mount (also a stale one) and stop its server',
  builder: (y) =>
    y
      .positional('mountpoint', { type: 'string', demandOption: true, describe: 'where it is mounted' })
      .option('force', { type: 'boolean', default: false, describe: 'also unmount a FUSE filesystem that is not hammerfs' })
      .option('debug', { type: 'boolean', default: false, describe: 'stack traces on errors' }) as never,
  handler: run<UmountArgs>(async (a) => {
    const mp = canonical(a.mountpoint);
    const mounts = await fuseMountsAt(mp);
    const pid = serverPid(mp);
    if (mounts.length === 0) {
      if (pid !== undefined) {
        // Mount already gone but the server lingers: stop it.
        process.kill(pid, 'SIGTERM');
        await waitGone(pid, 5000);
        fs.rmSync(pidFileFor(mp), { force: true });
        return 0;
      }
      fs.rmSync(pidFileFor(mp), { force: true }); // left by a server that died unmounted
      process.stderr.write(`hammerfs: not a FUSE mount: ${mp}\n`);
      return EXIT_BAD_INPUT;
    }
    const top = mounts[mounts.length - 1];
    if (top.fstype !== 'fuse.hammerfs' && !a.force) {
      process.stderr.write(`hammerfs: ${mp} is a ${top.fstype} mount, not hammerfs (--force unmounts it anyway)\n`);
      return EXIT_BAD_INPUT;
    }
    let r = await exec('fusermount', ['-u', mp]);
    if (!r.ok) {
      const first = r.err;
      r = await exec('fusermount', ['-uz', mp]);
      if (!r.ok) r = await exec('umount', ['-l', mp]);
      if (!r.ok) {
        process.stderr.write(`hammerfs: cannot unmount ${mp}: ${first || r.err}\n`);
        return EXIT_IO;
      }
      process.stderr.write(`hammerfs: ${mp} was busy or stale (${first.split('\n')[0]}); detached lazily\n`);
    }
    if (pid !== undefined && !(await waitGone(pid, 5000))) {
      process.kill(pid, 'SIGTERM');
      if (!(await waitGone(pid, 3000))) process.kill(pid, 'SIGKILL');
    }
    // A server killed outright (stale mount) never removed its pid file.
    fs.rmSync(pidFileFor(mp), { force: true });
    return 0;
  }),
};
