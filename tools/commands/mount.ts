/**
 * hammerfs mount -f VOLS MOUNTPOINT [--pfs N] [--asof TID] [--foreground] [-o allow_other]
 *
 * A read-only FUSE mount of one PFS as of one TID (default: now; a slave PFS: its sync_end_tid).
 * By default the command daemonises: it starts a detached copy of itself with --foreground, waits
 * until that copy reports the mount live (or its error, printed here with its exit code) and exits
 * 0. The serving process unmounts on SIGINT/SIGTERM/SIGHUP and exits when the mount goes away
 * (`hammerfs umount`, `fusermount -u`).
 *
 * The FUSE binding (fuse-native → libfuse.so.2) is optional: without it, mount says what to install
 * and exits 3.
 *
 * Limits that come from fuse-native 2.x, not from HAMMER: times reach the kernel in milliseconds
 * (HAMMER stores µs); st_ino is 32 bits (src/fuse/inomap.ts maps obj_ids); paths and names cross
 * the binding as UTF-8 strings, so a name that is not valid UTF-8 cannot be looked up.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import type { CommandModule } from 'yargs';
import { withVolumes, withPfs, withAsof, tidArg, pfsArg, openReadOnly, run, type CommonArgs } from '../common.js';
import { EXIT_BAD_INPUT, EXIT_IO, exitCodeFor, messageFor } from '../exit.js';
import { loadFuse } from '../../src/fuse/binding.js';
import { checkMountpoint, serve, MountpointError, type RunningMount } from '../../src/fuse/server.js';
import { HammerSource } from '../../src/fuse/adapter.js';
import { HammerFs } from '../../src/fs/index.js';
import { splitVolumeArg } from '../../src/volume/volume-set.js';

export interface MountArgs extends CommonArgs {
  mountpoint: string;
  pfs?: number;
  asof?: string;
  foreground?: boolean;
  o?: string[];
  log?: string;
  readyFd?: number;
}

/** A failure with its exit code, reported once (to stderr, and to the parent when daemonised). */
class MountFailure extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** Split -o values (repeatable, comma lists) into allow_other and pass-through options. */
function mountOptions(o: string[] | undefined): { allowOther: boolean; extra: string[] } {
  let allowOther = false;
  const extra: string[] = [];
  for (const part of (o ?? []).flatMap((s) => s.split(','))) {
    const opt = part.trim();
    if (!opt) continue;
    if (opt === 'allow_other') allowOther = true;
    else if (opt === 'ro') continue;
    else if (opt === 'rw') throw new MountFailure('mount is read-only; -o rw is not supported', EXIT_BAD_INPUT);
    else if (/^(allow_root|auto_unmount|max_read=\d+|max_readahead=\d+|uid=\d+|gid=\d+|umask=[0-7]+|default_permissions|debug)$/.test(opt)) extra.push(opt);
    else throw new MountFailure(`unsupported mount option -o ${opt}`, EXIT_BAD_INPUT);
  }
  return { allowOther, extra };
}

/** Tell a daemonising parent how things went (fd given by --ready-fd), once. */
function notifyParent(fd: number | undefined, msg: { ok: boolean; code?: number; message?: string }): void {
  if (fd === undefined) return;
  try {
    fs.writeSync(fd, JSON.stringify(msg) + '\n');
    fs.closeSync(fd);
  } catch {
    // parent gone: nothing to tell
  }
}

