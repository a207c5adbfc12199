/**
 * Buffered stdout for commands that print a lot (show of a big tree), JSON helpers with the
 * bigint-as-"0x%016x" convention, and warnings on stderr. A closed pipe (`| head`) ends output
 * quietly.
 */
import { jsonReplacer } from '../src/ondisk/int64.js';
import { describeWhere, type Where } from '../src/errors.js';

let pipeClosed = false;
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') {
    pipeClosed = true;
    return;
  }
  throw e;
});

export class Output {
  private chunks: string[] = [];
  private size = 0;
  line(s = ''): void {
    if (pipeClosed) return;
    this.chunks.push(s, '\n');
    this.size += s.length + 1;
    if (this.size > 1 << 16) this.flush();
  }
  write(s: string): void {
    if (pipeClosed) return;
    this.chunks.push(s);
    this.size += s.length;
    if (this.size > 1 << 16) this.flush();
  }
  flush(): void {
    if (this.chunks.length && !pipeClosed) process.stdout.write(this.chunks.join(''));
    this.chunks = [];
    this.size = 0;
  }
}

export function toJson(v: unknown, pretty = true): string {
  return JSON.stringify(v, jsonReplacer, pretty ? 2 : undefined);
}
/** Print one JSON document. */
export function printJson(v: unknown): void {
  process.stdout.write(toJson(v) + '\n');
}
/** Print one NDJSON line. */
export function printNdjson(v: unknown, out?: Output): void {
  const s = toJson(v, false);
  if (out) out.line(s);
  else process.stdout.write(s + '\n');
}

export function warn(message: string, where?: Where): void {
  process.stderr.write(`hammerfs: warning: ${message}${where ? ': ' + describeWhere(where) : ''}\n`);
}
