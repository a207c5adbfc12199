/** hammerfs cat PATH: file contents, raw, to stdout (streamed in 1 MiB chunks). */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import type { CommandModule } from 'yargs';
import { run } from '../common.js';
import { printJson } from '../output.js';
import { withFs, openFs, tidText, type FsArgs } from './fs-shared.js';
import { IsDirectoryError, UsageError } from '../../src/errors.js';

interface CatArgs extends FsArgs {
  path: string;
}

/** Write with back-pressure; resolves false when the reader has gone (EPIPE / closed). */
async function writeOut(chunk: Uint8Array): Promise<boolean> {
  const out = process.stdout;
  if (out.destroyed || !out.writable) return false;
  if (out.write(chunk)) return true;
  await Promise.race([once(out, 'drain'), once(out, 'close'), once(out, 'error').catch(() => undefined)]);
  return !out.destroyed;
}

export const catCommand: CommandModule<object, CatArgs> = {
  command: 'cat <path>',
  describe: 'write a file (as of --asof, in --pfs) raw to stdout; --json gives size and sha256 instead',
  builder: (y) => withFs(y).positional('path', { type: 'string', demandOption: true, describe: 'path inside the PFS (name@@0x<tid> allowed)' }) as never,
  handler: run<CatArgs>(async (a) => {
    const { vs, fs } = openFs(a);
    try {
      const r = fs.resolve(a.path, { follow: true });
      const ino = r.inode;
      const where = { structure: `path ${a.path} in PFS ${fs.pfs}` };
      if (ino.type === 'dir' || ino.type === 'pfs') throw new IsDirectoryError('is a directory', where);
      if (ino.type !== 'file' && ino.type !== 'dbfile') throw new UsageError(`is a ${ino.type}, not a regular file`, where);
      if (a.json) {
        const h = createHash('sha256');
        for (const c of fs.stream(ino)) h.update(c);
        printJson({ path: a.path, pfs: r.pfs, asof: tidText(r.asof), obj_id: ino.objId, size: Number(ino.size), sha256: h.digest('hex') });
        return;
      }
      for (const c of fs.stream(ino)) if (!(await writeOut(c))) break;
    } finally {
      vs.close();
    }
  }),
};
