// Spawn the built CLI (dist/ comes from `tsc`, which `npm test` runs first).
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

// HAMMERFS_CLI lets a developer point the tests at a private build while others rebuild dist/.
export const CLI = process.env.HAMMERFS_CLI ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/tools/cli.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run `node dist/tools/cli.js ...args`; never rejects (the exit code is in the result). */
export function runCli(args: string[], o: { timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { maxBuffer: 512 * 1024 * 1024, timeout: o.timeoutMs ?? 120_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as NodeJS.ErrnoException & { code?: unknown }).code === 'number' ? (err as unknown as { code: number }).code : -1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}
