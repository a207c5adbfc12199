// UNDO recovery: an interrupted commit on a real file is rolled back by replay-undo (and by any
// open for writing); REDO records in the active range are tolerated and reported; versions < 4
// (no sequence numbers) use the header's next_offset; show-undo prints the FIFO like hammer(8).
import { describe, test, expect } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { copyImage } from '../helpers/images.js';
import { openVolumeSetForWrite, WritableVolumeSet } from '../../src/volume/writable-volume-set.js';
import { openVolumeSet } from '../../src/volume/volume-set.js';
import { openDeviceForWrite } from '../../src/io/device.js';
import { FaultDevice } from '../../src/io/memory-device.js';
import { IoError } from '../../src/errors.js';
import { FifoWriter, fifoSize, scanActiveRange } from '../../src/volume/undo-fifo.js';
import { recoverUndo } from '../../src/volume/recovery.js';
import { encodeRedo, encodeUndo, undoRecordSize } from '../../src/ondisk/fifo.js';
import { HAMMER_REDO_SYNC, HAMMER_REDO_WRITE, HAMMER_ZONE_UNDO_INDEX } from '../../src/ondisk/constants.js';
import { shortOffset, toZone2 } from '../../src/ondisk/offset.js';
import { encodeVolumeHeader, sealVolumeHeader } from '../../src/ondisk/volume-header.js';
import { newfs } from '../../src/volume/newfs.js';
import { checkFreemap, checkTree } from './check.js';
import { applyWorkload, compareWithModel, modelOf, mulberry32 } from './workload.js';

const DIST_DIR = process.env.HAMMERFS_DIST ?? path.resolve('dist');
const CLI = path.join(DIST_DIR, 'tools/cli.js');
const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', maxBuffer: 1 << 30 });

function consistent(vs: ReturnType<typeof openVolumeSet>) {
  const rep = checkTree(vs);
  expect(rep.problems).toEqual([]);
  expect(checkFreemap(vs, rep.used).problems).toEqual([]);
}