/** Background mode: run ourselves detached with --foreground and wait for the mount to be live. */
async function daemonise(a: MountArgs): Promise<number> {
  const args = process.argv.slice(1).filter((x) => x !== '--no-foreground');
  args.push('--foreground', '--ready-fd', '3');
  // The child's stderr goes to --log, or else to a temporary file that lets us show why a child
  // died before it could report (it stops logging there once the mount is up; see foreground()).
  const logPath = a.log ?? path.join(os.tmpdir(), `hammerfs-mount-${process.pid}-${Date.now()}.log`);
  const logFd = fs.openSync(logPath, 'a');
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', 'ignore', logFd, 'pipe'] });
  fs.closeSync(logFd);
  const dropTempLog = () => {
    if (!a.log) fs.rmSync(logPath, { force: true });
  };
  const pipe = child.stdio[3] as NodeJS.ReadableStream;
  const result = await new Promise<{ ok: boolean; code?: number; message?: string }>((resolve) => {
    let buf = '';
    let done = false;
    const finish = (r: { ok: boolean; code?: number; message?: string }) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(r);
    };
    pipe.setEncoding('utf8');
    pipe.on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        try {
          finish(JSON.parse(buf.slice(0, nl)));
        } catch {
          finish({ ok: false, code: EXIT_IO, message: `mount process said: ${buf.slice(0, nl)}` });
        }
      }
    });
    pipe.on('error', () => undefined);
    child.on('exit', (code, sig) => {
      // Died without a word on fd 3 (e.g. a crash while loading): its stderr says why.
      let why = '';
      try {
        const text = fs.readFileSync(logPath, 'utf8').trim();
        if (text) why = ':\n' + text.split('\n').slice(-12).join('\n');
      } catch {
        // no log
      }
      finish({ ok: false, code: code || EXIT_IO, message: `mount process exited (${sig ?? `code ${code}`}) before the mount was live${why}` });
    });
    child.on('error', (e) => finish({ ok: false, code: EXIT_IO, message: `cannot start the mount process: ${e.message}` }));
    const timer = setTimeout(() => finish({ ok: false, code: EXIT_IO, message: 'the mount did not come up within 60 s' }), 60_000);
  });
  (pipe as unknown as { destroy(): void }).destroy();
  child.unref();
  dropTempLog();
  if (!result.ok) {
    process.stderr.write(`hammerfs: ${result.message ?? 'mount failed'}\n`);
    if (child.exitCode === null && child.pid) {
      try {
        process.kill(child.pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    return result.code ?? EXIT_IO;
  }
  return 0;
}

async function foreground(a: MountArgs): Promise<number> {
  const readyFd = a.readyFd;
  const fail = (e: unknown): number => {
    const code = e instanceof MountFailure ? e.exitCode : exitCodeFor(e);
    const message = e instanceof MountFailure ? e.message : messageFor(e);
    if (readyFd !== undefined) notifyParent(readyFd, { ok: false, code, message });
    process.stderr.write(`hammerfs: ${message}\n`);
    if (a.debug && e instanceof Error && e.stack) process.stderr.write(e.stack + '\n');
    return code;
  };
  let vs: ReturnType<typeof openReadOnly> | undefined;
  try {
    const loaded = await loadFuse();
    if (!loaded.ok) {
      const what = loaded.missing === 'libfuse' ? 'libfuse.so.2 is not installed' : loaded.missing === 'module' ? 'the fuse-native module is not installed' : 'the FUSE binding cannot be loaded';
      throw new MountFailure(`mount needs FUSE: ${what}; install it with: ${loaded.install} (${loaded.detail.split('\n')[0]})`, EXIT_IO);
    }
    const o = mountOptions(a.o);
    const pfs = pfsArg(a.pfs);
    const asof = tidArg(a.asof, 'asof');
    vs = openReadOnly(a, { warnings: false });
    const hfs = HammerFs.open(vs, { pfs, asof });
    const source = new HammerSource(hfs, asof);
    let mnt: string;
    try {
      mnt = await checkMountpoint(a.mountpoint);
    } catch (e) {
      if (e instanceof MountpointError) throw new MountFailure(e.message, e.problem === 'missing' || e.problem === 'not-a-directory' ? EXIT_BAD_INPUT : EXIT_IO);
      throw e;
    }
    if (!fs.existsSync('/dev/fuse')) throw new MountFailure(`cannot mount ${mnt}: /dev/fuse is missing (load the fuse module: modprobe fuse; package: fuse)`, EXIT_IO);
    // Daemonised without --log, stderr is a temporary file the parent deletes once we are up:
    // stop writing there then, so it cannot grow unseen.
    let logging = true;
    const log = (line: string) => {
      if (logging) process.stderr.write(`hammerfs: ${line}\n`);
    };
    // Signal handlers go in before mounting: a SIGTERM that arrives while the mount comes up
    // must unmount it, not kill the server and leave a stale mount behind.
    let running: RunningMount | undefined;
    let stopRequested = false;
    const stop = () => {
      stopRequested = true;
      if (running) void running.unmount();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    process.on('SIGHUP', stop);
    try {
      running = await serve(loaded.Fuse, source, {
        mountpoint: mnt, fsname: splitVolumeArg(a.f ?? [])[0] ?? 'hammerfs', pfs, asof, log,
        allowOther: o.allowOther, extraOptions: o.extra,
      });
    } catch (e) {
      throw new MountFailure(`cannot mount ${mnt}: ${(e as Error).message} (needs /dev/fuse and permission to mount: root, or fusermount from package fuse${o.allowOther ? ', and user_allow_other in /etc/fuse.conf for allow_other' : ''})`, EXIT_IO);
    }
    notifyParent(readyFd, { ok: true });
    if (readyFd !== undefined && !a.log) logging = false;
    // A daemon should not pin the directory it was started from (it might be an unmountable
    // filesystem); every path it needs was resolved above.
    if (readyFd !== undefined) process.chdir('/');
    if (!a.quiet && readyFd === undefined) process.stderr.write(`hammerfs: PFS ${pfs} mounted read-only on ${mnt}; Ctrl-C or "hammerfs umount ${mnt}" to unmount\n`);
    if (stopRequested) void running.unmount();
    await running.gone;
    vs.close();
    vs = undefined;
    // fuse-native keeps a libuv handle referenced after unmount; leave explicitly.
    process.exit(0);
  } catch (e) {
    vs?.close();
    return fail(e);
  }
}

export const mountCommand: CommandModule<object, MountArgs> = {
  command: 'mount <mountpoint>',
  describe: 'mount a PFS read-only through FUSE (as of any TID; name@@0x<tid> and /.snapshots inside)',
  builder: (y) =>
    withAsof(withPfs(withVolumes(y, { json: false })))
      .positional('mountpoint', { type: 'string', demandOption: true, describe: 'directory to mount on' })
      .option('foreground', { type: 'boolean', default: false, describe: 'serve in this process (default: run in the background once mounted)' })
      .option('o', { type: 'string', array: true, describe: 'mount options: allow_other, allow_root, auto_unmount (unmount if the server dies; needs fusermount), uid=, gid=, umask=, max_read=, debug (libfuse traces every request on stderr)' })
      .option('log', { type: 'string', describe: 'background mode: append the server\'s diagnostics (damage, CRC failures) to this file' })
      .option('ready-fd', { type: 'number', hidden: true }) as never,
  handler: run<MountArgs>(async (a) => {
    if (!a.foreground) {
      // Fail fast on a missing binding without starting a child.
      const loaded = await loadFuse();
      if (!loaded.ok) return foreground(a);
      return daemonise(a);
    }
    return foreground(a);
  }),
};
