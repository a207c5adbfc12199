/**
 * hammerfs verify: fsck-like read-only check of the whole volume set (src/fs/verify.ts): B-Tree
 * structure and CRCs, record data CRCs, freemap against the tree and the UNDO FIFO, FIFO sanity,
 * and per PFS the filesystem (entries, link counts, reachability). Exit 0 clean (warnings
 * allowed), 1 errors found, 2 unreadable input (not HAMMER, incomplete set), 3 I/O.
 */
import type { CommandModule } from 'yargs';
import { withVolumes, openReadOnly, pfsArg, run, type CommonArgs } from '../common.js';
import { Output, printJson } from '../output.js';
import { verifyFilesystem, type Problem, type VerifyPhase } from '../../src/fs/verify.js';
import { describeWhere, HammerError, NotFoundError } from '../../src/errors.js';
import { BTree } from '../../src/btree/btree.js';
import { listPfs } from '../../src/fs/pfs.js';
import { EXIT_PROBLEMS } from '../exit.js';
import { ProgressLine } from '../progress.js';

interface VerifyArgs extends CommonArgs {
  pfs?: number;
  all?: boolean;
  data?: boolean;
  max?: number;
}

const PHASE_TEXT: Record<VerifyPhase, string> = {
  btree: 'the B-Tree and record data', freemap: 'the freemap', undo: 'the UNDO FIFO', filesystem: 'directories and inodes',
};

function problemJson(p: Problem): Record<string, unknown> {
  const { hammerOff, ...rest } = p.where;
  return {
    severity: p.severity, area: p.area, code: p.code, message: p.message,
    where: { ...rest, hammer_off: hammerOff, text: describeWhere(p.where) },
    pfs: p.pfs, obj_id: p.objId,
  };
}

export const verifyCommand: CommandModule<object, VerifyArgs> = {
  command: 'verify',
  describe: 'check the whole filesystem read-only (B-Tree, CRCs, freemap, UNDO FIFO, directories and link counts); exit 1 on errors',
  builder: (y) =>
    withVolumes(y)
      .option('pfs', { type: 'number', describe: 'filesystem checks for this PFS only (structure checks always cover everything)' })
      .option('all', { type: 'boolean', describe: 'filesystem checks for every PFS (the default without --pfs)' })
      .option('data', { type: 'boolean', default: true, describe: 'recompute record data CRCs (--no-data skips them)' })
      .option('max', { type: 'number', default: 10000, describe: 'list at most this many problems (counts stay exact)' })
      .conflicts('pfs', 'all') as never,
  handler: run<VerifyArgs>((a) => {
    const pfs = a.pfs === undefined ? undefined : [pfsArg(a.pfs)];
    // The set's own warnings (stale header CRCs) come back as problems: do not print them twice.
    const vs = openReadOnly(a, { warnings: false });
    try {
      if (pfs) {
        // A PFS that does not exist is a usage error (exit 2); a PFS list that cannot be read is a
        // finding of the check itself.
        let ids: number[] | undefined;
        try {
          ids = listPfs({ vs, tree: new BTree(vs), verifyData: false }).filter((p) => !p.deleted).map((p) => p.id);
        } catch (e) {
          if (!(e instanceof HammerError)) throw e;
        }
        if (ids && !ids.includes(pfs[0])) throw new NotFoundError('no such PFS', { structure: `PFS ${pfs[0]}` });
      }
      // A progress line on a TTY only (../shared/CLI.md), erased before the report is printed.
      const progress = new ProgressLine(process.stderr.isTTY === true && !a.quiet, 'verify');
      const onPhase = progress.enabled ? (ph: VerifyPhase) => progress.note(`checking ${PHASE_TEXT[ph]}...`) : undefined;
      const r = verifyFilesystem(vs, { pfs, checkData: a.data !== false, maxProblems: Math.max(0, a.max ?? 10000), onPhase });
      progress.done();
      if (a.json) {
        printJson({
          command: 'verify', clean: r.clean, errors: r.errors, warnings: r.warnings, infos: r.infos, truncated: r.truncated,
          problems: r.problems.map(problemJson),
          stats: { ...r.stats, pfs: r.stats.pfs.map((p) => ({ ...p })) },
        });
      } else {
        const o = new Output();
        for (const p of r.problems) {
          const obj = p.objId !== undefined ? ` [pfs ${p.pfs} obj ${'0x' + BigInt.asUintN(64, p.objId).toString(16).padStart(16, '0')}]` : p.pfs !== undefined ? ` [pfs ${p.pfs}]` : '';
          o.line(`${p.severity.padEnd(7)} ${p.code}: ${p.message}${obj}: ${describeWhere(p.where)}`);
        }
        if (r.truncated) o.line(`(only the first ${r.problems.length} problems listed)`);
        const s = r.stats;
        const pfsText = s.pfs.map((p) => `pfs ${p.id}: ${p.inodes} inodes, ${p.entries} entries`).join('; ');
        o.line(`verified ${s.nodes} B-Tree nodes (${s.levels} levels), ${s.records} records (${s.deletedRecords} deleted), ${s.bigBlocks} big-blocks (${s.freeBigBlocks} free), ${s.undoRecords} UNDO records${pfsText ? '; ' + pfsText : ''}`);
        o.line(`${r.errors} error${r.errors === 1 ? '' : 's'}, ${r.warnings} warning${r.warnings === 1 ? '' : 's'}${r.infos ? `, ${r.infos} note${r.infos === 1 ? '' : 's'}` : ''}: ${r.clean ? 'clean' : 'PROBLEMS FOUND'}`);
        o.flush();
      }
      if (!r.clean) {
        const first = r.problems.find((p) => p.severity === 'error');
        process.stderr.write(`hammerfs: verify found ${r.errors} error${r.errors === 1 ? '' : 's'}${first ? `; first: ${first.message}: ${describeWhere(first.where)}` : ''}\n`);
        return EXIT_PROBLEMS;
      }
    } finally {
      vs.close();
    }
  }),
};
