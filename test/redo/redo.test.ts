// REDO recovery (stage 2, spec/UNDO.md §5.2) on small fresh images: the FIFO is laid down the
// way a DragonFly kernel leaves it after a crash that followed fsync() (REDO WRITE/TRUNC records
// whose data exists nowhere else, TERM records for what a flush did commit, a SYNC pointing
// back at the oldest REDO still needed, UNDO records of the interrupted flush); then opening the
// volume for writing must make the files read back as the REDO records say.
import { describe, test, expect } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { makeTestImage } from '../../src/volume/newfs.js';
import { openVolumeSetForWrite, WritableVolumeSet } from '../../src/volume/writable-volume-set.js';
import { openVolumeSet, VolumeSet, assembleVolumeSet, readVolumeHeader } from '../../src/volume/volume-set.js';
import { IoError } from '../../src/errors.js';
import { openDeviceForWrite } from '../../src/io/device.js';
import { FaultDevice, MemoryDevice } from '../../src/io/memory-device.js';
import { HammerFs } from '../../src/fs/index.js';
import { HammerWriter } from '../../src/fs/write/writer.js';
import { replayRedo } from '../../src/fs/write/redo.js';
import { recoverUndo, redoStageRegistered, registerRedoStage } from '../../src/volume/recovery.js';
import { fifoOff, fifoSize, recordAt } from '../../src/volume/undo-fifo.js';
import { encodeRedo } from '../../src/ondisk/fifo.js';
import { toZone2, shortOffset } from '../../src/ondisk/offset.js';
import { HAMMER_ZONE_UNDO_INDEX } from '../../src/ondisk/constants.js';
import { createPfs } from '../../src/mirror/pfs-admin.js';
import { KernelLog, pattern, tmpDir } from './kernel.js';

const MiB = 1024 * 1024;
const DIST_DIR = process.env.HAMMERFS_DIST ?? path.resolve('dist');
const CLI = path.join(DIST_DIR, 'tools/cli.js');
const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });

interface Fixture {
  img: string;
  ids: Record<string, bigint>;
  content: Record<string, Uint8Array>;
  cleanup: () => void;
}

/** A fresh image holding committed files (name -> content). */
function fixture(files: Record<string, Uint8Array>, o: { version?: number; size?: number } = {}): Fixture {
  const t = tmpDir('fx');
  const img = path.join(t.dir, 'fs.img');
  makeTestImage(img, { size: o.size ?? 128 * MiB, version: o.version });
  const vs = openVolumeSetForWrite([img]);
  const w = new HammerWriter(vs);
  const ids: Record<string, bigint> = {};
  for (const [name, data] of Object.entries(files)) ids[name] = w.writeFile('/' + name, data);
  w.mkdir('/dir');
  ids.dir = w.objIdOf('/dir');
  vs.close();
  return { img, ids, content: { ...files }, cleanup: t.cleanup };
}

function readAll(img: string, names: string[]): Record<string, Uint8Array> {
  const vs = openVolumeSet([img]);
  try {
    const hfs = HammerFs.open(vs);
    const out: Record<string, Uint8Array> = {};
    for (const n of names) out[n] = hfs.readFile('/' + n);
    return out;
  } finally {
    vs.close();
  }
}

/** `base` with `data` written at `off` (grows like write(2); gaps read as zeros). */
function overlay(base: Uint8Array, off: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.max(base.length, off + data.length));
  out.set(base);
  out.set(data, off);
  return out;
}
function resize(base: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(size);
  out.set(base.subarray(0, Math.min(size, base.length)));
  return out;
}

function fifoState(img: string) {
  const vs = openVolumeSet([img]);
  try {
    const bm = vs.root.blockmap[HAMMER_ZONE_UNDO_INDEX];
    return { first: bm.firstOffset, next: bm.nextOffset, warnings: vs.warnings.map((w) => w.code) };
  } finally {
    vs.close();
  }
}