describe('UNDO recovery', () => {
  test.skipIf(!fs.existsSync(CLI))('interrupted commit on an image file: show-undo, replay-undo, reopen', () => {
    const img = copyImage('demo-v7');
    try {
      let vs = openVolumeSetForWrite(img.paths);
      let model = applyWorkload(vs, mulberry32(1), modelOf(vs), { inserts: 1200 });
      vs.tx!.commit();
      vs.close();
      // the next commit dies after its UNDO and header writes, in the middle of the metadata
      const dev = new FaultDevice(openDeviceForWrite(img.paths[0]), { failWriteAt: 8 });
      vs = WritableVolumeSet.fromDevices([dev]);
      applyWorkload(vs, mulberry32(2), model, { inserts: 300, marks: 50, deletes: 50 });
      expect(() => vs.tx!.commit()).toThrow(IoError);
      // part of that commit is on the media: no further transaction before a reopen (recovery)
      expect(() => vs.begin()).toThrow(/reopen the volumes/);
      dev.close();

      const active = cli('show-undo', '-f', img.paths[0], '--active', '--json');
      expect(active.status).toBe(0);
      const recs = active.stdout.trim().split('\n').map((l) => JSON.parse(l));
      expect(recs.length).toBeGreaterThan(5);
      expect(recs[0].first).toBe(true);
      expect(recs.some((r) => r.type === 'UNDO' && r.undoOffset.startsWith('0x1'))).toBe(true); // volume-header bytes
      const text = cli('show-undo', '-f', img.paths[0]);
      expect(text.status).toBe(0);
      const lines = text.stdout.split('\n');
      expect(lines[0]).toBe('vol_label\tDEMO');
      expect(lines.filter((l) => /^3[0-9a-f]{15} UNDO\(\d+\)\tseq=[0-9a-f]{8} offset=[0-9a-f]{16} bytes=\d+/.test(l)).length).toBeGreaterThan(5);
      expect(lines.filter((l) => l.endsWith(' >')).length).toBe(1);

      const r1 = cli('replay-undo', '-f', img.paths[0]);
      expect(r1.status).toBe(0);
      expect(r1.stdout).toMatch(/^Rolled back 3[0-9a-f]{15}\.\.3[0-9a-f]{15}: \d+ UNDO records, \d+ bytes restored/);
      const r2 = cli('replay-undo', '-f', img.paths[0], '--json');
      expect(JSON.parse(r2.stdout).clean).toBe(true);
      const ro = openVolumeSet(img.paths);
      consistent(ro);
      expect(compareWithModel(ro, model)).toEqual([]);
      ro.close();
      // and it takes new commits
      vs = openVolumeSetForWrite(img.paths);
      model = applyWorkload(vs, mulberry32(3), model, { inserts: 100 });
      vs.tx!.commit();
      vs.close();
      const ro2 = openVolumeSet(img.paths);
      consistent(ro2);
      expect(compareWithModel(ro2, model)).toEqual([]);
      ro2.close();
    } finally {
      img.cleanup();
    }
  });

  test('REDO records in the active range are tolerated and keep the range open for a kernel', () => {
    const img = copyImage('v6');
    try {
      let vs = openVolumeSetForWrite(img.paths);
      const model = modelOf(vs);
      const root = vs.root.btreeRoot;
      const orig = vs.read(root, 4096).slice();
      // a flush that logged the root node, wrote REDO WRITE + SYNC, then damaged the node and died
      const bm = vs.root.blockmap[HAMMER_ZONE_UNDO_INDEX];
      const size = fifoSize(vs);
      const scan = scanActiveRange(vs, shortOffset(bm.firstOffset) % size, shortOffset(bm.nextOffset) % size);
      const w = new FifoWriter(vs, scan.last, scan.nextSeq);
      for (let o = 0; o < 4096; o += 400) {
        const n = Math.min(400, 4096 - o);
        w.append(undoRecordSize(n), (seq) => encodeUndo(toZone2(root) + BigInt(o), orig.subarray(o, o + n), seq, vs.version));
      }
      const redo = { objId: 0x100n, offset: 0n, flags: HAMMER_REDO_WRITE, localization: 2, reserved01: 0, reserved02: 0n, payload: new Uint8Array(40).fill(7) };
      w.append(56 + 40 + 8, (seq) => encodeRedo(redo, seq, vs.version));
      w.append(56 + 8, (seq) => encodeRedo({ ...redo, flags: HAMMER_REDO_SYNC, objId: 0n, offset: 0x3000000000000000n, payload: new Uint8Array(0) }, seq, vs.version));
      w.padTail();
      w.writeOut();
      const loc = vs.locate(root, 4096);
      vs.device(loc.vol).write(loc.pos, new Uint8Array(4096).fill(0xee));
      vs.close();
      vs = WritableVolumeSet.fromDevices([openDeviceForWrite(img.paths[0])], { recover: false });
      const r = recoverUndo(vs);
      expect(r.clean).toBe(false);
      expect(r.undone).toBe(11);
      expect(r.bytes).toBe(4096);
      expect(r.redoRecords).toBe(2);
      expect(r.redoSyncOffset).toBe(0x3000000000000000n);
      // REDO present: first_offset stays so a kernel could still run its REDO stage
      expect(vs.root.blockmap[HAMMER_ZONE_UNDO_INDEX].firstOffset).toBe(bm.firstOffset);
      expect(vs.read(root, 4096)).toEqual(orig);
      vs.close();
      const ro = openVolumeSet(img.paths);
      consistent(ro);
      expect(compareWithModel(ro, model)).toEqual([]);
      ro.close();
    } finally {
      img.cleanup();
    }
  });

  test('version 3 (no sequence numbers): commits and recovery through the header next_offset', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hammerfs-v3-'));
    const p = path.join(dir, 'v3.img');
    try {
      fs.writeFileSync(p, '');
      fs.truncateSync(p, 1 << 30);
      const d = openDeviceForWrite(p);
      newfs([d], { label: 'V3', version: 3, force: true });
      d.close();
      let vs = openVolumeSetForWrite([p]);
      expect(vs.version).toBe(3);
      let model = applyWorkload(vs, mulberry32(5), modelOf(vs), { inserts: 600 });
      vs.tx!.commit();
      vs.close();
      for (const n of [3, 5, 9]) {
        const dev = new FaultDevice(openDeviceForWrite(p), { failWriteAt: n });
        vs = WritableVolumeSet.fromDevices([dev]);
        applyWorkload(vs, mulberry32(n), model, { inserts: 200, marks: 20, deletes: 20 });
        expect(() => vs.tx!.commit()).toThrow(IoError);
        dev.close();
        vs = openVolumeSetForWrite([p]);
        consistent(vs);
        expect(compareWithModel(vs, model)).toEqual([]);
        model = applyWorkload(vs, mulberry32(n + 100), model, { inserts: 50 });
        vs.tx!.commit();
        vs.close();
      }
      const ro = openVolumeSet([p]);
      consistent(ro);
      expect(compareWithModel(ro, model)).toEqual([]);
      ro.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('an UNDO range that wraps around the end of the FIFO is found and rolled back', () => {
    const img = copyImage('demo-v7');
    try {
      let vs = openVolumeSetForWrite(img.paths);
      const model = modelOf(vs);
      const size = fifoSize(vs);
      const start = size - 1024;
      // a writer continuing the sequence of the (newfs) DUMMY before `start`, as recovery would
      const seq = start / 512; // newfs DUMMY seq = sector index, so the next one is this
      const w = new FifoWriter(vs, start, seq);
      const root = vs.root.btreeRoot;
      const orig = vs.read(root, 4096).slice();
      for (let o = 0; o < 4096; o += 256) {
        w.append(undoRecordSize(256), (q) => encodeUndo(toZone2(root) + BigInt(o), orig.subarray(o, o + 256), q, vs.version));
      }
      expect(w.pos).toBeLessThan(start); // wrapped
      w.padTail();
      w.writeOut();
      const ub = vs.root.blockmap[HAMMER_ZONE_UNDO_INDEX];
      ub.firstOffset = 0x3000000000000000n + BigInt(start);
      ub.nextOffset = ub.firstOffset; // v4+: the end is found by the sequence scan
      const enc = encodeVolumeHeader(vs.root);
      sealVolumeHeader(enc, vs.version);
      vs.writeHeaderBytes(0, enc);
      const loc = vs.locate(root, 4096);
      vs.device(loc.vol).write(loc.pos, new Uint8Array(4096).fill(0x5a));
      vs.close();
      vs = openVolumeSetForWrite(img.paths);
      expect(vs.recovery?.clean).toBe(false);
      expect(vs.recovery?.undone).toBe(16);
      expect(vs.recovery?.last).toBe(w.pos);
      expect(shortOffset(vs.root.blockmap[HAMMER_ZONE_UNDO_INDEX].firstOffset)).toBe(w.pos);
      expect(compareWithModel(vs, model)).toEqual([]);
      consistent(vs);
      vs.close();
    } finally {
      img.cleanup();
    }
  });
});
