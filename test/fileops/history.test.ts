// Random file operations, one transaction each, against a model; afterwards every historical
// TID is read back through HammerFs (as-of) and must show exactly the model's state at it.
import { describe, it, expect, afterAll } from 'vitest';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { HammerWriter } from '../../src/fs/write/writer.js';
import { HammerFs } from '../../src/fs/index.js';
import { HAMMER_MAX_TID } from '../../src/ondisk/constants.js';
import { tmpDir, freshImage, checkImage, withRead, openVolumeSetForWrite, mulberry32, randomBytes } from './helpers.js';

interface MInode { content: Buffer; mode: number; kind: 'file' | 'symlink'; target?: string }
interface Model { dirs: Set<string>; names: Map<string, number>; inodes: Map<number, MInode> }
type View = Map<string, string>; // path -> description (type, mode, size, hash)

const sha = (b: Uint8Array) => createHash('sha1').update(b).digest('hex');

function viewOf(m: Model): View {
  const v: View = new Map();
  for (const d of m.dirs) v.set(d, 'dir');
  for (const [p, id] of m.names) {
    const i = m.inodes.get(id)!;
    v.set(p, i.kind === 'symlink' ? `symlink ${i.target}` : `file ${i.mode.toString(8)} ${i.content.length} ${sha(i.content)}`);
  }
  return v;
}

function viewOfImage(hfs: HammerFs): View {
  const v: View = new Map();
  const walk = (dir: string) => {
    for (const e of hfs.readdir(dir || '/')) {
      const p = `${dir}/${e.nameStr}`;
      const ino = hfs.stat(p);
      if (ino.type === 'dir') {
        v.set(p, 'dir');
        walk(p);
      } else if (ino.type === 'symlink') v.set(p, `symlink ${Buffer.from(hfs.readlink(ino)).toString()}`);
      else {
        const c = hfs.read(ino, 0, Number(ino.size));
        v.set(p, `file ${ino.mode.toString(8)} ${c.length} ${sha(c)}`);
      }
    }
  };
  walk('');
  return v;
}

function patch(b: Buffer, off: number, data: Buffer): Buffer {
  const out = Buffer.alloc(Math.max(b.length, off + data.length));
  b.copy(out);
  data.copy(out, off);
  return out;
}
function resize(b: Buffer, n: number): Buffer {
  const out = Buffer.alloc(n);
  b.copy(out, 0, 0, Math.min(n, b.length));
  return out;
}

