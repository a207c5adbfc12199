/**
 * Bad input on the read-path commands (show, blockmap, checkmap, info), run through the real CLI:
 * not HAMMER, truncated, incomplete / duplicated / mixed volume sets, and single flipped bytes in a
 * volume header, a B-Tree node and a freemap layer2 entry of a private copy of a real image.
 * Every case must end with a clear one-line error naming the volume and byte offset and the right
 * exit code (2 bad input, 1 a check found problems, 3 lock / I/O) — no stack trace, no TypeError
 * or RangeError, no hang. `show` must still list the rest of the tree with the bad node marked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { imagePaths } from '../helpers/images.js';
import { runCli, type CliResult } from '../golden/cli.js';
import { sealBtreeNode } from '../../src/ondisk/btree-node.js';

const BUF_BEG = 0x88000; // vol_buf_beg of every image here
const phys = (zone2: number) => BUF_BEG + zone2;
// content-v7 landmarks (zone-2 short offsets; see `hammerfs show`)
const ROOT = 0x21000000; // internal root, depth 0
const INNER = 0x2100d000; // internal node, depth 1 (12 children)
const LEAF = 0x21017000; // leaf, depth 2, 59 elements
const L2_ZONE8 = 0x800000 + 66 * 16; // layer2 entry of the B-Tree big-block

/** Sparse private copy (1 MiB chunks that are all zero are left as holes). */
function sparseCopy(src: string, dst: string): void {
  const size = fs.statSync(src).size;
  const fi = fs.openSync(src, 'r');
  const fo = fs.openSync(dst, 'w');
  const buf = Buffer.alloc(1 << 20);
  const zero = Buffer.alloc(1 << 20);
  try {
    for (let pos = 0; pos < size; pos += buf.length) {
      const n = fs.readSync(fi, buf, 0, Math.min(buf.length, size - pos), pos);
      if (n === buf.length ? !buf.equals(zero) : buf.subarray(0, n).some((b) => b !== 0)) fs.writeSync(fo, buf, 0, n, pos);
    }
    fs.ftruncateSync(fo, size);
  } finally {
    fs.closeSync(fi);
    fs.closeSync(fo);
  }
}

/** Patch bytes in a file; returns a function that restores the originals. */
function patch(file: string, pos: number, bytes: Uint8Array | ((old: Buffer) => Uint8Array), len?: number): () => void {
  const fd = fs.openSync(file, 'r+');
  try {
    const old = Buffer.alloc(len ?? (bytes as Uint8Array).length);
    fs.readSync(fd, old, 0, old.length, pos);
    const nb = typeof bytes === 'function' ? bytes(Buffer.from(old)) : bytes;
    fs.writeSync(fd, nb, 0, nb.length, pos);
    return () => {
      const f2 = fs.openSync(file, 'r+');
      fs.writeSync(f2, old, 0, old.length, pos);
      fs.closeSync(f2);
    };
  } finally {
    fs.closeSync(fd);
  }
}
const flip = (file: string, pos: number) => patch(file, pos, (o) => Uint8Array.of(o[0] ^ 0x5a), 1);

/** Exactly one line on stderr, "hammerfs: <what>: <where>", and the expected exit code. */
function expectOneLineError(r: CliResult, code: number, re: RegExp): void {
  const lines = r.stderr.split('\n').filter(Boolean);
  expect(r.stderr).not.toMatch(/TypeError|RangeError|^\s+at /m);
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^hammerfs: .+: .+/);
  expect(lines[0]).toMatch(re);
  expect(r.code, r.stderr).toBe(code);
}

