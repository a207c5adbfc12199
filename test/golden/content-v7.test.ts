/**
 * content-v7 (files, history, three PFSs, a 3-level tree) has no golden text in images/: the
 * figures below were produced locally with DragonFly's userland (kusumi/lh1 `hammer -f IMG show`,
 * `show -v`, `blockmap -v`, `checkmap -v`) and checked against content-v7.manifest.json, then
 * hard-coded here. The digests are SHA-256 of JSON.stringify(parse*(text)) of lh1's output, with
 * two documented differences applied to lh1's text first:
 *  - a directory entry name containing a TAB is printed by us as "tab\x09here" (hammer prints the
 *    raw control byte);
 *  - an inode whose 24-byte inline symlink fills ext.symlink completely: hammer prints it with %s
 *    and runs on into the following mtime bytes; we stop at the 24th byte.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { goldenJson, imagePaths } from '../helpers/images.js';
import { runCli, type CliResult } from './cli.js';
import { parseShow, parseBlockmap, parseCheckmap } from './parse.js';
import { openVolumeSet } from '../../src/volume/volume-set.js';
import { BTree } from '../../src/btree/btree.js';
import { walkBTree } from '../../src/btree/walk.js';
import { checkmap } from '../../src/btree/checkmap.js';

const digest = (x: unknown) => createHash('sha256').update(JSON.stringify(x)).digest('hex');

// From lh1 on content-v7.img (see file comment).
const LH1 = {
  showFacts: '3626b82f73cf20bb9d62e8f705a669fe41e28b88c7da132fa1853207c5df727b',
  showVFacts: '48ca4d5383f1b9e05c245080332acf180f5ec83e0ec5a81b8b430654cde71f20',
  blockmapVFacts: 'd5e9b9b3301c88d431b5f68ac63a96b37f9d91e3803cadebaf8eda66b1bee554',
  checkmapVFacts: '44a5ba5e4f5ade7a33d79d6d93cb64ddb19caf7a0487a24c82fc46d4819d0b91',
  nodes: 27,
  internal: 3,
  leaves: 24,
  nodesByDepth: [1, 2, 24],
  leafElms: 1339,
  deleted: 256,
  recTypes: { '01': 304, '10': 785, '11': 237, '14': 5, '15': 3, '16': 4, '17': 1 },
  zoneStats: { 8: [1, 27, 110592], 9: [1, 554, 49371], 10: [2, 682, 13238272], 11: [1, 103, 192736] } as Record<number, [number, number, number]>,
  checked: [
    ['2000000021000000', 8, 8278016], ['2000000021800000', 9, 8337760], ['2000000022000000', 11, 8195872],
    ['2000000022800000', 10, 0], ['2000000023000000', 10, 3538944],
  ] as [string, number, number][],
};

describe('golden content-v7', () => {
  const vols = imagePaths('content-v7').join(':');
  const manifest = goldenJson('content-v7.manifest.json');
  const out: Record<string, CliResult> = {};
  beforeAll(async () => {
    const runs: Record<string, string[]> = { show: ['show'], 'show-v': ['show', '-v'], 'blockmap-v': ['blockmap', '-v'], 'checkmap-v': ['checkmap', '-v'], json: ['show', '--json'] };
    const ks = Object.keys(runs);
    const rs = await Promise.all(ks.map((k) => runCli([...runs[k], '--quiet', '-f', vols])));
    ks.forEach((k, i) => (out[k] = rs[i]));
  }, 180_000);

  it('all commands exit 0 with nothing on stderr (--quiet)', () => {
    for (const [k, r] of Object.entries(out)) expect([k, r.code, r.stderr]).toEqual([k, 0, '']);
  });

  it('show: every node and element fact equals DragonFly\'s', () => {
    const f = parseShow(out.show.stdout);
    expect(f.nodes).toHaveLength(LH1.nodes);
    expect(f.nodes.filter((n) => n.type === 'I')).toHaveLength(LH1.internal);
    expect(LH1.nodesByDepth.map((_, d) => f.nodes.filter((n) => n.depth === d).length)).toEqual(LH1.nodesByDepth);
    const leafElms = f.nodes.filter((n) => n.type === 'L').flatMap((n) => n.elms);
    expect(leafElms).toHaveLength(LH1.leafElms);
    expect(leafElms.filter((e) => e.mark === 'd')).toHaveLength(LH1.deleted);
    const rt: Record<string, number> = {};
    for (const e of leafElms) rt[e.rt] = (rt[e.rt] ?? 0) + 1;
    expect(rt).toEqual(LH1.recTypes);
    expect(leafElms.every((e) => e.crcPrefix === 'i' && !e.error && e.flags === 'G------')).toBe(true);
    expect(f.nodes.every((n) => n.bad === ' ' && n.mark === ' ')).toBe(true);
    expect(digest(f)).toBe(LH1.showFacts);
  });

  it('show -v: zone statistics and 0 bad nodes/elms/records, as DragonFly', () => {
    const f = parseShow(out['show-v'].stdout);
    expect(f.counters).toEqual({ 'bad nodes': 0, 'bad elms': 0, 'bad records': 0 });
    for (const [z, [blocks, items, used]] of Object.entries(LH1.zoneStats)) expect(f.zoneStats![+z]).toMatchObject({ blocks, items, used });
    expect(digest(f)).toBe(LH1.showVFacts);
  });

  it('show --json agrees with the manifest', () => {
    const j = JSON.parse(out.json.stdout);
    const c = manifest.counts;
    expect(j.stats).toMatchObject({ nodes: c.btree.nodes, leafElms: c.records, maxDepth: c.btree.levels - 1, badNodes: 0, badElms: 0, badRecords: 0 });
    expect(j.nodes[0].offset).toBe(c.btree.root);
    expect(j.nodes[0].mirrorTid).toBe(c.btree.root_mirror_tid);
    const leaf = j.nodes.filter((n: any) => n.type === 'L').flatMap((n: any) => n.elms);
    expect(leaf.filter((e: any) => e.deleteTid !== '0x0000000000000000')).toHaveLength(c.deleted_records);
    const byType: Record<string, number> = {};
    const names: Record<number, string> = { 1: 'INODE', 0x10: 'DATA', 0x11: 'DIRENTRY', 0x14: 'FIX', 0x15: 'PFS', 0x16: 'SNAPSHOT', 0x17: 'CONFIG' };
    for (const e of leaf) byType[names[e.recType]] = (byType[names[e.recType]] ?? 0) + 1;
    expect(byType).toEqual(c.records_by_type);
    // decoded payloads: every PFS of the manifest, every snapshot
    const pfs = leaf.filter((e: any) => e.record?.type === 'pfs').map((e: any) => e.record);
    expect(pfs.map((p: any) => [p.label, p.sharedUuid, p.uniqueUuid, p.syncEndTid])).toEqual(
      manifest.pfs.map((p: any) => [p.label, p.shared_uuid, p.unique_uuid, p.sync_end_tid]));
    const snaps = leaf.filter((e: any) => e.record?.type === 'snapshot').map((e: any) => `${e.record.tid}:${e.record.label}`).sort();
    for (const s of manifest.snapshots) expect(snaps).toContain(`${s.tid}:${s.label}`);
    for (const z of [8, 9, 10, 11]) {
      const st = j.zoneStats[z];
      expect([st.blocks, st.items, st.usedBytes]).toEqual(LH1.zoneStats[z]);
    }
  });

  it('blockmap -v: same layer1/layer2 facts as DragonFly', () => {
    const f = parseBlockmap(out['blockmap-v'].stdout);
    expect(f.layer1).toHaveLength(1);
    expect(f.counters).toEqual({ 'bad layer1': 0, 'bad layer2': 0 });
    expect(digest(f)).toBe(LH1.blockmapVFacts);
  });

  it('checkmap -v: clean, and every checked big-block as DragonFly saw it', () => {
    const f = parseCheckmap(out['checkmap-v'].stdout);
    expect(f.counters).toEqual({ 'bad nodes': 0, errors: 0 });
    expect(f.lines.every((l) => l.verdict === 'correct')).toBe(true);
    expect(f.lines.slice(-5).map((l) => [l.block, l.zone, l.free])).toEqual(LH1.checked);
    expect(digest(f)).toBe(LH1.checkmapVFacts);
  });

  it('library: walk and checkmap in-process give the same figures', () => {
    const vs = openVolumeSet(imagePaths('content-v7'));
    try {
      const tree = new BTree(vs);
      let crc32c = 0;
      const st = walkBTree(tree, { onNode: (n) => { crc32c += n.dataCrc?.filter((v) => v === 'crc32c').length ?? 0; } });
      expect(st).toEqual({ nodes: 27, elms: 1339 + 26, leafElms: 1339, badNodes: 0, badElms: 0, badRecords: 0, maxDepth: 2 });
      expect(crc32c).toBe(1339);
      const r = checkmap(tree);
      expect(r.errors).toBe(0);
      expect(r.badNodes).toEqual([]);
      expect(r.leafElms).toBe(1339);
      expect(r.blocks.slice(-5).map((b) => [b.block.toString(16), b.layer2.zone, b.layer2.bytesFree, b.verdict])).toEqual(LH1.checked.map((c) => [...c, 'correct']));
    } finally {
      vs.close();
    }
  });
});
