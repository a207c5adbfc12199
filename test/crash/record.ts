// The full sweep (`npm run crash`) records its counts for docs/reliability.md: one JSON line per
// scenario appended to $HAMMERFS_CRASH_RECORD (fuzz/report.ts sums them into `crashPoints`).
import * as fs from 'node:fs';

export function recordCrashPoints(scenario: string, points: number, failures: number): void {
  const file = process.env.HAMMERFS_CRASH_RECORD;
  if (!file) return;
  fs.appendFileSync(file, JSON.stringify({ scenario, points, failures, at: new Date().toISOString() }) + '\n');
}
