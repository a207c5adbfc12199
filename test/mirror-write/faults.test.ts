// Faults: mirror-write killed (SIGKILL) at many points, then rerun, always converges on the
// master's tree; a stream with one flipped byte or cut short is refused with its byte offset and
// leaves the target byte-for-byte unchanged; --dry-run changes nothing. Runs the CLI as a child
// process (HAMMERFS_CLI=<cli.js> for a private build; default dist/tools/cli.js).
import { describe, it, expect, afterAll, beforeAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { copyImage } from '../helpers/images.js';
import { openVolumeSet } from '../../src/volume/volume-set.js';
import { makeTestImage } from '../../src/volume/newfs.js';
import { BTree } from '../../src/btree/btree.js';
import { getPfs } from '../../src/fs/pfs.js';
import { snapshotTree, diffTrees } from './helpers.js';

const CLI = process.env.HAMMERFS_CLI ?? path.resolve('dist/tools/cli.js');
const cleanups: (() => void)[] = [];
afterAll(() => cleanups.forEach((c) => c()));

function cli(args: string[], env: Record<string, string> = {}): { code: number | null; signal: string | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, maxBuffer: 1 << 28, input: '' });
  return { code: r.status, signal: r.signal, out: r.stdout.toString(), err: r.stderr.toString() };
}
const sha = (p: string) => crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex');

let dir: string;
let src: string[];
let stream: string;
let master: ReturnType<typeof snapshotTree>;

beforeAll(() => {
  const img = copyImage('content-v7');
  cleanups.push(img.cleanup);
  src = img.paths;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hammerfs-mwf-'));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  stream = path.join(dir, 'full.stream');
  const r = cli(['mirror-read', '-f', src.join(':'), '--pfs', '1', '--batch-bytes', '0', '-o', stream]);
  expect(r.code, r.err).toBe(0);
  const vs = openVolumeSet(src);
  try {
    master = snapshotTree(vs, 1);
  } finally {
    vs.close();
  }
});

function freshTarget(name: string): string {
  const p = path.join(dir, name);
  makeTestImage(p, { size: 256 * 1024 * 1024 });
  return p;
}

function slaveState(p: string, pfs: number): { syncEndTid?: bigint; exists: boolean } {
  const vs = openVolumeSet([p]);
  try {
    const info = getPfs({ vs, tree: new BTree(vs), verifyData: true }, pfs);
    return { exists: !!info, syncEndTid: info?.syncEndTid };
  } finally {
    vs.close();
  }
}

describe('mirror-write under faults', () => {
  it('SIGKILL at many points, then a rerun, always converges on the master', () => {
    // every kill point: kill (part-way commits happen every 2 dirty buffers, so earlier parts
    // of the batch are on the media), reopen, rerun to completion
    const points = [1, 5, 17, 42, 77, 99];
    for (const k of points) {
      const base = freshTarget(`kill-${k}.img`);
      const r = cli(['mirror-write', '-f', base, '--pfs', '3', '-y', '-i', stream, '--commit-buffers', '2'], { HAMMERFS_TEST_KILL_AFTER: String(k) });
      expect(r.signal, `kill after ${k}: ${r.err}`).toBe('SIGKILL');
      const mid = slaveState(base, 3);
      // a killed single-batch run never reaches its SYNC: no sync point is recorded
      expect(mid.syncEndTid === undefined || mid.syncEndTid === 1n).toBe(true);
      // by then part-way commits have put the slave (and some of its records) on the media
      if (k >= 77) expect(mid.exists).toBe(true);
      const again = cli(['mirror-write', '-f', base, '--pfs', '3', '-y', '-i', stream]);
      expect(again.code, again.err).toBe(0);
      const vs = openVolumeSet([base]);
      try {
        expect(diffTrees(master, snapshotTree(vs, 3))).toEqual([]);
      } finally {
        vs.close();
      }
      const chk = cli(['checkmap', '-f', base]);
      expect(chk.code, chk.out + chk.err).toBe(0);
      fs.rmSync(base);
    }
  });

  it('a stream with one flipped byte is refused with its offset; the target is unchanged', () => {
    const tgt = freshTarget('flip.img');
    expect(cli(['pfs-slave', '-f', tgt, '--pfs', '3', `shared-uuid=${getShared()}`]).code).toBe(0);
    const before = sha(tgt);
    const bytes = fs.readFileSync(stream);
    for (const at of [400, Math.floor(bytes.length / 2), bytes.length - 40]) {
      const bad = Buffer.from(bytes);
      bad[at] ^= 0x10;
      const f = path.join(dir, 'flip.stream');
      fs.writeFileSync(f, bad);
      const r = cli(['mirror-write', '-f', tgt, '--pfs', '3', '-i', f]);
      expect(r.code, r.err).toBe(2);
      expect(r.err).toMatch(/stream (byte|offset|position|pos)|at byte|offset \d+|@\s*\d+|streamPos|\bbyte \d+/i);
      expect(sha(tgt)).toBe(before);
    }
  });

  it('a stream cut short is refused; the target keeps its files and sync_end_tid', () => {
    const tgt = freshTarget('cut.img');
    const ok = cli(['mirror-write', '-f', tgt, '--pfs', '3', '-y', '-i', stream]);
    expect(ok.code, ok.err).toBe(0);
    const state = slaveState(tgt, 3);
    const before = sha(tgt);
    const bytes = fs.readFileSync(stream);
    for (const len of [100, 700, Math.floor(bytes.length / 3), bytes.length - 20]) {
      const f = path.join(dir, 'cut.stream');
      fs.writeFileSync(f, bytes.subarray(0, len));
      const r = cli(['mirror-write', '-f', tgt, '--pfs', '3', '-i', f]);
      expect(r.code, `${len}: ${r.err}`).toBe(2);
      expect(sha(tgt)).toBe(before);
    }
    expect(slaveState(tgt, 3)).toEqual(state);
  });

  it('--dry-run reports what would change and writes nothing', () => {
    const tgt = freshTarget('dry.img');
    const before = sha(tgt);
    const r = cli(['mirror-write', '-f', tgt, '--pfs', '3', '-y', '-i', stream, '--dry-run', '--json']);
    expect(r.code, r.err).toBe(0);
    const rep = JSON.parse(r.out);
    expect(rep.dryRun).toBe(true);
    expect(rep.created).toBeGreaterThan(50);
    expect(rep.createdPfs).toBe(true);
    expect(sha(tgt)).toBe(before);
    expect(slaveState(tgt, 3).exists).toBe(false);
  });

  it('refuses a master target and a slave of another master; says which flag allows a missing PFS', () => {
    const tgt = freshTarget('refuse.img');
    const miss = cli(['mirror-write', '-f', tgt, '--pfs', '3', '-i', stream]);
    expect(miss.code).toBe(2);
    expect(miss.err).toMatch(/-y/);
    expect(cli(['pfs-master', '-f', tgt, '--pfs', '4']).code).toBe(0);
    const m = cli(['mirror-write', '-f', tgt, '--pfs', '4', '-i', stream]);
    expect(m.code).toBe(2);
    expect(m.err).toMatch(/master/);
    expect(cli(['pfs-slave', '-f', tgt, '--pfs', '5']).code).toBe(0);
    const s = cli(['mirror-write', '-f', tgt, '--pfs', '5', '-i', stream]);
    expect(s.code).toBe(2);
    expect(s.err).toMatch(/shared UUID/);
  });
});

function getShared(): string {
  const vs = openVolumeSet(src);
  try {
    return getPfs({ vs, tree: new BTree(vs), verifyData: true }, 1)!.sharedUuid;
  } finally {
    vs.close();
  }
}