let dir: string;
let img: string; // private copy of content-v7
const cli = (...a: string[]) => runCli([...a, '--quiet'], { timeoutMs: 60_000 });

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hammerfs-badinput-'));
  img = path.join(dir, 'content-v7.img');
  sparseCopy(imagePaths('content-v7')[0], img);
}, 120_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('not HAMMER / truncated / volume sets', () => {
  it('a file of random bytes', async () => {
    const f = path.join(dir, 'random.bin');
    fs.writeFileSync(f, Buffer.from(Array.from({ length: 65536 }, (_, i) => (i * 7919 + 13) & 255)));
    for (const c of ['show', 'blockmap', 'checkmap', 'info']) expectOneLineError(await cli(c, '-f', f), 2, /not a HAMMER volume.*byte 0x0.*random\.bin/);
  });
  it('a file too small to hold a header', async () => {
    const f = path.join(dir, 'tiny.bin');
    fs.writeFileSync(f, 'HAMMER');
    expectOneLineError(await cli('show', '-f', f), 2, /too small.*tiny\.bin/);
  });
  it('a path that does not exist', async () => {
    expectOneLineError(await cli('show', '-f', path.join(dir, 'nope.img')), 2, /ENOENT.*nope\.img/);
  });
  it('a truncated image (header intact, device shorter than vol_buf_end)', async () => {
    const f = path.join(dir, 'truncated.img');
    const fd = fs.openSync(f, 'w');
    const head = Buffer.alloc(16384);
    const src = fs.openSync(imagePaths('demo-v7')[0], 'r');
    fs.readSync(src, head, 0, head.length, 0);
    fs.closeSync(src);
    fs.writeSync(fd, head, 0, head.length, 0);
    fs.ftruncateSync(fd, 600 * 1024 * 1024);
    fs.closeSync(fd);
    for (const c of ['show', 'blockmap', 'checkmap']) expectOneLineError(await cli(c, '-f', f), 2, /truncated.*vol 0.*truncated\.img/);
  });
  it('multi3 with a volume missing', async () => {
    const [v0, v1] = imagePaths('multi3');
    expectOneLineError(await cli('show', '-f', `${v0}:${v1}`), 2, /incomplete volume set.*missing vol_no 2/);
  });
  it('multi3 with a volume given twice', async () => {
    const [v0, v1, v2] = imagePaths('multi3');
    expectOneLineError(await cli('blockmap', '-f', `${v0}:${v1}:${v2}:${v1}`), 2, /volume 1 given twice.*vol 1.*multi3\.vol1\.img/);
  });
  it('multi3 with a volume of another filesystem (demo-v7)', async () => {
    const [v0, v1] = imagePaths('multi3');
    expectOneLineError(await cli('checkmap', '-f', `${v0}:${v1}:${imagePaths('demo-v7')[0]}`), 2, /another filesystem.*demo-v7\.img/);
  });
  it('no -f at all is a usage error', async () => {
    const r = await runCli(['show']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^hammerfs: /);
  });
});

