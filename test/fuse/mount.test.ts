// hammerfs mount through FUSE, checked from outside the serving process against the content-v7
// manifest: every path, stat field, content hash and symlink target; history (@@, --asof,
// .snapshots); read-only errnos; lifecycle (background, signals, stale mounts, umount); loop device.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { imagePaths, copyImage, flipByte } from '../helpers/images.js';
import {
  MUST_RUN, fuseAvailable, cli, mountBg, umount, forceCleanup, makeMountpoint, fuseMountsAt, serverPids, walk,
  compareWalk, manifest, spawnForeground, waitFor,
} from './helpers.js';
import { openVolumeSet } from '../../src/volume/volume-set.js';
import { HammerFs } from '../../src/fs/index.js';

const avail = await fuseAvailable();
// In CI as root a missing /dev/fuse or binding is a failure, not a skip.
const run = avail.ok || MUST_RUN;
const IMG = imagePaths('content-v7')[0];
const m = manifest();
const latest = m.generations[m.generations.length - 1].tid;
const gen1 = m.generations[0].tid;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe.skipIf(!run)('hammerfs mount (FUSE)', () => {
  beforeAll(() => {
    if (!avail.ok) throw new Error(`FUSE tests cannot run: ${avail.why}`);
  });

  describe('PFS 0, current state', () => {
    let mp = '';
    beforeAll(async () => {
      mp = makeMountpoint();
      await mountBg(IMG, mp);
    });
    afterAll(async () => {
      const r = await umount(mp);
      expect(r.code).toBe(0);
      // Nothing left behind: no mount entry, no server process.
      expect(fuseMountsAt(mp)).toEqual([]);
      expect(serverPids(mp)).toEqual([]);
      fs.rmdirSync(mp);
    });

    it('is a read-only fuse.hammerfs mount, and a second mount on it is refused', async () => {
      const line = fuseMountsAt(mp)[0];
      expect(line.split(' ')[2]).toBe('fuse.hammerfs');
      expect(line.split(' ')[3].split(',')).toContain('ro');
      const again = await cli(['mount', '-f', IMG, mp]);
      expect(again.code).toBe(3);
      expect(again.stderr).toMatch(/already has a FUSE filesystem mounted/);
      expect(fuseMountsAt(mp).length).toBe(1);
    });

    it('shows exactly the manifest: paths, types, modes, owners, sizes, times, nlinks, inos, sha256, targets, rdev', async () => {
      const seen = await walk(mp);
      expect(compareWalk(m, m.trees[latest]['0'], seen, { ino: 'low32' })).toEqual([]);
      // The hidden snapshot directory is not part of the listing.
      expect(seen.has('/.snapshots')).toBe(false);
    });

    it('hardlinks share one inode number', async () => {
      const byObj = new Map<string, string[]>();
      for (const [p, e] of Object.entries(m.trees[latest]['0'])) byObj.set(e.obj_id, [...(byObj.get(e.obj_id) ?? []), p]);
      const groups = [...byObj.values()].filter((g) => g.length > 1);
      expect(groups.length).toBeGreaterThan(0);
      for (const g of groups) {
        const inos = await Promise.all(g.map(async (p) => (await fs.promises.lstat(mp + p, { bigint: true })).ino));
        expect(new Set(inos).size).toBe(1);
      }
    });

    it('name@@0x<tid> opens the old content of a file overwritten later', async () => {
      const old = m.trees[gen1]['0'];
      const cur = m.trees[latest]['0'];
      const changed = Object.keys(old).filter((p) => old[p].type === 'file' && cur[p]?.type === 'file' && old[p].sha256 !== cur[p].sha256);
      expect(changed.length).toBeGreaterThan(0);
      for (const p of changed.slice(0, 5)) {
        const hist = `${mp}${p}@@${gen1}`;
        expect(sha(await fs.promises.readFile(hist))).toBe(old[p].sha256);
        expect(sha(await fs.promises.readFile(mp + p))).toBe(cur[p].sha256);
        const st = await fs.promises.stat(hist, { bigint: true });
        expect(st.size).toBe(BigInt(old[p].size));
        // An old version is a different file to tools that dedupe by (dev, ino).
        expect(st.ino).not.toBe((await fs.promises.stat(mp + p, { bigint: true })).ino);
      }
      // A path deleted later is reachable through its directory as of then.
      const gone = Object.keys(old).filter((p) => old[p].type === 'file' && !(p in cur) && path.dirname(p) in cur && path.dirname(p) !== '/');
      expect(gone.length).toBeGreaterThan(0);
      const g = gone[0];
      await expect(fs.promises.stat(mp + g)).rejects.toMatchObject({ code: 'ENOENT' });
      const viaDir = `${mp}${path.dirname(g)}@@${gen1}/${path.basename(g)}`;
      expect(sha(await fs.promises.readFile(viaDir))).toBe(old[g].sha256);
    });

    it('/.snapshots lists the PFS snapshots, each the tree as of its TID', async () => {
      const snaps = m.snapshots.filter((s) => s.pfs === 0);
      const names = (await fs.promises.readdir(mp + '/.snapshots')).sort();
      expect(names).toEqual(snaps.map((s) => s.label).sort());
      const s = snaps[0];
      const seen = await walk(`${mp}/.snapshots/${s.label}`);
      expect(compareWalk(m, m.trees[s.tid]['0'], seen, { ino: 'any' })).toEqual([]);
      // The same snapshot by TID.
      expect((await fs.promises.readdir(`${mp}/.snapshots/${s.tid}`)).sort()).toEqual((await fs.promises.readdir(`${mp}/.snapshots/${s.label}`)).sort());
    });

    it('a @@PFS link leads into that PFS', async () => {
      const link = Object.entries(m.trees[latest]['0']).find(([, e]) => e.target === '@@PFS00001');
      expect(link).toBeDefined();
      const names = (await fs.promises.readdir(mp + link![0])).sort();
      const top = Object.keys(m.trees[latest]['1']).filter((p) => p !== '/' && !p.slice(1).includes('/')).map((p) => p.slice(1));
      expect(names).toEqual(top.sort());
    });

    it('refuses every change with EROFS and maps lookups to ENOENT / ENOTDIR', async () => {
      const file = Object.entries(m.trees[latest]['0']).find(([, e]) => e.type === 'file')![0];
      await expect(fs.promises.writeFile(mp + '/new-file', 'x')).rejects.toMatchObject({ code: 'EROFS' });
      await expect(fs.promises.appendFile(mp + file, 'x')).rejects.toMatchObject({ code: 'EROFS' });
      await expect(fs.promises.mkdir(mp + '/newdir')).rejects.toMatchObject({ code: 'EROFS' });
      await expect(fs.promises.unlink(mp + file)).rejects.toMatchObject({ code: 'EROFS' });
      await expect(fs.promises.chmod(mp + file, 0o777)).rejects.toMatchObject({ code: 'EROFS' });
      await expect(fs.promises.rename(mp + file, mp + file + '.x')).rejects.toMatchObject({ code: 'EROFS' });
      await expect(fs.promises.stat(mp + '/no-such-name')).rejects.toMatchObject({ code: 'ENOENT' });
      await expect(fs.promises.stat(mp + file + '/below-a-file')).rejects.toMatchObject({ code: 'ENOTDIR' });
      const sfs = await fs.promises.statfs(mp);
      expect(sfs.bsize).toBe(16384);
      expect(sfs.blocks).toBeGreaterThan(0);
    });
  });

  describe('other PFSs and TIDs', () => {
    for (const [what, args, expected, ino] of [
      ['--pfs 1 -o allow_other', ['--pfs', '1', '-o', 'allow_other'], () => m.trees[latest]['1'], 'low32'],
      ['--pfs 2 (slave, as of its sync_end_tid)', ['--pfs', '2'], () => m.trees[latest]['2'], 'low32'],
      ['--asof generation 1', ['--asof', gen1], () => m.trees[gen1]['0'], 'low32'],
      ['--asof generation 2 on PFS 1', ['--pfs', '1', '--asof', m.generations[1].tid], () => m.trees[m.generations[1].tid]['1'], 'low32'],
    ] as const) {
      it(`${what} shows that tree exactly`, async () => {
        const mp = makeMountpoint();
        try {
          await mountBg(IMG, mp, [...args]);
          const opts = fuseMountsAt(mp)[0].split(' ')[3].split(',');
          expect(opts.includes('allow_other')).toBe(args.includes('allow_other'));
          const seen = await walk(mp);
          expect(compareWalk(m, expected(), seen, { ino })).toEqual([]);
          expect((await umount(mp)).code).toBe(0);
          expect(fuseMountsAt(mp)).toEqual([]);
        } finally {
          await forceCleanup(mp);
        }
      });
    }
  });

  describe('lifecycle', () => {
    it('foreground: SIGTERM unmounts and the server exits 0', async () => {
      const mp = makeMountpoint();
      const fg = spawnForeground(IMG, mp);
      try {
        await waitFor(() => fuseMountsAt(mp).length > 0, 30_000, 'the mount');
        expect((await fs.promises.readdir(mp)).length).toBeGreaterThan(0);
        const exited = new Promise<number | null>((r) => fg.child.on('exit', (c) => r(c)));
        fg.child.kill('SIGTERM');
        expect(await exited).toBe(0);
        expect(fuseMountsAt(mp)).toEqual([]);
      } finally {
        fg.child.kill('SIGKILL');
        await forceCleanup(mp);
      }
    });

    it('a stale mount (server killed) is reported by mount and cleaned by umount', async () => {
      const mp = makeMountpoint();
      try {
        await mountBg(IMG, mp);
        const [pid] = serverPids(mp);
        expect(pid).toBeGreaterThan(0);
        process.kill(pid, 'SIGKILL');
        await waitFor(() => serverPids(mp).length === 0, 10_000, 'the server to die');
        // A dead FUSE server: ENOTCONN (ECONNABORTED right after the connection was torn down).
        const err = await fs.promises.stat(mp).then(() => undefined, (e: NodeJS.ErrnoException) => e.code);
        expect(['ENOTCONN', 'ECONNABORTED']).toContain(err);
        const again = await cli(['mount', '-f', IMG, mp]);
        expect(again.code).toBe(3);
        expect(again.stderr).toMatch(/stale FUSE mount.*hammerfs umount/);
        const r = await umount(mp);
        expect(r.code).toBe(0);
        expect(fuseMountsAt(mp)).toEqual([]);
        expect(fs.statSync(mp).isDirectory()).toBe(true);
      } finally {
        await forceCleanup(mp);
      }
    });

    it('umount of something that is not mounted exits 2; a missing mountpoint exits 2', async () => {
      const mp = makeMountpoint();
      try {
        const r = await cli(['umount', mp]);
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(/^hammerfs: not a FUSE mount/);
        const r2 = await cli(['mount', '-f', IMG, mp + '/does-not-exist']);
        expect(r2.code).toBe(2);
        expect(r2.stderr).toMatch(/does not exist/);
      } finally {
        await forceCleanup(mp);
      }
    });

    it('without the binding, mount says what to install and exits 3', async () => {
      const mp = makeMountpoint();
      const fake = path.join(mp, 'fake-binding.mjs');
      try {
        const r = await cli(['mount', '-f', IMG, mp], { HAMMERFS_FUSE_MODULE: 'hammerfs-no-such-fuse-module' });
        expect(r.code).toBe(3);
        expect(r.stderr).toMatch(/npm install fuse-native/);
        fs.writeFileSync(fake, "throw new Error('libfuse.so.2: cannot open shared object file: No such file or directory');\n");
        const r2 = await cli(['mount', '-f', IMG, mp, '--foreground'], { HAMMERFS_FUSE_MODULE: fake });
        expect(r2.code).toBe(3);
        expect(r2.stderr).toMatch(/apt-get install libfuse2 fuse/);
        expect(fuseMountsAt(mp)).toEqual([]);
      } finally {
        fs.rmSync(fake, { force: true });
        await forceCleanup(mp);
      }
    });
  });

  it('a damaged data record reads as EIO and the server logs the volume and offset', async () => {
    const copy = copyImage('content-v7');
    const mp = makeMountpoint();
    try {
      // Pick a file with one data record and flip a byte of its payload on the copy.
      const cur = m.trees[latest]['0'];
      const [p] = Object.entries(cur).find(([, e]) => e.type === 'file' && e.size > 100 && (e as { data_records?: number }).data_records === 1)!;
      const vs = openVolumeSet(copy.paths, { lock: 'none' });
      let pos = 0;
      try {
        const hfs = HammerFs.open(vs);
        const ino = hfs.stat(p);
        const [rec] = hfs.dataRecords(ino);
        pos = vs.locate(rec.dataOffset).pos + 7;
      } finally {
        vs.close();
      }
      flipByte(copy.paths[0], pos, 0xff);

      const fg = spawnForeground(copy.paths[0], mp);
      try {
        await waitFor(() => fuseMountsAt(mp).length > 0, 30_000, 'the mount');
        await expect(fs.promises.readFile(mp + p)).rejects.toMatchObject({ code: 'EIO' });
        // Other files still read.
        const other = Object.entries(cur).find(([q, e]) => q !== p && e.type === 'file' && e.sha256)!;
        expect(sha(await fs.promises.readFile(mp + other[0]))).toBe(other[1].sha256);
        await waitFor(() => /E_CRC/.test(fg.stderr()), 5000, 'the log line');
        const line = fg.stderr().split('\n').find((l) => /E_CRC/.test(l))!;
        expect(line).toMatch(/^hammerfs: read /);
        expect(line).toContain('vol 0');
        expect(line).toMatch(/byte 0x[0-9a-f]+/);
        const exited = new Promise<number | null>((r) => fg.child.on('exit', (c) => r(c)));
        fg.child.kill('SIGINT');
        expect(await exited).toBe(0);
      } finally {
        fg.child.kill('SIGKILL');
      }
      // Background mode: the same report goes to the --log file.
      const logFile = path.join(copy.dir, 'mount.log');
      await mountBg(copy.paths[0], mp, ['--log', logFile]);
      await expect(fs.promises.readFile(mp + p)).rejects.toMatchObject({ code: 'EIO' });
      expect((await umount(mp)).code).toBe(0);
      expect(fs.readFileSync(logFile, 'utf8')).toMatch(/^hammerfs: read .*E_CRC.*vol 0, byte 0x[0-9a-f]+/m);
    } finally {
      await forceCleanup(mp);
      copy.cleanup();
    }
  });

  it('mounts through a loop device node', async (ctx) => {
    const mp = makeMountpoint();
    let loop = '';
    try {
      try {
        loop = execFileSync('losetup', ['-f', '--show', '-r', IMG], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
      } catch (e) {
        // No losetup or no loop devices in this environment (some containers): say so, skip.
        console.warn(`skipping the loop device mount: losetup failed: ${(e as Error).message.split('\n')[0]}`);
        ctx.skip();
        return;
      }
      expect(loop).toMatch(/^\/dev\/loop\d+$/);
      await mountBg(loop, mp);
      expect(fuseMountsAt(mp)[0].split(' ')[0]).toBe(loop);
      const seen = await walk(mp);
      expect(compareWalk(m, m.trees[latest]['0'], seen, { ino: 'low32' })).toEqual([]);
      expect((await umount(mp)).code).toBe(0);
      expect(fuseMountsAt(mp)).toEqual([]);
    } finally {
      await forceCleanup(mp);
      if (loop) execFileSync('losetup', ['-d', loop]);
    }
  });
});
