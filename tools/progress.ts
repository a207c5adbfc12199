/**
 * Progress for long work (../shared/CLI.md): one self-overwriting line on stderr with a bar,
 * percentage, rate and ETA — only when stderr is a terminal and neither --quiet nor --json was
 * given, so pipes, files and CI logs never see it. Redrawn at most five times a second.
 */

/** 1536 -> "1.5 KiB": sizes for humans (binary units). */
export function humanBytes(n: number): string {
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  let v = n;
  while (Math.abs(v) >= 1024 && i < u.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 2 : 1)} ${u[i]}`;
}

export interface ProgressUpdate {
  /** Units done so far (bytes when `bytes`, else a count). */
  done: number;
  /** Units in all, when known: gives the bar, percentage and ETA. */
  total?: number;
  bytes?: boolean;
  /** Free text after the figures (e.g. "batch 2/5", "12 files"). */
  extra?: string;
  /** Draw even if the last draw was recent (the final figures). */
  force?: boolean;
}

export class ProgressLine {
  private readonly t0 = Date.now();
  private last = 0;
  private shown = false;
  constructor(
    readonly enabled: boolean,
    private readonly label: string,
  ) {}
  /** On for a human watching: stderr is a TTY and the command was not asked to be quiet or to print JSON. */
  static forCommand(label: string, a: { quiet?: boolean; json?: boolean }): ProgressLine {
    return new ProgressLine(process.stderr.isTTY === true && !a.quiet && !a.json, label);
  }
  update(u: ProgressUpdate): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (!u.force && now - this.last < 200) return;
    this.last = now;
    const secs = Math.max(0.001, (now - this.t0) / 1000);
    const rate = u.done / secs;
    const fmt = (n: number) => (u.bytes ? humanBytes(n) : String(Math.round(n)));
    let s = this.label;
    if (u.total !== undefined && u.total > 0) {
      const frac = Math.min(1, u.done / u.total);
      const width = 24;
      const filled = Math.round(frac * width);
      const eta = rate > 0 ? Math.max(0, Math.ceil((u.total - u.done) / rate)) : 0;
      s += ` [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}%  ${fmt(u.done)}/${fmt(u.total)}  ${fmt(rate)}/s  ETA ${eta}s`;
    } else {
      s += `  ${fmt(u.done)}  ${fmt(rate)}/s`;
    }
    if (u.extra) s += `  ${u.extra}`;
    process.stderr.write(`\r${s}\x1b[K`);
    this.shown = true;
  }
  /** A status without figures (a phase name). */
  note(text: string): void {
    if (!this.enabled) return;
    process.stderr.write(`\r${this.label}: ${text}\x1b[K`);
    this.shown = true;
  }
  /** Erase the line (before the command's own summary). */
  done(): void {
    if (this.shown) process.stderr.write('\r\x1b[K');
    this.shown = false;
  }
}