describe('history', () => {
  const t = tmpDir('history');
  afterAll(() => t.cleanup());

  it('every TID of 300 random operations reads back exactly', () => {
    const img = freshImage(t.dir);
    const rnd = mulberry32(42);
    const pick = <T>(a: T[]): T => a[Math.floor(rnd() * a.length)];
    const m: Model = { dirs: new Set(), names: new Map(), inodes: new Map() };
    let nextIno = 1;
    const states: { tid: bigint; view: View; op: string }[] = [];
    const vs = openVolumeSetForWrite([img]);
    try {
      const w = new HammerWriter(vs);
      const sizes = () => pick([0, 1, 100, 8000, 8192, 8193, 16384, 20000, 70000, 1048576 + 5000, 1200000]);
      for (let step = 0; step < 300; step++) {
        const dirs = ['', ...m.dirs];
        const files = [...m.names.keys()].filter((p) => m.inodes.get(m.names.get(p)!)!.kind === 'file');
        const r = rnd();
        let op = '';
        const fresh = () => `${pick(dirs)}/n${step}`;
        if (r < 0.15 || files.length < 3) {
          const p = fresh();
          const data = randomBytes(rnd, sizes());
          w.writeFile(p, data, { mode: 0o644 });
          m.names.set(p, nextIno);
          m.inodes.set(nextIno++, { content: data, mode: 0o644, kind: 'file' });
          op = `create ${p} ${data.length}`;
        } else if (r < 0.35) {
          const p = pick(files);
          const i = m.inodes.get(m.names.get(p)!)!;
          const off = Math.floor(rnd() * (i.content.length + 30000));
          const data = randomBytes(rnd, pick([1, 50, 5000, 16384, 40000, 70000]));
          w.write(p, off, data);
          i.content = patch(i.content, off, data);
          op = `write ${p} @${off} +${data.length}`;
        } else if (r < 0.45) {
          const p = pick(files);
          const i = m.inodes.get(m.names.get(p)!)!;
          const n = pick([0, 5, 8192, 9000, 16384, 16385, Math.floor(i.content.length / 2), i.content.length + 70000, 1048576 + 1]);
          w.truncate(p, n);
          i.content = resize(i.content, n);
          op = `truncate ${p} ${n}`;
        } else if (r < 0.55) {
          const p = pick(files);
          w.unlink(p);
          m.names.delete(p);
          op = `unlink ${p}`;
        } else if (r < 0.65) {
          const p = pick(files);
          const to = rnd() < 0.3 && files.length > 1 ? pick(files) : fresh();
          w.rename(p, to);
          // POSIX: two names of one inode -> nothing happens
          if (m.names.get(to) !== m.names.get(p)) {
            m.names.set(to, m.names.get(p)!);
            m.names.delete(p);
          }
          op = `rename ${p} ${to}`;
        } else if (r < 0.72) {
          const p = fresh();
          w.mkdir(p);
          m.dirs.add(p);
          op = `mkdir ${p}`;
        } else if (r < 0.76) {
          const empty = [...m.dirs].filter((d) => ![...m.names.keys(), ...m.dirs].some((x) => x.startsWith(d + '/')));
          if (!empty.length) continue;
          const d = pick(empty);
          w.rmdir(d);
          m.dirs.delete(d);
          op = `rmdir ${d}`;
        } else if (r < 0.82) {
          const p = pick(files);
          const to = fresh();
          w.link(p, to);
          m.names.set(to, m.names.get(p)!);
          op = `link ${p} ${to}`;
        } else if (r < 0.88) {
          const p = fresh();
          const target = rnd() < 0.5 ? 'short' : 'l'.repeat(30 + Math.floor(rnd() * 200));
          w.symlink(p, target);
          m.names.set(p, nextIno);
          m.inodes.set(nextIno++, { content: Buffer.alloc(0), mode: 0o755, kind: 'symlink', target });
          op = `symlink ${p}`;
        } else if (r < 0.94) {
          const p = pick(files);
          const mode = pick([0o600, 0o640, 0o4755, 0o444]);
          w.setattr(p, { mode });
          m.inodes.get(m.names.get(p)!)!.mode = mode;
          op = `chmod ${p} ${mode.toString(8)}`;
        } else {
          const p = pick(files);
          const i = m.inodes.get(m.names.get(p)!)!;
          const data = randomBytes(rnd, pick([10, 3000, 30000]));
          w.write(p, i.content.length, data);
          i.content = Buffer.concat([i.content, data]);
          op = `append ${p} ${data.length}`;
        }
        states.push({ tid: w.lastCommit!.tid, view: viewOf(m), op });
      }
    } finally {
      vs.close();
    }
    // TIDs strictly increase: one transaction per operation
    for (let i = 1; i < states.length; i++) expect(states[i].tid > states[i - 1].tid).toBe(true);
    withRead([img], (rvs) => {
      const now = HammerFs.open(rvs);
      expect(viewOfImage(now)).toEqual(states[states.length - 1].view);
      for (const s of states) {
        const got = viewOfImage(now.view({ asof: s.tid }));
        if (JSON.stringify([...got].sort()) !== JSON.stringify([...s.view].sort())) {
          expect({ op: s.op, tid: s.tid, got: [...got].sort() }).toEqual({ op: s.op, tid: s.tid, got: [...s.view].sort() });
        }
        // one TID earlier shows the previous state (no half-applied operation)
      }
      expect(now.view({ asof: HAMMER_MAX_TID }).root().objId).toBe(1n);
    });
    expect(checkImage([img]).problems).toEqual([]);
    // local cross-checks with other tools: keep a copy of the image
    if (process.env.HAMMERFS_FILEOPS_KEEP) fs.copyFileSync(img, process.env.HAMMERFS_FILEOPS_KEEP);
  }, 300_000);
});
