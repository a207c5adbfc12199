/** hammerfs cat PATH: file contents, raw, to stdout (streamed in 1 MiB chunks). */
import { createHash } from 'node:crypto';
import * as nodefs from 'node:fs';
import type { CommandModule } from 'yargs';
import { run } from '../common.js';
import { printJson } from '../output.js';
import { withFs, openFs, tidText, type FsArgs } from './fs-shared.js';
import { IsDirectoryError, UsageError } from '../../src/errors.js';

interface CatArgs extends FsArgs {
  path: string;
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * Write a chunk to fd 1 synchronously (a file, a pipe or a TTY): no stream buffering, so memory
 * stays at one chunk however slow the reader is. Returns false when the reader has gone (EPIPE).
 * A non-blocking stdout (EAGAIN) is waited on for a millisecond at a time.
 */
function writeOut(chunk: Uint8Array): boolean {
  let off = 0;
  while (off < chunk.length) {
    try {
      off += nodefs.writeSync(1, chunk, off, chunk.length - off);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') {
        Atomics.wait(pause, 0, 0, 1);
        continue;
      }
      if (code === 'EPIPE') return false;
      throw e;
    }
  }
  return true;
}

export const catCommand: CommandModule<object, CatArgs> = {
  command: 'cat <path>',
  describe: 'write a file (as of --asof, in --pfs) raw to stdout; --json gives size and sha256 instead',
  builder: (y) => withFs(y).positional('path', { type: 'string', demandOption: true, describe: 'path inside the PFS (name@@0x<tid> allowed)' }) as never,
  handler: run<CatArgs>((a) => {
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
      for (const c of fs.stream(ino)) if (!writeOut(c)) break;
    } finally {
      vs.close();
    }
  }),
};
