/**
 * newfs reproduces DragonFly's newfs_hammer images byte for byte. Given the fsid and clock each
 * fixture was made with (images/NAME.facts.json), every byte of every volume must equal the
 * real image except vol_crc (@156, every volume) and the 16 vol0_blockmap entry CRCs
 * (@264+40z+36, volume 0): newfs_hammer leaves those 0 or stale, we write the right values,
 * and the test checks that ours are the correct CRCs. Then the result must open with the read
 * path without the warnings the real images raise, and pass checkmap / blockmap checks.
 * demo-v7 goes through the CLI (its summary is compared with demo-v7.newfs.txt), the others
 * through the library.
 */
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { golden, imagePaths, type ImageName } from '../helpers/images.js';
import { allowedDiffs, diffFiles, fixtureInputs, runCliIn, sparseFiles, tempDir } from './helpers.js';
import { newfsPaths } from '../../src/volume/newfs.js';
import { openVolumeSet } from '../../src/volume/volume-set.js';
import { BTree } from '../../src/btree/btree.js';
import { checkmap, scanBlockmap } from '../../src/btree/checkmap.js';
import { volumeHeaderCrc, VOL } from '../../src/ondisk/volume-header.js';
import { blockmapEntryCrc, decodeBlockmapEntry } from '../../src/ondisk/blockmap.js';
import { crcAlgFor } from '../../src/ondisk/crc.js';
import { uuidToString } from '../../src/ondisk/uuid.js';
import { hex64 } from '../../src/ondisk/int64.js';

/** Our CRCs in the allowed fields must be the correct ones for the bytes they cover. */
function checkHeaderCrcs(file: string, volNo: number, version: number): void {
  const b = new Uint8Array(1928);
  const fd = fs.openSync(file, 'r');
  try {
    fs.readSync(fd, b, 0, b.length, 0);
  } finally {
    fs.closeSync(fd);
  }
  const dv = new DataView(b.buffer);
  const alg = crcAlgFor(version);
  expect(dv.getUint32(VOL.crc, true)).toBe(volumeHeaderCrc(b, alg));
  for (let z = 0; z < 16; z++) {
    const e = decodeBlockmapEntry(dv, VOL.blockmap + 40 * z);
    // Volumes other than 0 carry an all-zero blockmap array, CRCs included, as newfs_hammer writes it.
    expect(e.entryCrc, `zone ${z}`).toBe(volNo === 0 ? blockmapEntryCrc(e, alg) : 0);
  }
}

function checkReadPath(paths: string[], originals: string[]): void {
  const ours = openVolumeSet(paths, { lock: 'none' });
  const theirs = openVolumeSet(originals, { lock: 'none' });
  try {
    // newfs_hammer's images warn (vol_crc 0, stale blockmap CRCs); ours must not.
    expect(theirs.warnings.length).toBeGreaterThan(0);
    expect(ours.warnings.map((w) => w.message)).toEqual([]);
    const cm = checkmap(new BTree(ours));
    expect(cm.errors).toBe(0);
    expect(cm.badNodes).toEqual([]);
    expect(cm.nodes).toBe(1);
    expect(cm.leafElms).toBe(2);
    expect(cm.blocks.every((b) => b.verdict === 'correct')).toBe(true);
    const bm = scanBlockmap(ours);
    expect(bm.badLayer1).toBe(0);
    expect(bm.badLayer2).toBe(0);
    expect(ours.root.nextTid).toBe(0x100000000n);
  } finally {
    ours.close();
    theirs.close();
  }
}

function compareVolumes(name: ImageName, paths: string[], version: number): void {
  const originals = imagePaths(name);
  paths.forEach((p, volNo) => {
    const d = diffFiles(originals[volNo], p, allowedDiffs(volNo === 0));
    expect(d.unexpected.map((o) => '0x' + o.toString(16)), `${name} vol ${volNo}`).toEqual([]);
    expect(d.unexpectedCount).toBe(0);
    // vol_crc is 0 in the original, so at least those bytes must differ.
    expect(d.allowedCount).toBeGreaterThan(0);
    checkHeaderCrcs(p, volNo, version);
  });
  checkReadPath(paths, originals);
}

describe('newfs reproduces the newfs_hammer fixtures byte for byte', () => {
  for (const name of ['v6', 'v4', 'multi3'] as ImageName[]) {
    it(`${name} (library)`, () => {
      const inp = fixtureInputs(name);
      const t = tempDir(name);
      try {
        const paths = sparseFiles(t.dir, inp.files, inp.sizes);
        const r = newfsPaths(paths, { label: inp.label, version: inp.version, fsid: inp.fsid, timeUs: inp.timeUs });
        expect(r.createTs).toBe(inp.createTs);
        expect(r.undoSize).toBe(512 * 1024 * 1024);
        compareVolumes(name, paths, inp.version);
      } finally {
        t.cleanup();
      }
    });
  }

  it('demo-v7 (CLI, with the newfs_hammer summary)', async () => {
    const inp = fixtureInputs('demo-v7');
    const t = tempDir('demo-v7');
    try {
      const paths = sparseFiles(t.dir, inp.files, inp.sizes);
      const res = await runCliIn(t.dir, [
        'newfs', '-L', inp.label, '--fsid', uuidToString(inp.fsid), '--time', '0x' + hex64(inp.timeUs), '-f', inp.files[0],
      ]);
      expect(res.stderr).toMatch(/^hammerfs: warning: volume 0 has less than 10 GB/);
      expect(res.code).toBe(0);
      // newfs_hammer's output without its Linux-port VFS warning and the DragonFly cron NOTE.
      const want = golden('demo-v7.newfs.txt').split('\n').slice(1);
      const from = want.findIndex((l) => l.startsWith('NOTE: Please remember'));
      want.splice(from - 1, 7);
      expect(res.stdout.split('\n')).toEqual(want);
      compareVolumes('demo-v7', paths, inp.version);
      expect(fs.readdirSync(t.dir)).toEqual([path.basename(paths[0])]);
    } finally {
      t.cleanup();
    }
  });
});
