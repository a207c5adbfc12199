/**
 * Errors → negative errno for FUSE replies (Linux numbers; fuse-native passes them through).
 * Only damage and unexpected failures are worth a log line; ENOENT & co. are normal lookups.
 */
import {
  HammerError, NotFoundError, NotDirectoryError, IsDirectoryError, ReadOnlyError, ExistsError, describeWhere, type Where,
} from '../errors.js';

export const ENOENT = -2;
export const EIO = -5;
export const EBADF = -9;
export const EACCES = -13;
export const EEXIST = -17;
export const ENOTDIR = -20;
export const EISDIR = -21;
export const EINVAL = -22;
export const EROFS = -30;
export const ENAMETOOLONG = -36;
export const ENOSYS = -38;
export const ENODATA = -61;
export const ENOTSUP = -95;

/** A failure inside an operation, already reduced to an errno (thrown by ops.ts internals). */
export class Errno extends Error {
  constructor(readonly errno: number) {
    super(`errno ${-errno}`);
  }
}

/**
 * The errno for `e`, and the line to log when `e` is damage (CRC, bad field, short read) or a bug.
 * The log line names the structure, volume and byte offset (HammerError messages carry `Where`).
 */
export function errnoFor(e: unknown, locate?: (off: bigint) => Partial<Where> | undefined): { errno: number; log?: string } {
  if (e instanceof Errno) return { errno: e.errno };
  if (e instanceof NotFoundError) return { errno: ENOENT };
  if (e instanceof NotDirectoryError) return { errno: ENOTDIR };
  if (e instanceof IsDirectoryError) return { errno: EISDIR };
  if (e instanceof ReadOnlyError) return { errno: EROFS };
  if (e instanceof ExistsError) return { errno: EEXIST };
  if (e instanceof HammerError) {
    // Name the volume and byte even when the thrower only knew the HAMMER offset.
    let w: Where = e.where;
    if (w.hammerOff !== undefined && w.rawOffset === undefined && locate) {
      try {
        w = { ...(locate(w.hammerOff) ?? {}), ...w };
      } catch {
        // an offset that does not translate is itself the damage; report it as it is
      }
    }
    return { errno: EIO, log: `${e.code}: ${e.detail}: ${describeWhere(w)}` };
  }
  const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return { errno: EIO, log: `internal error: ${msg}` };
}
