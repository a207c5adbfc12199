// The mirror-read / mirror-dump commands end to end (built CLI, real image): the file and the
// pipe carry the library's exact bytes, --estimate predicts them, mirror-dump prints hammer's
// lines and NDJSON, and --verify / plain dump exit 0 / 1 / 2 as documented.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imagePaths } from '../helpers/images.js';
import { openCtx, mirrorReadToMemory, cli, collect } from './helpers.js';

const IMG = imagePaths('content-v7').join(':');
let dir: string;
let lib0: Uint8Array;
let lib1inc: Uint8Array;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hammerfs-mirror-cli-'));
  const ctx = openCtx(imagePaths('content-v7'));
  try {
    lib0 = mirrorReadToMemory(ctx, { pfsId: 0 }).bytes;
    lib1inc = mirrorReadToMemory(ctx, { pfsId: 1, since: 0x1000003bfn }).bytes;
  } finally {
    ctx.vs.close();
  }
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

describe('hammerfs mirror-read', () => {
  it('-o FILE and stdout carry the library stream byte for byte; --estimate predicts the size', () => {
    const f = path.join(dir, 'pfs0.stream');
    const r = cli(['mirror-read', '-f', IMG, '--pfs', '0', '-o', f]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/1157 REC, 0 PASS, 0 SKIP/);
    expect(same(fs.readFileSync(f), lib0)).toBe(true);
    const p = cli(['mirror-read', '-f', IMG, '--pfs', '1', '--since', '0x1000003bf', '--quiet']);
    expect(p.code, p.stderr).toBe(0);
    expect(same(p.stdout, lib1inc)).toBe(true);
    expect(p.stderr).toBe('');
    const e = cli(['mirror-read', '-f', IMG, '--pfs', '1', '--since', '0x1000003bf', '--estimate', '--json']);
    expect(e.code, e.stderr).toBe(0);
    const j = JSON.parse(e.stdout.toString());
    expect(j.bytes).toBe(lib1inc.length);
    expect(j.tidBeg).toBe('0x00000001000003bf');
    expect(j.tidEnd).toBe('0x0000000100000409');
    expect(j.rec + j.pass + j.skip).toBe(j.records);
  });

  it('--json summary, --batch-bytes, --nodata', () => {
    const f = path.join(dir, 'b.stream');
    const r = cli(['mirror-read', '-f', IMG, '--pfs', '0', '--batch-bytes', '300k', '-o', f, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout.toString());
    expect(j.batches.length).toBeGreaterThan(1);
    expect(j.bytes).toBe(fs.statSync(f).size);
    const got = collect(fs.readFileSync(f));
    expect(got.batches.length).toBe(j.batches.length);
    expect(got.problems).toEqual([]);
    const n = cli(['mirror-read', '-f', IMG, '--pfs', '2', '--nodata', '--quiet']);
    expect(n.code).toBe(0);
    expect(collect(n.stdout).summary.nodataRecords).toBe(82);
  });

  it('bad arguments exit 2 with one line', () => {
    for (const args of [['--since', 'zz'], ['--pfs', '9'], ['--batch-bytes', 'lots']]) {
      const r = cli(['mirror-read', '-f', IMG, ...args, '-o', path.join(dir, 'x')]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^hammerfs: .+\n$/);
    }
  });
});

describe('hammerfs mirror-dump', () => {
  let f0: string;
  beforeAll(() => {
    f0 = path.join(dir, 'dump0.stream');
    fs.writeFileSync(f0, lib1inc);
  });

  it('prints hammer mirror-dump lines from a file or a pipe', () => {
    const r = cli(['mirror-dump', '-i', f0]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.toString().split('\n');
    expect(lines[0]).toMatch(/^(Record|Pass  ) lo=[0-9a-f]{8} obj=[0-9a-f]{16} key=[0-9a-f]{16} rt=[0-9a-f]{2} ot=[0-9a-f]{2}$/);
    expect(lines[1]).toMatch(/^ {7}tids [0-9a-f]{16}:[0-9a-f]{16} data=\d+$/);
    const got = collect(lib1inc);
    const recs = got.bulk.filter((g) => g.type === 'REC').length;
    expect(lines.filter((l) => l.startsWith('Record ')).length).toBe(recs);
    const piped = cli(['mirror-dump'], lib1inc);
    expect(piped.stdout.toString()).toBe(r.stdout.toString());
    const all = cli(['mirror-dump', '--all', '--quiet'], lib1inc).stdout.toString().split('\n');
    expect(all[0]).toMatch(/^PFSD   version=1 sync_beg_tid=0x0000000000000001 sync_end_tid=0x0000000100000409 shared_uuid=e874f0f2-4990-41de-a3e8-2b30fdc2634e master label="master-pfs-1"$/);
    expect(all.filter((l) => l === 'SYNC' || l === 'TERM')).toEqual(['SYNC', 'TERM']);
  });

  it('--json: one NDJSON object per record, 64-bit values as strings', () => {
    const r = cli(['mirror-dump', '--json', '-i', f0]);
    expect(r.code, r.stderr).toBe(0);
    const objs = r.stdout.toString().trim().split('\n').map((l) => JSON.parse(l));
    const got = collect(lib1inc);
    expect(objs.length).toBe(got.summary.records);
    expect(objs[0]).toMatchObject({ pos: 0, type: 'PFSD', version: 1, recSize: 316 });
    const rec = objs.find((o) => o.type === 'REC');
    expect(rec.leaf.createTid).toMatch(/^0x[0-9a-f]{16}$/);
    expect(typeof rec.leaf.dataLen).toBe('number');
    expect(objs[objs.length - 1]).toMatchObject({ type: 'TERM', pos: lib1inc.length - 16 });
  });

  it('--verify: 0 clean, 1 readable with a bad CRC, 2 unreadable or cut short', () => {
    const ok = cli(['mirror-dump', '--verify', '-i', f0]);
    expect(ok.code).toBe(0);
    expect(ok.stdout.toString()).toMatch(/clean\n$/);

    const got = collect(lib1inc);
    const rec = got.bulk.find((g) => g.type === 'REC' && g.payload.length > 100)!;
    const badCrc = lib1inc.slice();
    badCrc[rec.pos + 90] ^= 0x10;
    const v1 = cli(['mirror-dump', '--verify'], badCrc);
    expect(v1.code).toBe(1);
    expect(v1.stdout.toString()).toContain(`stream byte ${rec.pos}`);
    const d1 = cli(['mirror-dump'], badCrc); // without --verify any problem is fatal
    expect(d1.code).toBe(2);
    expect(d1.stderr).toMatch(new RegExp(`^hammerfs: record CRC mismatch.*stream byte ${rec.pos}\\)\\n$`));

    const badSig = lib1inc.slice();
    badSig[rec.pos] ^= 0xff;
    const v2 = cli(['mirror-dump', '--verify'], badSig);
    expect(v2.code).toBe(2);
    expect(v2.stderr).toContain(`stream byte ${rec.pos}`);

    const cut = lib1inc.subarray(0, rec.pos + 50);
    const v3 = cli(['mirror-dump', '--verify', '--json'], cut);
    expect(v3.code).toBe(2);
    const j = JSON.parse(v3.stdout.toString());
    expect(j.ok).toBe(false);
    expect(j.fatal.where).toMatchObject({ streamPos: rec.pos, field: 'truncated' });

    const noTerm = lib1inc.subarray(0, lib1inc.length - 16);
    expect(cli(['mirror-dump', '--verify'], noTerm).code).toBe(1);
    expect(cli(['mirror-dump', '--verify'], new TextEncoder().encode('hello world, not a stream')).code).toBe(2);
  });

  it('a missing input file exits 2', () => {
    const r = cli(['mirror-dump', '-i', path.join(dir, 'nope')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^hammerfs: cannot open stream file/);
  });
});
