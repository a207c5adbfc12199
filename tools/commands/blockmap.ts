/**
 * hammerfs blockmap: the freemap as `hammer blockmap` lists it — each layer1 entry in use and
 * the layer2 entry of every big-block below it (zone, append_off, bytes_free; -v adds volume,
 * indices, byte offsets, fill and CRCs; -vv lists past the first unavailable big-block).
 * Flags in the first columns: B bad CRC, A append_off > 8 MiB, F bytes_free out of range.
 * Bad entries are listed in place; the command then names the first one on stderr and exits 2.
 */
import type { CommandModule } from 'yargs';
import { withVolumes, openReadOnly, run, type CommonArgs } from '../common.js';
import { printWarnings } from '../format/warnings.js';
import { Output, printJson } from '../output.js';
import { scanBlockmap } from '../../src/btree/checkmap.js';
import { volumeSummary, printVolumeSummary, ZoneStats, printZoneStats, zoneStatsJson } from '../format/header.js';
import { layer1Line, layer2Line, layer1Json, layer2Json } from '../format/blockmap.js';
import type { Layer1Report, Layer2Report } from '../../src/btree/checkmap.js';
import { describeWhere } from '../../src/errors.js';
import { EXIT_BAD_INPUT } from '../exit.js';

/** What is wrong with a flagged entry, for the stderr line. */
function badEntry(l1?: Layer1Report, l2?: Layer2Report): string | null {
  if (l1 && !l1.crcOk) return `freemap layer1 entry CRC mismatch: ${describeWhere(l1.where)}`;
  if (!l2) return null;
  const what = [!l2.crcOk && 'CRC mismatch', l2.badAppend && `append_off ${l2.entry.appendOff} above 8 MiB`, l2.badFree && `bytes_free ${l2.entry.bytesFree} out of range`].filter(Boolean).join(', ');
  return what ? `freemap layer2 entry ${what}: ${describeWhere(l2.where)}` : null;
}

interface BlockmapArgs extends CommonArgs {
  verbose?: number;
}

export const blockmapCommand: CommandModule<object, BlockmapArgs> = {
  command: 'blockmap',
  describe: 'list the freemap: layer1 entries and per-big-block layer2 entries, as hammer blockmap does',
  builder: (y) =>
    withVolumes(y).option('verbose', { alias: 'v', type: 'count', describe: '-v: indices, offsets, fill, CRCs and zone statistics; -vv: every entry' }) as never,
  handler: run<BlockmapArgs>((a) => {
    const vs = openReadOnly(a, { warnings: false });
    if (!a.json && !a.quiet) printWarnings(vs.warnings);
    try {
      const verbose = a.verbose ?? 0;
      const stats = new ZoneStats();
      let firstBad: string | null = null;
      const note = (l1?: Layer1Report, l2?: Layer2Report) => {
        if (!firstBad) firstBad = badEntry(l1, l2);
      };
      const finish = (st: { badLayer1: number; badLayer2: number }): number => {
        if (!st.badLayer1 && !st.badLayer2) return 0;
        process.stderr.write(`hammerfs: ${firstBad ?? 'bad freemap entries'} (${st.badLayer1} bad layer1, ${st.badLayer2} bad layer2 flags)\n`);
        return EXIT_BAD_INPUT;
      };
      if (a.json) {
        const layer1: ReturnType<typeof layer1Json>[] = [];
        const st = scanBlockmap(vs, {
          all: verbose >= 2,
          onLayer1: (l1) => {
            note(l1);
            layer1.push(layer1Json(l1));
          },
          onLayer2: (l2) => {
            note(undefined, l2);
            layer1[layer1.length - 1].layer2.push(layer2Json(l2));
            stats.addLayer2(l2.entry.zone, l2.entry.bytesFree);
          },
        });
        printJson({
          command: 'blockmap', summary: volumeSummary(vs), layer1, zoneStats: zoneStatsJson(stats.zones),
          badLayer1: st.badLayer1, badLayer2: st.badLayer2, warnings: vs.warnings.map((w) => ({ code: w.code, message: w.message })),
        });
        return finish(st);
      }
      const o = new Output();
      printVolumeSummary(o, volumeSummary(vs));
      const st = scanBlockmap(vs, {
        all: verbose >= 2,
        onLayer1: (l1) => {
          note(l1);
          o.line(layer1Line(l1));
        },
        onLayer2: (l2) => {
          note(undefined, l2);
          o.line(layer2Line(l2, verbose));
          stats.addLayer2(l2.entry.zone, l2.entry.bytesFree);
        },
      });
      if (verbose) printZoneStats(o, stats.zones);
      // NOTE: hammer(8) prints the layer1 counter on its "bad layer2" line; we print the real count.
      if (st.badLayer1 || verbose) o.line(`${st.badLayer1} bad layer1`);
      if (st.badLayer2 || verbose) o.line(`${st.badLayer2} bad layer2`);
      o.flush();
      return finish(st);
    } finally {
      vs.close();
    }
  }),
};