describe('flipped bytes in a private copy of content-v7', () => {
  it('volume header: signature', async () => {
    const undo = flip(img, 0);
    try {
      expectOneLineError(await cli('show', '-f', img), 2, /bad signature.*vol_signature.*byte 0x0.*content-v7\.img/);
    } finally {
      undo();
    }
  });
  it('volume header: vol_version', async () => {
    const undo = patch(img, 152, Uint8Array.of(99, 0, 0, 0));
    try {
      expectOneLineError(await cli('info', '-f', img), 2, /unsupported HAMMER volume version 99.*vol_version.*content-v7\.img/);
    } finally {
      undo();
    }
  });
  it('volume header: vol_count', async () => {
    const undo = patch(img, 148, Uint8Array.of(2, 0, 0, 0));
    try {
      expectOneLineError(await cli('blockmap', '-f', img), 2, /incomplete volume set.*missing vol_no 1.*content-v7\.img/);
    } finally {
      undo();
    }
  });
  it('volume header: vol0_btree_root pointing past the volume', async () => {
    const undo = patch(img, 240, Buffer.from('000000ff0f000080', 'hex'));
    try {
      const r = await cli('show', '-f', img);
      expectOneLineError(r, 2, /past the end of volume 0's buffer area: B-Tree node 8000000fff000000 \(vol 0, .*content-v7\.img\)/);
      expect(r.stdout).toMatch(/^BI   NODE 8000000fff000000 depth=0 /m);
      const c = await cli('checkmap', '-f', img);
      expect(c.code).toBe(1);
      expect(c.stderr).toMatch(/^hammerfs: checkmap found \d+ problems?; first: .*8000000fff000000/);
    } finally {
      undo();
    }
  });

  it('B-Tree leaf: show marks the node B, lists all 27 nodes, names it on stderr, exits 2', async () => {
    const undo = flip(img, phys(LEAF) + 0x40 + 7 * 64 + 0x28); // create_ts of element 7: only the CRC notices
    try {
      const r = await cli('show', '-f', img);
      expectOneLineError(r, 2, new RegExp(`B-Tree node CRC mismatch: B-Tree node 8000000021017000 \\(vol 0, byte 0x${phys(LEAF).toString(16)}, .*content-v7\\.img\\)`));
      const nodes = r.stdout.split('\n').filter((l) => / NODE /.test(l));
      expect(nodes).toHaveLength(27);
      expect(nodes.filter((l) => l.startsWith('B'))).toEqual([expect.stringMatching(/^B    NODE 8000000021017000 cnt=59 /)]);
      // the damaged node's elements are still listed
      expect(r.stdout.split('\n').filter((l) => / (ELM|RBN) /.test(l))).toHaveLength(1339 + 29);
      const j = await cli('show', '--json', '-f', img);
      expect(j.code).toBe(2);
      const bad = JSON.parse(j.stdout).nodes.filter((n: any) => n.bad);
      expect(bad.map((n: any) => [n.offset, n.crcAlg, n.volNo, n.rawOffset])).toEqual([['0x8000000021017000', null, 0, phys(LEAF)]]);
      const c = await cli('checkmap', '-f', img);
      expect(c.code).toBe(1);
      expect(c.stderr).toMatch(/B-Tree node CRC mismatch: B-Tree node 8000000021017000 \(vol 0, byte 0x2109f000/);
      expect(c.stdout).toMatch(/^B    NODE 8000000021017000 /m);
    } finally {
      undo();
    }
  });

  it('B-Tree internal node with count 200: marked C, clamped, no crash', async () => {
    const undo = patch(img, phys(ROOT) + 0x10, Uint8Array.of(200, 0, 0, 0));
    try {
      const r = await cli('show', '-f', img);
      expect(r.code).toBe(2);
      expect(r.stdout).toMatch(/^BC   NODE 8000000021000000 cnt=200 /m);
      expect(r.stderr).toMatch(/^hammerfs: B-Tree node (CRC mismatch|element count out of range): B-Tree node 8000000021000000 \(vol 0, byte 0x21088000/);
      expect(r.stderr).not.toMatch(/TypeError|RangeError/);
    } finally {
      undo();
    }
  });

  it('B-Tree loop (a child pointer back to the root, CRC resealed): reported, no hang', async () => {
    const b = Buffer.alloc(4096);
    const fd = fs.openSync(img, 'r');
    fs.readSync(fd, b, 0, 4096, phys(INNER));
    fs.closeSync(fd);
    b.writeBigUInt64LE(0x8000000000000000n | BigInt(ROOT), 0x40 + 3 * 64 + 0x30); // element 3 subtree -> root
    sealBtreeNode(b, 0, 7);
    const undo = patch(img, phys(INNER), b);
    try {
      const r = await cli('show', '-f', img);
      expect(r.code).toBe(2);
      expect(r.stdout).toMatch(/^BY   NODE 8000000021000000 depth=2 error="node already visited: the B-Tree has a loop: B-Tree node 8000000021000000 \(vol 0/m);
      expect(r.stderr).toMatch(/B-Tree has a loop: B-Tree node 8000000021000000 \(vol 0, byte 0x21088000/);
      const c = await cli('checkmap', '-f', img);
      expect(c.code).toBe(1);
    } finally {
      undo();
    }
  });

  it('freemap layer2 entry: blockmap flags it B, checkmap reports BM, both name it', async () => {
    const undo = flip(img, phys(L2_ZONE8) + 9); // bytes_free of the B-Tree big-block
    try {
      const r = await cli('blockmap', '-f', img);
      expectOneLineError(r, 2, new RegExp(`layer2 entry CRC mismatch: freemap layer2 entry 2000000000800420 #66 \\(vol 0, byte 0x${phys(L2_ZONE8).toString(16)}, .*content-v7\\.img\\)`));
      expect(r.stdout).toMatch(/^B       4000000021000000 zone=8 /m);
      const c = await cli('checkmap', '-f', img);
      expect(c.code).toBe(1);
      expect(c.stdout).toMatch(/^BM\tblock=2000000021000000 zone=8  calc 8278016 free, got -?\d+$/m);
      expect(c.stderr).toMatch(/freemap disagrees \(BM\) for big-block 2000000021000000: freemap layer2 entry 2000000000800420 #66 \(vol 0/);
      // show does not depend on freemap CRCs: still clean
      expect((await cli('show', '-f', img)).code).toBe(0);
    } finally {
      undo();
    }
  });

  it('freemap layer1 entry: blockmap flags the layer1 line B and names the entry', async () => {
    const undo = flip(img, phys(0) + 0); // blocks_free of layer1 entry #0
    try {
      const r = await cli('blockmap', '-f', img);
      expectOneLineError(r, 2, /layer1 entry CRC mismatch: freemap layer1 entry 2000000000000000 #0 \(vol 0, byte 0x88000, .*content-v7\.img\)/);
      expect(r.stdout).toMatch(/^B layer1 4000000000000000 @2000000000800000 blocks-free /m);
      expect(r.stdout.split('\n').filter((l) => / zone=/.test(l)).length).toBeGreaterThan(100); // layer2 still listed
    } finally {
      undo();
    }
  });

  it('the copy is clean again after the restores', async () => {
    const r = await cli('checkmap', '-f', img);
    expect([r.code, r.stderr]).toEqual([0, '']);
  });

  it('lock held by another process: exit 3', async () => {
    const require = createRequire(import.meta.url);
    let ext: { flockSync(fd: number, f: string): void };
    try {
      ext = require('fs-ext');
    } catch {
      console.log('fs-ext addon missing: lock test skipped');
      return;
    }
    // flock locks belong to the open file description: a child's shared lock conflicts with ours
    const fd = fs.openSync(img, 'r+');
    try {
      ext.flockSync(fd, 'exnb');
      expectOneLineError(await cli('show', '-f', img), 3, /another process.*content-v7\.img/);
    } finally {
      fs.closeSync(fd);
    }
  });
});
