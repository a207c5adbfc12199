/**
 * Symlink targets (spec/RECORDS.md §5): up to 24 bytes inline in the inode's ext area, longer in
 * a FIX record (key 1, MISC localization) holding the bytes without NUL; inode.size is the target
 * length either way. `@@PFSnnnnn` links in PFS 0 name PFS nnnnn; the kernel presents them
 * expanded, which presentPfsLink() reproduces for display.
 */
import { BadFieldError } from '../errors.js';
import { HAMMER_RECTYPE_FIX, HAMMER_FIXKEY_SYMLINK, HAMMER_INODE_BASESYMLEN } from '../ondisk/constants.js';
import { hex64 } from '../ondisk/int64.js';
import type { Inode } from './inode.js';
import { findRecord, locMisc, readPayload, type FsContext } from './records.js';
import type { PfsInfo } from './pfs.js';

/** The stored target bytes of symlink `ino` as of `asof` (a fresh array). */
export function readSymlink(ctx: FsContext, ino: Inode, asof: bigint): Uint8Array {
  const where = { structure: `symlink inode ${hex64(ino.objId)} in PFS ${ino.pfs}` };
  if (ino.type !== 'symlink') throw new BadFieldError(`inode is a ${ino.type}, not a symlink`, where);
  const size = ino.size;
  if (size <= BigInt(HAMMER_INODE_BASESYMLEN)) return ino.data.ext.slice(0, Number(size));
  const r = findRecord(ctx.tree, locMisc(ino.pfs), ino.objId, HAMMER_RECTYPE_FIX, HAMMER_FIXKEY_SYMLINK, asof);
  if (!r) throw new BadFieldError(`symlink of ${size} bytes has no FIX record`, where);
  const b = readPayload(ctx, r.leaf, r.where);
  if (BigInt(b.length) !== size) throw new BadFieldError(`symlink FIX record holds ${b.length} bytes, inode size is ${size}`, r.where);
  return b.slice();
}

const PFS_LINK = /^@@PFS(\d{5})$/;

/** The PFS id named by a `@@PFSnnnnn` target, or undefined. */
export function pfsLinkId(target: Uint8Array): number | undefined {
  if (target.length !== 10) return undefined;
  const m = PFS_LINK.exec(Buffer.from(target).toString('latin1'));
  return m ? Number(m[1]) : undefined;
}

/**
 * How DragonFly presents a `@@PFSnnnnn` link: `@@-1:nnnnn` for a master, `@@0x<sync_end_tid>:nnnnn`
 * for a slave. Other targets (or unknown PFSs) are returned unchanged.
 */
export function presentPfsLink(target: Uint8Array, pfsList: PfsInfo[]): Uint8Array {
  const id = pfsLinkId(target);
  if (id === undefined) return target;
  const p = pfsList.find((x) => x.id === id);
  if (!p) return target;
  const nnnnn = String(id).padStart(5, '0');
  const s = p.slave ? `@@0x${hex64(p.syncEndTid)}:${nnnnn}` : `@@-1:${nnnnn}`;
  return Buffer.from(s, 'latin1');
}
