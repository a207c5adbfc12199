/**
 * Volume-set warnings, condensed: the quirks every newfs_hammer image carries (vol_crc 0 on each
 * volume, stale zone 8/9 blockmap entry CRCs) become one line per kind instead of one per volume
 * or zone. Other warnings are printed as they are.
 */
import { describeWhere } from '../../src/errors.js';
import type { Warning } from '../../src/volume/volume-set.js';

export function condenseWarnings(ws: readonly Warning[]): string[] {
  const out: string[] = [];
  const volCrc0 = ws.filter((w) => w.code === 'W_VOL_CRC' && /CRC is 0/.test(w.message));
  const stale = ws.filter((w) => w.code === 'W_BLOCKMAP_CRC');
  if (volCrc0.length) {
    out.push(`volume header CRC is 0 (newfs_hammer never sets it): ${volCrc0.map((w) => `vol ${w.where.volNo}${w.where.path ? ` (${w.where.path})` : ''}`).join(', ')}`);
  }
  if (stale.length) {
    const zones = stale.map((w) => w.where.index).join(', ');
    const w0 = stale[0].where;
    out.push(`blockmap entry CRC is stale for zone${stale.length > 1 ? 's' : ''} ${zones} (as newfs_hammer leaves it): vol 0${w0.path ? ` (${w0.path})` : ''}`);
  }
  for (const w of ws) {
    if (volCrc0.includes(w) || stale.includes(w)) continue;
    out.push(`${w.message}: ${describeWhere(w.where)}`);
  }
  return out;
}

/** Print condensed warnings to stderr (callers skip this for --json / --quiet). */
export function printWarnings(ws: readonly Warning[]): void {
  for (const l of condenseWarnings(ws)) process.stderr.write(`hammerfs: warning: ${l}\n`);
}