describe('REDO recovery (stage 2)', () => {
  test('stage 2 is registered by loading src/fs/write/redo.ts', () => {
    expect(redoStageRegistered()).toBe(true);
  });

  for (const version of [7, 4]) {
    test(`v${version}: an fsync'ed write logged before first_offset is replayed after the interrupted flush is rolled back; idempotent`, () => {
      const A = pattern(10000, 1);
      const fx = fixture({ f: A }, { version });
      try {
        const B = pattern(3000, 2);
        let vs = openVolumeSetForWrite([fx.img]);
        expect(vs.recovery!.clean).toBe(true);
        const k = new KernelLog(vs);
        // write(2) + fsync(): REDO only, the data block is not in the B-Tree yet
        const ext = k.write(fx.ids.f, 5000, B);
        // a TERM for a different write of the same file (other offset) does not mask it
        k.termWrite(fx.ids.f, 0);
        // flush 1 committed: first_offset moved here
        const first = k.pos;
        // flush 2 (interrupted): SYNC back to the oldest live REDO, then UNDO of a B-Tree node
        k.sync(ext);
        const root = vs.root.btreeRoot;
        const orig = vs.read(root, 4096).slice();
        k.undo(toZone2(root), orig);
        k.crash(first);
        // ... and the node had been half rewritten when the machine died
        const loc = vs.locate(root, 4096);
        vs.device(loc.vol).write(loc.pos, new Uint8Array(4096).fill(0xee));
        vs.sync();
        vs.close();

        // read-only opens never recover: they warn
        expect(fifoState(fx.img).warnings).toContain('W_UNDO_DIRTY');

        vs = openVolumeSetForWrite([fx.img]);
        const r = vs.recovery!;
        expect(r.clean).toBe(false);
        expect(r.undone).toBeGreaterThan(8);
        expect(r.redoSyncOffset).toBe(fifoOff(ext));
        const redo = r.redo!;
        expect(redo.aborted).toBeNull();
        expect(redo.ran).toBe(true);
        expect(redo.extended).toBe(true);
        expect(redo.extBytes).toBe(first - ext);
        expect(redo.termsCollected).toBe(1);
        expect(redo.writes).toBe(k.count.write);
        expect(redo.writes).toBeGreaterThanOrEqual(Math.ceil(3000 / 448));
        expect(redo.replayed).toBe(redo.writes);
        expect(redo.skipped + redo.failed).toBe(0);
        expect(redo.bytesWritten).toBe(3000);
        expect(redo.commits).toBe(1);
        expect(redo.warnings).toEqual([]);
        // the FIFO is closed
        const bm = vs.root.blockmap[HAMMER_ZONE_UNDO_INDEX];
        expect(bm.firstOffset).toBe(bm.nextOffset);
        vs.close();

        expect(readAll(fx.img, ['f']).f).toEqual(overlay(A, 5000, B));
        expect(fifoState(fx.img).warnings).not.toContain('W_UNDO_DIRTY');
        // a second open finds nothing to do and changes nothing
        vs = openVolumeSetForWrite([fx.img]);
        expect(vs.recovery!.clean).toBe(true);
        expect(vs.recovery!.redo).toBeNull();
        vs.close();
        expect(readAll(fx.img, ['f']).f).toEqual(overlay(A, 5000, B));
      } finally {
        fx.cleanup();
      }
    });
  }

  test('TERM records before first_offset mask WRITE/TRUNC with the same key (TRUNC at any size); TERMs inside the UNDO range do not', () => {
    const F = pattern(5000, 3);
    const fx = fixture({ f: F, g: pattern(9000, 4), h: pattern(700, 5) });
    try {
      const vs = openVolumeSetForWrite([fx.img]);
      const k = new KernelLog(vs);
      // a write flush 1 committed (its bytes are in the file): the TERM names the data record's
      // base offset, so only the REDO piece logged at that offset is masked; the other pieces
      // are replayed and rewrite the same bytes (the kernel keys TERMs by exact offset too)
      const ext = k.write(fx.ids.f, 0, F.subarray(0, 1000));
      const fRecords = k.count.write;
      k.trunc(fx.ids.g, 100); // committed (TERM_TRUNC with another size still matches)
      k.termWrite(fx.ids.f, 0, 16384);
      k.termTrunc(fx.ids.g, 999);
      const H = pattern(500, 7);
      k.write(fx.ids.h, 100, H); // its TERM is in the interrupted flush: replayed
      const hRecords = k.count.write - fRecords;
      const first = k.pos;
      k.sync(ext);
      k.termWrite(fx.ids.h, 100, 500);
      k.crash(first, first + 64); // header next_offset part-way: only advisory
      vs.close();

      const again = openVolumeSetForWrite([fx.img]);
      const redo = again.recovery!.redo!;
      expect(redo.termsCollected).toBe(2);
      expect(redo.writes).toBe(k.count.write);
      expect(redo.truncs).toBe(1);
      expect(fRecords).toBeGreaterThan(1);
      expect(redo.skipped).toBe(2);
      expect(redo.replayed).toBe(fRecords - 1 + hRecords);
      const skipped = redo.ops.filter((o) => o.action === 'skipped');
      expect(skipped.map((o) => [o.kind, o.objId, o.offset])).toEqual([['write', fx.ids.f, 0n], ['trunc', fx.ids.g, 100n]]);
      again.close();
      const got = readAll(fx.img, ['f', 'g', 'h']);
      expect(got.f).toEqual(fx.content.f);
      expect(got.g).toEqual(fx.content.g);
      expect(got.h).toEqual(overlay(fx.content.h, 100, H));
    } finally {
      fx.cleanup();
    }
  });

  test('SYNC inside the UNDO range: WRITE and TRUNC replayed in FIFO order (grow, shrink, holes, multi-block)', () => {
    const A = pattern(6000, 8);
    const fx = fixture({ f: A });
    try {
      const vs = openVolumeSetForWrite([fx.img]);
      const k = new KernelLog(vs);
      const first = k.pos;
      k.sync(first);
      const Z = pattern(40000, 9); // crosses 16 KiB blocks; the small-file record must become a block
      k.write(fx.ids.f, 0, Z);
      k.trunc(fx.ids.f, 12345);
      const W = pattern(100, 10);
      k.write(fx.ids.f, 70000, W); // past EOF: a hole in between
      k.trunc(fx.ids.f, 70050);
      k.crash(first);
      vs.close();

      const again = openVolumeSetForWrite([fx.img]);
      const redo = again.recovery!.redo!;
      expect(redo.extended).toBe(false);
      expect(redo.truncs).toBe(2);
      expect(redo.replayed).toBe(redo.writes + 2);
      expect(redo.bytesWritten).toBe(40100);
      again.close();
      let want = resize(overlay(A, 0, Z), 12345);
      want = resize(overlay(want, 70000, W), 70050);
      expect(readAll(fx.img, ['f']).f).toEqual(want);
    } finally {
      fx.cleanup();
    }
  });

  test('records spanning the FIFO wrap', () => {
    const A = pattern(3000, 11);
    const fx = fixture({ f: A });
    try {
      const vs = openVolumeSetForWrite([fx.img]);
      const size = fifoSize(vs);
      // the kernel's append point is 2 KiB before the end of the FIFO
      const k = new KernelLog(vs, { at: size - 2048, seq: 0x00123400 });
      const B = pattern(4000, 12);
      const ext = k.write(fx.ids.f, 1000, B);
      const first = k.pos;
      expect(first).toBeLessThan(ext); // wrapped
      k.sync(ext);
      k.crash(first);
      vs.close();

      const again = openVolumeSetForWrite([fx.img]);
      const redo = again.recovery!.redo!;
      expect(redo.extended).toBe(true);
      expect(redo.extBytes).toBe(size - ext + first);
      expect(redo.replayed).toBe(redo.writes);
      expect(redo.bytesWritten).toBe(4000);
      const bm = again.root.blockmap[HAMMER_ZONE_UNDO_INDEX];
      expect(bm.firstOffset).toBe(bm.nextOffset);
      again.close();
      expect(readAll(fx.img, ['f']).f).toEqual(overlay(A, 1000, B));
    } finally {
      fx.cleanup();
    }
  });

  test('a sequence break in the extended range abandons REDO with a warning; UNDO is still rolled back', () => {
    const A = pattern(5000, 13);
    const fx = fixture({ f: A });
    try {
      const vs = openVolumeSetForWrite([fx.img]);
      const k = new KernelLog(vs);
      const ext = k.write(fx.ids.f, 0, pattern(2000, 14));
      const first = k.pos;
      k.sync(ext);
      const root = vs.root.btreeRoot;
      const orig = vs.read(root, 4096).slice();
      k.undo(toZone2(root), orig);
      k.crash(first);
      // a later, wrapped-around writer reused the sector of the second REDO record
      const victim = k.records[1];
      const rec = recordAt(vs, victim.pos);
      expect(rec.rec?.kind).toBe('redo');
      const d = rec.rec!.kind === 'redo' ? rec.rec!.redo : null;
      const forged = encodeRedo({ ...d!, payload: d!.payload }, victim.seq + 0x100, vs.version);
      const at = vs.locate(fifoOff(victim.pos), forged.length);
      vs.device(at.vol).write(at.pos, forged);
      const loc = vs.locate(root, 4096);
      vs.device(loc.vol).write(loc.pos, new Uint8Array(4096).fill(0x55));
      vs.sync();
      vs.close();

      const again = openVolumeSetForWrite([fx.img]);
      const r = again.recovery!;
      expect(r.undone).toBeGreaterThan(8);
      expect(r.redo!.ran).toBe(false);
      expect(r.redo!.aborted).toMatch(/sequence break at 30000000[0-9a-f]{8}.*overwritten/);
      expect(r.redo!.warnings[0]).toMatch(/REDO recovery abandoned/);
      expect(again.warnings.some((w) => w.code === 'W_REDO')).toBe(true);
      const bm = again.root.blockmap[HAMMER_ZONE_UNDO_INDEX];
      expect(bm.firstOffset).toBe(bm.nextOffset);
      again.close();
      expect(readAll(fx.img, ['f']).f).toEqual(A);
    } finally {
      fx.cleanup();
    }
  });

  test('records naming a missing inode, a directory or a missing PFS are reported and skipped; the rest is replayed', () => {
    const A = pattern(2000, 15);
    const fx = fixture({ f: A });
    try {
      const vs = openVolumeSetForWrite([fx.img]);
      const k = new KernelLog(vs);
      const first = k.pos;
      k.sync(first);
      k.write(0x7777777n, 0, pattern(10, 16));
      k.write(fx.ids.dir, 0, pattern(10, 17));
      k.trunc(fx.ids.f, 5, 9 << 16);
      const B = pattern(50, 18);
      k.write(fx.ids.f, 1990, B);
      k.crash(first);
      vs.close();

      const again = openVolumeSetForWrite([fx.img]);
      const redo = again.recovery!.redo!;
      expect(redo.failed).toBe(3);
      expect(redo.replayed).toBe(1);
      expect(redo.ops.filter((o) => o.action === 'failed').map((o) => o.reason)).toEqual([
        'no such inode', 'not a regular file', expect.stringMatching(/^PFS 9: /),
      ]);
      expect(redo.warnings.length).toBe(3);
      again.close();
      expect(readAll(fx.img, ['f']).f).toEqual(overlay(A, 1990, B));
    } finally {
      fx.cleanup();
    }
  });

  test('REDO for two PFSes: replayed PFS by PFS in one transaction', () => {
    const A = pattern(3000, 19);
    const fx = fixture({ f: A });
    try {
      let vs = openVolumeSetForWrite([fx.img]);
      createPfs(vs, 3, { slave: false, label: 'p3' });
      const w3 = new HammerWriter(vs, { pfs: 3 });
      const C = pattern(4000, 20);
      const g = w3.writeFile('/g', C);
      const k = new KernelLog(vs);
      const first = k.pos;
      k.sync(first);
      const B = pattern(600, 21);
      const D = pattern(900, 22);
      k.write(g, 100, D, 3 << 16);
      k.write(fx.ids.f, 2800, B);
      k.trunc(g, 2000, 3 << 16);
      k.crash(first);
      vs.close();

      vs = openVolumeSetForWrite([fx.img]);
      const redo = vs.recovery!.redo!;
      expect(redo.failed).toBe(0);
      expect(redo.commits).toBe(1);
      vs.close();
      expect(readAll(fx.img, ['f']).f).toEqual(overlay(A, 2800, B));
      const ro = openVolumeSet([fx.img]);
      expect(HammerFs.open(ro, { pfs: 3 }).readFile('/g')).toEqual(resize(overlay(C, 100, D), 2000));
      ro.close();
    } finally {
      fx.cleanup();
    }
  });

  test('a crash at any write during recovery (two PFSes): the next open recovers to the same files', () => {
    const A = pattern(20000, 23);
    const fx = fixture({ f: A, g: pattern(100, 24) }, { size: 96 * MiB });
    try {
      const vs = openVolumeSetForWrite([fx.img]);
      createPfs(vs, 2, { slave: false });
      const P = pattern(3000, 32);
      const p = new HammerWriter(vs, { pfs: 2 }).writeFile('/p', P);
      const k = new KernelLog(vs);
      const ext = k.write(fx.ids.f, 15000, pattern(3000, 25));
      const first = k.pos;
      k.sync(ext);
      k.trunc(fx.ids.g, 10);
      k.write(p, 2500, pattern(1000, 33), 2 << 16);
      const root = vs.root.btreeRoot;
      k.undo(toZone2(root), vs.read(root, 4096).slice());
      k.crash(first);
      const loc = vs.locate(root, 4096);
      vs.device(loc.vol).write(loc.pos, new Uint8Array(4096).fill(0xab));
      vs.sync();
      vs.close();
      const crashed = new Uint8Array(fs.readFileSync(fx.img));
      const want = { f: overlay(A, 15000, pattern(3000, 25)), g: resize(fx.content.g, 10), p: overlay(P, 2500, pattern(1000, 33)) };

      let completed = false;
      let crashes = 0;
      for (let n = 1; n < 300 && !completed; n++) {
        const mem = new MemoryDevice(fx.img, crashed.slice());
        try {
          const done = WritableVolumeSet.fromDevices([new FaultDevice(mem, { failWriteAt: n })]);
          expect(done.recovery!.redo!.commits).toBe(1);
          done.close();
          completed = true;
        } catch (e) {
          expect(e).toBeInstanceOf(IoError);
          crashes++;
        }
        WritableVolumeSet.fromDevices([mem]).close();
        const ro = new VolumeSet(assembleVolumeSet([{ device: mem, header: readVolumeHeader(mem) }]));
        const got = { f: HammerFs.open(ro).readFile('/f'), g: HammerFs.open(ro).readFile('/g'), p: HammerFs.open(ro, { pfs: 2 }).readFile('/p') };
        expect(got).toEqual(want);
      }
      expect(completed).toBe(true);
      expect(crashes).toBeGreaterThanOrEqual(8); // stage 1 and the replay commit write ~10 times
    } finally {
      fx.cleanup();
    }
  });

  test('recoverUndo({ redo: false }) leaves the REDO range open; replayRedo() can run it later', () => {
    const A = pattern(1000, 26);
    const fx = fixture({ f: A });
    try {
      let vs = openVolumeSetForWrite([fx.img]);
      const k = new KernelLog(vs);
      const first = k.pos;
      k.sync(first);
      const B = pattern(10, 27);
      k.write(fx.ids.f, 0, B);
      k.crash(first);
      vs.close();
      vs = WritableVolumeSet.fromDevices([openDeviceForWrite(fx.img)], { recover: false });
      const r = recoverUndo(vs, { redo: false });
      expect(r.redo).toBeNull();
      expect(r.redoRecords).toBe(2);
      expect(shortOffset(vs.root.blockmap[HAMMER_ZONE_UNDO_INDEX].firstOffset)).toBe(first);
      const rep = replayRedo(vs, r);
      expect(rep.replayed).toBe(1);
      vs.close();
      expect(readAll(fx.img, ['f']).f).toEqual(overlay(A, 0, B));
    } finally {
      fx.cleanup();
    }
  });

  test('no REDO stage loaded: the range stays open and the set carries a warning', () => {
    const fx = fixture({ f: pattern(1000, 34) });
    registerRedoStage(null);
    try {
      let vs = openVolumeSetForWrite([fx.img]);
      const k = new KernelLog(vs);
      const first = k.pos;
      k.sync(first);
      k.write(fx.ids.f, 0, pattern(10, 35));
      k.crash(first);
      vs.close();
      vs = openVolumeSetForWrite([fx.img]);
      expect(vs.recovery!.redo).toBeNull();
      expect(vs.warnings.map((w) => w.code)).toContain('W_REDO_NOT_REPLAYED');
      expect(shortOffset(vs.root.blockmap[HAMMER_ZONE_UNDO_INDEX].firstOffset)).toBe(first);
      vs.close();
      // with the stage back, the next open replays
      registerRedoStage(replayRedo);
      vs = openVolumeSetForWrite([fx.img]);
      expect(vs.recovery!.redo!.replayed).toBe(1);
      vs.close();
      expect(readAll(fx.img, ['f']).f).toEqual(overlay(fx.content.f, 0, pattern(10, 35)));
    } finally {
      registerRedoStage(replayRedo);
      fx.cleanup();
    }
  });

  test.skipIf(!fs.existsSync(CLI))('CLI: read-only commands warn, replay-undo reports both stages (--json), then the FIFO is clean', () => {
    const A = pattern(4000, 28);
    const fx = fixture({ f: A });
    try {
      const vs = openVolumeSetForWrite([fx.img]);
      const k = new KernelLog(vs);
      const ext = k.write(fx.ids.f, 4000, pattern(1000, 29));
      k.termWrite(fx.ids.f, 0);
      const first = k.pos;
      k.sync(ext);
      k.crash(first);
      vs.close();

      const ls = cli('ls', '-f', fx.img, '/');
      expect(ls.status).toBe(0);
      expect(ls.stderr).toMatch(/hammerfs: warning: volume was not cleanly unmounted; `hammerfs replay-undo` would recover it/);
      const cat = cli('cat', '-f', fx.img, '/f');
      expect(cat.status).toBe(0);
      expect(cat.stdout.length).toBeGreaterThan(0);

      const r1 = cli('replay-undo', '-f', fx.img, '--json');
      expect(r1.status).toBe(0);
      const j = JSON.parse(r1.stdout);
      expect(j.clean).toBe(false);
      expect(j.redoRecords).toBe(1); // stage 1 sees only the SYNC: the rest lies before first_offset
      expect(j.redoSyncOffset).toBe('0x' + fifoOff(ext).toString(16).padStart(16, '0'));
      expect(j.redo.replayed).toBe(k.count.write);
      expect(j.redo.termsCollected).toBe(1);
      expect(j.redo.ops[0]).toMatchObject({ kind: 'write', action: 'replayed', objId: '0x' + fx.ids.f.toString(16).padStart(16, '0') });
      const r2 = cli('replay-undo', '-f', fx.img);
      expect(r2.status).toBe(0);
      expect(r2.stdout).toMatch(/^UNDO FIFO clean at 30000000[0-9a-f]{8}: nothing to undo/);
      const ls2 = cli('ls', '-f', fx.img, '/');
      expect(ls2.stderr).not.toMatch(/not cleanly unmounted/);
      expect(readAll(fx.img, ['f']).f).toEqual(overlay(A, 4000, pattern(1000, 29)));
    } finally {
      fx.cleanup();
    }
  });

  test.skipIf(!fs.existsSync(CLI))('replay-undo text output names both stages', () => {
    const fx = fixture({ f: pattern(100, 30) });
    try {
      const vs = openVolumeSetForWrite([fx.img]);
      const k = new KernelLog(vs);
      const first = k.pos;
      k.sync(first);
      k.write(fx.ids.f, 0, pattern(20, 31));
      k.crash(first);
      vs.close();
      const r = cli('replay-undo', '-f', fx.img);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/^Rolled back 3[0-9a-f]{15}\.\.3[0-9a-f]{15}: 0 UNDO records, 0 bytes restored\nREDO from 3[0-9a-f]{15}: 1 replayed \(20 bytes written\), 0 already committed, 0 failed; 1 WRITE, 0 TRUNC records\n$/);
    } finally {
      fx.cleanup();
    }
  });
});
