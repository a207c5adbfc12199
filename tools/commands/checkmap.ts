/**
 * hammerfs checkmap: recompute which zone owns each referenced big-block and how many bytes are
 * used (from the freemap, every B-Tree node and record, and every UNDO record) and compare with
 * the freemap, as `hammer checkmap` does. Exit 0 when consistent, 1 when problems were found
 * (BZ zone mismatch, BM bytes_free mismatch, BA reference past append_off, BU unresolvable
 * reference, bad B-Tree nodes). Newfs quirks (vol_crc 0, stale blockmap entry CRCs) are warnings.
 */
import type { CommandModule } from 'yargs';
import { withVolumes, openReadOnly, run, type CommonArgs } from '../common.js';
import { printWarnings } from '../format/warnings.js';
import { Output, printJson } from '../output.js';
import { BTree } from '../../src/btree/btree.js';
import { checkmap } from '../../src/btree/checkmap.js';
import { volumeSummary, printVolumeSummary, ZoneStats, printZoneStats, zoneStatsJson } from '../format/header.js';
import { printCheckmap, checkmapJson } from '../format/blockmap.js';
import { hex64 } from '../../src/ondisk/int64.js';
import { describeWhere } from '../../src/errors.js';
import { EXIT_PROBLEMS } from '../exit.js';

interface CheckmapArgs extends CommonArgs {
  verbose?: number;
}

export const checkmapCommand: CommandModule<object, CheckmapArgs> = {
  command: 'checkmap',
  describe: 'check the freemap against the B-Tree and UNDO FIFO (exit 1 on problems), as hammer checkmap does',
  builder: (y) => withVolumes(y).option('verbose', { alias: 'v', type: 'count', describe: '-v: every checked big-block and zone statistics' }) as never,
  handler: run<CheckmapArgs>((a) => {
    const vs = openReadOnly(a, { warnings: false });
    if (!a.json && !a.quiet) printWarnings(vs.warnings);
    try {
      const verbose = a.verbose ?? 0;
      const r = checkmap(new BTree(vs));
      const stats = new ZoneStats();
      for (const b of r.blocks) stats.addLayer2(b.layer2.zone, b.layer2.bytesFree);
      const bad = r.errors + r.badNodes.length;
      if (a.json) {
        printJson({ command: 'checkmap', summary: volumeSummary(vs), ...checkmapJson(r), zoneStats: zoneStatsJson(stats.zones), clean: bad === 0, warnings: vs.warnings.map((w) => ({ code: w.code, message: w.message })) });
      } else {
        const o = new Output();
        printVolumeSummary(o, volumeSummary(vs));
        printCheckmap(o, r, verbose);
        if (verbose) printZoneStats(o, stats.zones);
        if (r.badNodes.length || verbose) o.line(`${r.badNodes.length} bad nodes`);
        if (r.errors || verbose) o.line(`${r.errors} errors`);
        o.flush();
      }
      if (bad) {
        const first = r.badNodes[0]
          ? `${r.badNodes[0].problem}: ${describeWhere(r.badNodes[0].where)}`
          : (() => {
              const b = r.blocks.find((x) => x.verdict !== 'correct');
              if (b) return `freemap disagrees (${b.verdict}) for big-block ${hex64(b.block)}: ${describeWhere(b.where)}`;
              const u = r.unmapped[0];
              return u ? `unresolvable ${u.source} reference ${hex64(u.offset)}: ${u.message}` : 'problems found';
            })();
        process.stderr.write(`hammerfs: checkmap found ${bad} problem${bad === 1 ? '' : 's'}; first: ${first}\n`);
        return EXIT_PROBLEMS;
      }
    } finally {
      vs.close();
    }
  }),
};
