/**
 * hammerfs probe -f VOL[:VOL...]: blkid-style identification. One line per HAMMER volume:
 *   PATH: TYPE="hammer" LABEL="..." UUID="<fsid>" VERSION="7" VOLUME="n/count"
 * Exit 0: HAMMER and the set is complete; 2: not HAMMER; 3: HAMMER but the set is incomplete or
 * inconsistent (or a device could not be read).
 */
import type { CommandModule } from 'yargs';
import { withVolumes, run, type CommonArgs } from '../common.js';
import { Output, printJson } from '../output.js';
import { splitVolumeArg } from '../../src/volume/volume-set.js';
import { UsageError } from '../../src/errors.js';
import { probe } from '../../src/fs/probe.js';
import { EXIT_BAD_INPUT, EXIT_IO, EXIT_OK } from '../exit.js';

const q = (s: string) => s.replace(/["\\]/g, (c) => '\\' + c);

export const probeCommand: CommandModule<object, CommonArgs> = {
  command: 'probe',
  describe: 'identify HAMMER volumes (blkid style); exit 0 complete set, 2 not HAMMER, 3 incomplete/inconsistent',
  builder: (y) => withVolumes(y),
  handler: run<CommonArgs>((a) => {
    const paths = splitVolumeArg(a.f ?? []);
    if (paths.length === 0) throw new UsageError('no volumes given (-f VOL[:VOL...])', { structure: 'argument', field: 'f' });
    const r = probe(paths, a.lock === false ? 'none' : 'shared');
    const code = r.verdict === 'complete' ? EXIT_OK : r.verdict === 'not-hammer' ? EXIT_BAD_INPUT : EXIT_IO;
    if (a.json) {
      printJson({ ...r, exitCode: code });
      return code;
    }
    const o = new Output();
    for (const v of r.volumes) {
      if (!v.hammer) continue;
      o.line(`${v.path}: TYPE="hammer" LABEL="${q(v.label ?? '')}" UUID="${v.fsid}" VERSION="${v.version}" VOLUME="${v.volNo}/${v.volCount}"`);
    }
    o.flush();
    if (!a.quiet) {
      if (r.verdict === 'not-hammer') for (const v of r.volumes) process.stderr.write(`hammerfs: ${v.path}: not HAMMER (${v.error})\n`);
      for (const p of r.problems) process.stderr.write(`hammerfs: ${p}\n`);
    }
    return code;
  }),
};
