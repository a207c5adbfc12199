/**
 * As-of visibility (spec/BTREE.md §7): a record version is visible at TID t iff
 * create_tid <= t and (delete_tid == 0 or t < delete_tid). t = 0 or MAX_TID means "current":
 * visible iff delete_tid == 0.
 */
import { HAMMER_MAX_TID } from '../ondisk/constants.js';

export function isVisible(createTid: bigint, deleteTid: bigint, asof: bigint): boolean {
  if (asof === 0n || asof === HAMMER_MAX_TID) return deleteTid === 0n;
  return createTid <= asof && (deleteTid === 0n || asof < deleteTid);
}
