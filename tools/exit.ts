/**
 * Error → exit code and one-line message (conventions of ../shared/CLI.md):
 * 0 ok, 1 a check found problems, 2 bad usage or bad input, 3 I/O error or lock held.
 */
import {
  HammerError, IoError, LockedError, NoSpaceError, ReadOnlyError,
} from '../src/errors.js';

export const EXIT_OK = 0;
export const EXIT_PROBLEMS = 1;
export const EXIT_BAD_INPUT = 2;
export const EXIT_IO = 3;

export function exitCodeFor(e: unknown): number {
  // A path that does not exist (or is a directory) is bad usage, not an I/O failure.
  const causeCode = (e as { cause?: NodeJS.ErrnoException })?.cause?.code;
  if (e instanceof IoError && (causeCode === 'ENOENT' || causeCode === 'EISDIR' || causeCode === 'ENOTDIR')) return EXIT_BAD_INPUT;
  if (e instanceof LockedError || e instanceof IoError || e instanceof NoSpaceError || e instanceof ReadOnlyError) return EXIT_IO;
  if (e instanceof HammerError) return EXIT_BAD_INPUT;
  const code = (e as NodeJS.ErrnoException)?.code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR' ? EXIT_BAD_INPUT : EXIT_IO;
  return EXIT_BAD_INPUT;
}

export function messageFor(e: unknown): string {
  if (e instanceof HammerError) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}

/** Print "hammerfs: <message>" (plus the stack with --debug) and set the exit code. */
export function reportError(e: unknown, debug = false): number {
  const code = exitCodeFor(e);
  process.stderr.write(`hammerfs: ${messageFor(e)}\n`);
  if (debug && e instanceof Error && e.stack) process.stderr.write(e.stack + '\n');
  process.exitCode = code;
  return code;
}
