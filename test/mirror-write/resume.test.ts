// Resume: a mirror-read piped into a reader that stops part-way prints a resume token; the
// target written with --keep-partial keeps what it got; `mirror-read --resume TOKEN` sends the
// rest (starting with a SKIP over what was delivered) and the slave then equals the master.
// Tokens are checked: altered, other PFS, other master -> refused.
import { describe, it, expect, afterAll, beforeAll } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openVolumeSet } from '../../src/volume/volume-set.js';
import { openVolumeSetForWrite } from '../../src/volume/writable-volume-set.js';
import { makeTestImage } from '../../src/volume/newfs.js';
import { HammerWriter } from '../../src/fs/write/writer.js';
import { createPfs } from '../../src/mirror/pfs-admin.js';
import { parseMirrorStream } from '../../src/mirror/stream-reader.js';
import { decodeResumeToken, encodeResumeToken } from '../../src/mirror/resume.js';
import { snapshotTree, diffTrees } from './helpers.js';

const CLI = process.env.HAMMERFS_CLI ?? path.resolve('dist/tools/cli.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hammerfs-mwr-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const sh = (cmd: string) => {
  const r = spawnSync('sh', ['-c', cmd], { maxBuffer: 1 << 28 });
  return { code: r.status, out: r.stdout.toString(), err: r.stderr.toString() };
};
const cli = (args: string[]) => {
  const r = spawnSync(process.execPath, [CLI, ...args], { maxBuffer: 1 << 28, input: '' });
  return { code: r.status, out: r.stdout.toString(), err: r.stderr.toString() };
};

const src = path.join(dir, 'src.img');

function sameAsMaster(dst: string): void {
  const a = openVolumeSet([src]);
  const b = openVolumeSet([dst]);
  try {
    expect(diffTrees(snapshotTree(a, 1), snapshotTree(b, 2))).toEqual([]);
  } finally {
    a.close();
    b.close();
  }
}

let total = 0;
beforeAll(() => {
  makeTestImage(src, { size: 256 << 20 });
  const vs = openVolumeSetForWrite([src]);
  try {
    createPfs(vs, 1, { slave: false });
    const w = new HammerWriter(vs, { pfs: 1, autoCommit: false });
    // ~27 MB of stream: long enough to interrupt
    for (let i = 0; i < 240; i++) w.writeFile(`/f${String(i).padStart(3, '0')}`, Buffer.alloc(100_000 + i, i + 1));
    w.commit();
  } finally {
    vs.close();
  }
  const e = cli(['mirror-read', '-f', src, '--pfs', '1', '--batch-bytes', '0', '--estimate', '--json']);
  total = JSON.parse(e.out).bytes;
});

describe('resume an interrupted mirror-read', () => {
  it('SIGINT -> exit 130 with a token; the file so far + the resumed rest rebuild the master', async () => {
    const dst = path.join(dir, 'dst-int.img');
    makeTestImage(dst, { size: 256 << 20 });
    const part = path.join(dir, 'int.stream');
    const child = spawn(process.execPath, [CLI, 'mirror-read', '-f', src, '--pfs', '1', '--batch-bytes', '0', '--quiet', '-o', part]);
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    let sent = false;
    const timer = setInterval(() => {
      if (!sent && fs.existsSync(part) && fs.statSync(part).size > 3_000_000) {
        sent = true;
        child.kill('SIGINT');
      }
    }, 2);
    const code = await new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
    clearInterval(timer);
    expect(sent, 'the transfer finished before it could be interrupted').toBe(true);
    expect(code, err).toBe(130);
    const m = /--resume (\S+)/.exec(err);
    expect(m, err).not.toBeNull();
    const p1 = cli(['mirror-write', '-f', dst, '--pfs', '2', '-y', '--keep-partial', '-i', part]);
    expect(p1.code).toBe(2);
    const rest = path.join(dir, 'int-rest.stream');
    expect(cli(['mirror-read', '-f', src, '--resume', m![1], '-o', rest, '--quiet']).code).toBe(0);
    // written to a file, nothing but framing is re-sent: the two parts are about one stream
    expect(fs.statSync(rest).size + fs.statSync(part).size).toBeLessThan(total + 4096);
    const p2 = cli(['mirror-write', '-f', dst, '--pfs', '2', '-i', rest]);
    expect(p2.code, p2.err).toBe(0);
    sameAsMaster(dst);
  });

  it('cut pipe -> token -> keep-partial -> resume -> slave equals master', () => {
    const dst = path.join(dir, 'dst.img');
    makeTestImage(dst, { size: 256 << 20 });
    const part = path.join(dir, 'part.stream');
    // the reader takes 3.5 MB of a ~6 MB stream and exits: mirror-read sees EPIPE
    const r = sh(`node ${CLI} mirror-read -f ${src} --pfs 1 --batch-bytes 0 --quiet | head -c 3500000 > ${part}`);
    const m = /--resume (\S+)/.exec(r.err);
    expect(m, r.err).not.toBeNull();
    const token = m![1];
    const t = decodeResumeToken(token);
    expect(t.pfsId).toBe(1);
    // the partial stream is refused (cut short) but its records are kept
    const p1 = cli(['mirror-write', '-f', dst, '--pfs', '2', '-y', '--keep-partial', '-i', part]);
    expect(p1.code).toBe(2);
    expect(p1.err).toMatch(/kept/);
    // altered or foreign tokens are refused
    const bad = token.slice(0, -1) + (token.endsWith('0') ? '1' : '0');
    expect(cli(['mirror-read', '-f', src, '--resume', bad, '-o', path.join(dir, 'x')]).code).toBe(2);
    expect(cli(['mirror-read', '-f', src, '--pfs', '3', '--resume', token, '-o', path.join(dir, 'x')]).code).toBe(2);
    const foreign = encodeResumeToken({ ...t, sharedUuid: '00000000-0000-0000-0000-000000000001' });
    expect(cli(['mirror-read', '-f', src, '--resume', foreign, '-o', path.join(dir, 'x')]).err).toMatch(/shared UUID/);
    // resume
    const rest = path.join(dir, 'rest.stream');
    const r2 = cli(['mirror-read', '-f', src, '--resume', token, '-o', rest, '--quiet']);
    expect(r2.code, r2.err).toBe(0);
    const bytes = fs.readFileSync(rest);
    let firstBulk = '';
    parseMirrorStream(bytes, { bulk: (rec) => { if (!firstBulk) firstBulk = rec.type === 5 ? 'SKIP' : String(rec.type); } });
    expect(firstBulk).toBe('SKIP');
    // the rest is the stream minus what the reader got, plus what is re-sent because a pipe may
    // have swallowed up to 1 MiB (points are 1 MiB apart)
    expect(bytes.length).toBeLessThan(total - 3_500_000 + 3 * 1048576);
    const p2 = cli(['mirror-write', '-f', dst, '--pfs', '2', '-i', rest]);
    expect(p2.code, p2.err).toBe(0);
    sameAsMaster(dst);
  });
});
