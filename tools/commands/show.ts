/**
 * hammerfs show: the whole B-Tree as `hammer show` prints it (every node with CRC status, every
 * element with its checks, data CRCs and decoded payloads), or one JSON document with --json.
 * Damage is shown in place and the walk goes on; exit 0 when every node, element and record is
 * good, 2 when something is bad (each bad node named on stderr).
 */
import type { CommandModule } from 'yargs';
import { withVolumes, openReadOnly, run, type CommonArgs } from '../common.js';
import { printWarnings } from '../format/warnings.js';
import { Output, printJson } from '../output.js';
import { BTree } from '../../src/btree/btree.js';
import { walkBTree, type WalkedNode } from '../../src/btree/walk.js';
import { volumeSummary, printVolumeSummary, ZoneStats, printZoneStats, zoneStatsJson } from '../format/header.js';
import { printShowNode, printShowTrailer, showNodeJson, nodeProblem } from '../format/show.js';
import { EXIT_BAD_INPUT } from '../exit.js';
import { ProgressLine } from '../progress.js';

interface ShowArgs extends CommonArgs {
  verbose?: number;
  records?: boolean;
  'data-crc'?: boolean;
}

/** At most this many bad nodes are named on stderr; the rest are counted. */
const MAX_STDERR_PROBLEMS = 10;

export const showCommand: CommandModule<object, ShowArgs> = {
  command: 'show',
  describe: 'dump the B-Tree (nodes, elements, CRC checks, decoded records) as hammer show does',
  builder: (y) =>
    withVolumes(y)
      .option('verbose', { alias: 'v', type: 'count', describe: '-v: zone statistics and bad counters; -vvv: config text' })
      .option('records', { type: 'boolean', default: true, describe: 'decode record payloads (--no-records: keys only, like -qq)' })
      .option('data-crc', { type: 'boolean', default: true, describe: 'recompute every record\'s data CRC' }) as never,
  handler: run<ShowArgs>((a) => {
    const vs = openReadOnly(a, { warnings: false });
    if (!a.json && !a.quiet) printWarnings(vs.warnings);
    try {
      const tree = new BTree(vs);
      const verbose = a.verbose ?? 0;
      const problems: string[] = [];
      const noteProblem = (n: WalkedNode) => {
        const p = nodeProblem(n);
        if (p) problems.push(p);
      };
      const summary = volumeSummary(vs);
      if (a.json) {
        const stats = new ZoneStats();
        const nodes: unknown[] = [];
        const st = walkBTree(tree, {
          checkData: a['data-crc'] !== false,
          onNode: (n) => {
            noteProblem(n);
            nodes.push(showNodeJson(vs, n, a.records !== false));
            if (n.node) {
              stats.add(n.offset, 4096);
              for (let i = 0; i < n.elms; i++) {
                if (!n.node.isLeaf) break;
                const e = n.node.leaf(i);
                if (e.btype === 0x52) stats.add(e.dataOffset, e.dataLen);
              }
            }
          },
        });
        printJson({
          command: 'show', summary, nodes,
          stats: { nodes: st.nodes, elms: st.elms, leafElms: st.leafElms, maxDepth: st.maxDepth, badNodes: st.badNodes, badElms: st.badElms, badRecords: st.badRecords },
          zoneStats: zoneStatsJson(stats.zones),
          warnings: vs.warnings.map((w) => ({ code: w.code, message: w.message })),
        });
        return report(problems, st.badElms + st.badRecords);
      }
      const o = new Output();
      printVolumeSummary(o, summary);
      const stats = verbose ? new ZoneStats() : undefined;
      // Progress only when the listing goes elsewhere (a file, a pipe): on the terminal the
      // listing itself shows how far the walk got.
      const progress = new ProgressLine(process.stderr.isTTY === true && !process.stdout.isTTY && !a.quiet, 'show');
      let nodes = 0;
      const st = walkBTree(tree, {
        checkData: a['data-crc'] !== false,
        onNode: (n) => {
          noteProblem(n);
          printShowNode(o, vs, n, { verbose, quiet: a.records === false, stats });
          if (progress.enabled && ++nodes % 64 === 0) progress.update({ done: nodes, extra: 'nodes' });
        },
      });
      progress.done();
      if (stats) printZoneStats(o, stats.zones);
      printShowTrailer(o, st, verbose);
      o.flush();
      return report(problems, st.badElms + st.badRecords);
    } finally {
      vs.close();
    }
  }),
};

function report(problems: string[], badOther: number): number {
  for (const p of problems.slice(0, MAX_STDERR_PROBLEMS)) process.stderr.write(`hammerfs: ${p}\n`);
  if (problems.length > MAX_STDERR_PROBLEMS) process.stderr.write(`hammerfs: ... and ${problems.length - MAX_STDERR_PROBLEMS} more bad nodes\n`);
  if (!problems.length && badOther) process.stderr.write(`hammerfs: ${badOther} bad elements or records (marked B in the listing)\n`);
  return problems.length || badOther ? EXIT_BAD_INPUT : 0;
}
