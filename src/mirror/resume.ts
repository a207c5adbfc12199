/**
 * Resume tokens for interrupted mirror-read transfers.
 *
 * A token names the source PFS (id and shared UUID), the TID window of the batch that was being
 * sent and the key its next MIRROR_READ call would have started at — the point up to which every
 * byte had been handed to the output. `mirror-read --resume TOKEN` checks it against the source
 * and sends that batch again from the key, prefixed with a SKIP from the PFS's first key to it,
 * then the rest of the window as usual. The SKIP keeps the target's deletion sweep away from the
 * part it already holds, so the resumed stream completes a target that kept the records of the
 * interrupted batch (DragonFly's kernel keeps them; hammerfs mirror-write does with
 * --keep-partial). A target that rolled the interrupted batch back needs a plain rerun instead.
 *
 * Text form: `hfsr1.<pfs>.<shared uuid>.<tid_beg hex>.<tid_end hex>.<key: 40 bytes hex>.<crc32 hex>`
 * (the CRC guards against a token mangled by copy and paste).
 */
import { UsageError } from '../errors.js';
import { crc32 } from '../ondisk/crc.js';
import { decodeBaseElm, encodeBaseElm, type BaseElm } from '../ondisk/btree-elm.js';
import { uuidToString, uuidEqual, uuidFromString } from '../ondisk/uuid.js';
import type { MirrorContext, MirrorReadPlan, ResumePoint } from './mirror-read.js';
import { planMirrorRead, mirrorSource } from './mirror-read.js';

export interface ResumeToken {
  pfsId: number;
  sharedUuid: string;
  tidBeg: bigint;
  tidEnd: bigint;
  key: BaseElm;
}

const PREFIX = 'hfsr1';
const hex16 = (t: bigint) => t.toString(16).padStart(16, '0');

export function encodeResumeToken(t: ResumeToken): string {
  const kb = new Uint8Array(40);
  encodeBaseElm(t.key, new DataView(kb.buffer), 0);
  const body = `${PREFIX}.${t.pfsId}.${t.sharedUuid}.${hex16(t.tidBeg)}.${hex16(t.tidEnd)}.${Buffer.from(kb).toString('hex')}`;
  return `${body}.${(crc32(Buffer.from(body)) >>> 0).toString(16).padStart(8, '0')}`;
}

export function decodeResumeToken(s: string): ResumeToken {
  const bad = (why: string) => new UsageError(`not a valid resume token (${why})`, { structure: 'argument', field: 'resume' });
  const parts = s.trim().split('.');
  if (parts.length !== 7 || parts[0] !== PREFIX) throw bad(`expected ${PREFIX}.<pfs>.<uuid>.<tid>.<tid>.<key>.<crc>`);
  const body = parts.slice(0, 6).join('.');
  if ((crc32(Buffer.from(body)) >>> 0).toString(16).padStart(8, '0') !== parts[6]) throw bad('checksum mismatch: the token was altered');
  const pfsId = Number(parts[1]);
  if (!Number.isInteger(pfsId) || pfsId < 0 || pfsId > 0xffff) throw bad('PFS id');
  if (!uuidFromString(parts[2])) throw bad('shared UUID');
  if (!/^[0-9a-f]{16}$/.test(parts[3]) || !/^[0-9a-f]{16}$/.test(parts[4]) || !/^[0-9a-f]{80}$/.test(parts[5])) throw bad('field format');
  const kb = Buffer.from(parts[5], 'hex');
  return {
    pfsId, sharedUuid: parts[2], tidBeg: BigInt('0x' + parts[3]), tidEnd: BigInt('0x' + parts[4]),
    key: decodeBaseElm(new DataView(kb.buffer, kb.byteOffset, 40), 0),
  };
}

export function tokenFromPoint(pfsId: number, sharedUuid: Uint8Array, p: ResumePoint): ResumeToken {
  // (p.bytes is where the point lies in the interrupted stream; the token does not need it)
  return { pfsId, sharedUuid: uuidToString(sharedUuid), tidBeg: p.tidBeg, tidEnd: p.tidEnd, key: p.key };
}

/**
 * The plan of a resumed transfer: the interrupted batch's window first (to be started at
 * token.key), then the rest of the source's window in the usual batches. Refuses a token for
 * another PFS or another master, or one the source can no longer serve.
 */
export function planResume(ctx: MirrorContext, t: ResumeToken, o: { pfsId?: number; batchBytes?: number; until?: bigint }): MirrorReadPlan {
  if (o.pfsId !== undefined && o.pfsId !== t.pfsId) {
    throw new UsageError(`the resume token is for PFS ${t.pfsId}, not PFS ${o.pfsId}`, { structure: 'argument', field: 'resume' });
  }
  const src = mirrorSource(ctx, t.pfsId);
  const where = { structure: `PFS ${t.pfsId}` };
  const shared = uuidFromString(t.sharedUuid)!;
  const srcShared = src.pfsd.subarray(40, 56);
  if (!uuidEqual(shared, srcShared)) throw new UsageError(`the resume token names shared UUID ${t.sharedUuid}, the source PFS has ${uuidToString(srcShared)}`, where);
  if (t.tidEnd > src.tidEnd) throw new UsageError(`the resume token runs to TID 0x${hex16(t.tidEnd)}, past what the source has committed (0x${hex16(src.tidEnd)})`, where);
  if (src.syncBegTid > t.tidBeg && t.tidBeg > 0n) throw new UsageError(`the source no longer has history back to TID 0x${hex16(t.tidBeg)} (sync_beg_tid 0x${hex16(src.syncBegTid)}): mirror again from the target's sync point`, where);
  const first = planMirrorRead(ctx, { pfsId: t.pfsId, since: t.tidBeg, until: t.tidEnd, batchBytes: 0 });
  first.batches = [{ tidBeg: t.tidBeg, tidEnd: t.tidEnd, idle: false }];
  const end = o.until ?? src.tidEnd;
  if (end > t.tidEnd) {
    const rest = planMirrorRead(ctx, { pfsId: t.pfsId, since: t.tidEnd + 1n, until: o.until, batchBytes: o.batchBytes });
    first.batches.push(...rest.batches);
    first.tidEnd = rest.tidEnd;
  }
  return first;
}
