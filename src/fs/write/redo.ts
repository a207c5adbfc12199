/**
 * REDO recovery, stage 2 (spec/UNDO.md §5.2): re-execute the file writes and truncations a
 * DragonFly kernel logged as REDO records for fsync() but whose B-Tree metadata never reached
 * the media. Stage 1 (src/volume/recovery.ts) has rolled the interrupted flush back and found
 * the newest REDO SYNC, whose redo_offset (ext_offset) says how far back in the FIFO applicable
 * REDO records may lie.
 *
 *  1. If ext_offset lies before first_offset, walk backwards from first_offset down to it,
 *     requiring sequence numbers to fall by exactly one per record (otherwise that part of the
 *     FIFO has been reused: REDO is abandoned with a warning, as the kernel does with ERANGE),
 *     and collect TERM_WRITE / TERM_TRUNC records: the metadata of those operations was
 *     committed. TERMs inside [first, last) are ignored — stage 1 just rolled those commits back.
 *  2. Walk forwards from ext_offset through last: a WRITE/TRUNC whose key (obj_id, localization,
 *     flags, offset; offset ignored for TRUNC) matches a collected TERM is skipped, every other
 *     one is executed in FIFO order through HammerWriter (WRITE = write the payload at
 *     redo_offset, extending the file as write(2) would; TRUNC = set the size to redo_offset).
 *     Like the kernel, a record naming a missing inode or a non-file is reported and skipped.
 *  3. Commit everything in one transaction, which closes the FIFO (first = next = end).
 *
 * Crash safety: until that commit's final header write the range stays open (stage 1 kept
 * first_offset), and the commit's own UNDO records continue the sequence: a crash anywhere
 * before it makes the next recovery roll the replay back and run it again from the same SYNC.
 *
 * Loading this module plugs stage 2 into recoverUndo(), which every open-for-write runs.
 */
import { NotFoundError, UsageError, type Where } from '../../errors.js';
import {
  HAMMER_REDO_WRITE, HAMMER_REDO_TRUNC, HAMMER_REDO_TERM_WRITE, HAMMER_REDO_TERM_TRUNC,
  HAMMER_RECTYPE_INODE, HAMMER_OBJTYPE_REGFILE, HAMMER_ZONE_UNDO_INDEX,
} from '../../ondisk/constants.js';
import { encodeOffset, shortOffset } from '../../ondisk/offset.js';
import { hex64 } from '../../ondisk/int64.js';
import { fifoPosition, fifoSize, fifoSpan, recordAt, recordEndingAt, scanActiveRange } from '../../volume/undo-fifo.js';
import {
  registerRedoStage, setFifoRange, type RecoveryResult, type RedoReport, type RedoOpReport,
} from '../../volume/recovery.js';
import type { WritableVolumeSet } from '../../volume/writable-volume-set.js';
import type { Transaction } from '../../volume/transaction.js';
import { CURRENT, findRecord, locInode } from '../records.js';
import { HammerWriter } from './writer.js';

/** At most this many records are listed in the report (the counters cover all of them). */
const OPS_LISTED = 2000;
/** Adjacent WRITE records of one file are replayed as one write of up to this many bytes. */
const COALESCE_BYTES = 1 << 20;

interface RedoOp {
  pos: number;
  seq: number;
  kind: 'write' | 'trunc';
  objId: bigint;
  localization: number;
  offset: bigint;
  bytes: number;
  /** WRITE payload (read during the scan: later commits may reuse that part of the FIFO). */
  payload: Uint8Array | null;
  /** Why the record cannot be executed as it stands (decided during the scan). */
  bad: string | null;
}

const termKey = (objId: bigint, loc: number, flags: number, offset: bigint) =>
  `${objId}/${loc >>> 0}/${flags}/${flags === HAMMER_REDO_TERM_TRUNC ? '' : offset}`;

class Abort extends Error {}

/** Stage 2 on a set whose stage 1 just ran (`s1`). Returns what it did; see the module comment. */
export function replayRedo(vs: WritableVolumeSet, s1: RecoveryResult): RedoReport {
  const rep: RedoReport = {
    ran: false, extOffset: s1.redoSyncOffset, extended: false, extBytes: 0, termsCollected: 0, writes: 0, truncs: 0,
    replayed: 0, skipped: 0, failed: 0, bytesWritten: 0, commits: 0, aborted: null, ops: [], opsTruncated: false, warnings: [],
  };
  const size = fifoSize(vs);
  const first = s1.first;
  const last = s1.last;
  const nominal = fifoSpan(first, last, size);
  const where: Where = { structure: 'UNDO FIFO', volNo: 0, path: vs.volumes[0].device.path };
  const warn = (message: string, hammerOff?: bigint) => {
    rep.warnings.push(message);
    vs.warnings.push({ code: 'W_REDO', message, where: hammerOff === undefined ? where : { ...where, hammerOff } });
  };
  const at = (p: number) => encodeOffset(HAMMER_ZONE_UNDO_INDEX, 0, p);
  const close = () => {
    const h = vs.root.blockmap[HAMMER_ZONE_UNDO_INDEX];
    const end = scanActiveRange(vs, shortOffset(h.firstOffset) % size, shortOffset(h.nextOffset) % size).last;
    setFifoRange(vs, end, end);
  };
  if (s1.clean || nominal === 0) return rep;
  if (s1.redoSyncOffset === null) {
    // REDO records but no SYNC: nothing is known to need replay (the kernel's stage 2 only flushes)
    close();
    return rep;
  }
  const ops: RedoOp[] = [];
  const list = (op: RedoOp, action: RedoOpReport['action'], reason?: string) => {
    if (rep.ops.length >= OPS_LISTED) {
      rep.opsTruncated = true;
      return;
    }
    const r: RedoOpReport = { fifoOffset: at(op.pos), seq: op.seq, kind: op.kind, objId: op.objId, localization: op.localization, offset: op.offset, bytes: op.bytes, action };
    if (reason) r.reason = reason;
    rep.ops.push(r);
  };
  try {
    const ext = s1.redoSyncOffset;
    if (ext === 0n) throw new Abort('the REDO SYNC record gives no offset');
    const extPos = fifoPosition(vs, ext);
    if (extPos === null) throw new Abort(`the REDO SYNC offset ${hex64(ext)} is not inside the FIFO`);
    const rel = fifoSpan(first, extPos, size);
    let total: number;
    const terms = new Set<string>();
    if (rel <= nominal) {
      // ext_offset inside the nominal range: no TERM can count, scan forward from it
      total = nominal - rel;
    } else {
      rep.extended = true;
      rep.extBytes = size - rel;
      total = rep.extBytes + nominal;
      if (s1.seq0 === null) throw new Abort('no sequence number before first_offset to check the extended range against');
      let expect = s1.seq0;
      let p = first;
      let walked = 0;
      while (p !== extPos) {
        const r = recordEndingAt(vs, p === 0 ? size : p);
        if (!r.rec) throw new Abort(`damaged record ending at ${hex64(at(p === 0 ? size : p))} in the extended REDO range (${r.problem})`);
        walked += r.size;
        if (walked > rep.extBytes) throw new Abort(`the REDO SYNC offset ${hex64(ext)} is not at a record boundary`);
        if (r.rec.kind !== 'pad') {
          if (r.rec.head.seq !== expect) {
            throw new Abort(`sequence break at ${hex64(at(r.pos))} (seq ${r.rec.head.seq.toString(16)}, expected ${expect.toString(16)}): the extended REDO range has been overwritten`);
          }
          expect = (expect - 1) >>> 0;
          if (r.rec.kind === 'redo') {
            const f = r.rec.redo.flags;
            if (f === HAMMER_REDO_TERM_WRITE || f === HAMMER_REDO_TERM_TRUNC) {
              terms.add(termKey(r.rec.redo.objId, r.rec.redo.localization, f, r.rec.redo.offset));
              rep.termsCollected++;
            }
          }
        }
        p = r.pos;
      }
    }
    // Forward: ext_offset through last.
    let p = extPos;
    let done = 0;
    while (done < total) {
      const r = recordAt(vs, p);
      if (!r.rec) throw new Abort(`damaged record at ${hex64(at(p))} in the REDO range (${r.problem})`);
      if (r.rec.kind === 'redo') {
        const d = r.rec.redo;
        if (d.flags === HAMMER_REDO_WRITE || d.flags === HAMMER_REDO_TRUNC) {
          const write = d.flags === HAMMER_REDO_WRITE;
          if (write) rep.writes++;
          else rep.truncs++;
          const op: RedoOp = {
            pos: p, seq: r.rec.head.seq, kind: write ? 'write' : 'trunc', objId: d.objId, localization: d.localization, offset: d.offset,
            bytes: write ? d.dataBytes : 0, payload: write ? d.payload : null, bad: null,
          };
          if (write && (d.dataBytes < 0 || d.payload.length !== d.dataBytes)) op.bad = `redo_data_bytes ${d.dataBytes} does not fit the record`;
          if (terms.has(termKey(d.objId, d.localization, write ? HAMMER_REDO_TERM_WRITE : HAMMER_REDO_TERM_TRUNC, d.offset))) {
            rep.skipped++;
            list(op, 'skipped', 'a TERM record says this was committed');
          } else ops.push(op);
        }
        // TERMs met going forward only retire their collected occurrence in the kernel; the key
        // stays known, so they change no decision and need no bookkeeping here.
      }
      done += r.size;
      p = p + r.size >= size ? p + r.size - size : p + r.size;
    }
    if (done !== total) throw new Abort('the last record crosses the end of the REDO range');
  } catch (e) {
    if (!(e instanceof Abort)) throw e;
    rep.aborted = e.message;
    warn(`REDO recovery abandoned, fsync'ed writes logged in the FIFO are lost: ${e.message}`, s1.redoSyncOffset ?? undefined);
    close();
    return rep;
  }
  rep.ran = true;
  execute(vs, ops, rep, list, warn);
  // the replay's commit closed the FIFO; with nothing to commit it is closed here
  if (rep.commits === 0) close();
  return rep;
}

function execute(
  vs: WritableVolumeSet, ops: RedoOp[], rep: RedoReport,
  list: (op: RedoOp, action: RedoOpReport['action'], reason?: string) => void, warn: (m: string) => void,
): void {
  // A HammerWriter serves one PFS; REDO may name several. The operations of one file keep their
  // FIFO order, different files are independent, so the replay goes PFS by PFS.
  const byPfs = new Map<number, RedoOp[]>();
  for (const op of ops) {
    const pfs = op.localization >>> 16;
    let l = byPfs.get(pfs);
    if (!l) byPfs.set(pfs, (l = []));
    l.push(op);
  }
  const fail = (op: RedoOp, why: string) => {
    rep.failed++;
    list(op, 'failed', why);
    warn(`REDO ${op.kind.toUpperCase()} of inode ${hex64(op.objId)} (localization ${(op.localization >>> 0).toString(16).padStart(8, '0')}) not replayed: ${why}`);
  };
  const shared = new SharedTransaction(vs);
  try {
    for (const [pfs, group] of byPfs) {
      let w: HammerWriter;
      try {
        w = shared.writer(pfs);
      } catch (e) {
        if (!(e instanceof NotFoundError || e instanceof UsageError)) throw e;
        for (const op of group) fail(op, `PFS ${pfs}: ${e.message}`);
        continue;
      }
      for (let i = 0; i < group.length; ) {
        const op = group[i];
        const why = op.bad ?? problem(w, pfs, op);
        if (why) {
          fail(op, why);
          i++;
          continue;
        }
        if (op.kind === 'trunc') {
          w.truncateById(op.objId, Number(op.offset));
          rep.replayed++;
          list(op, 'replayed');
          i++;
          continue;
        }
        // a kernel write() of more than one record's worth is a run of records continuing at
        // the next byte: one writer call each would rewrite the same block many times
        let j = i + 1;
        let end = op.offset + BigInt(op.bytes);
        let n = op.bytes;
        while (j < group.length && n < COALESCE_BYTES) {
          const o = group[j];
          if (o.kind !== 'write' || o.bad || o.objId !== op.objId || o.localization !== op.localization || o.offset !== end) break;
          if (o.offset + BigInt(o.bytes) > BigInt(Number.MAX_SAFE_INTEGER)) break;
          end += BigInt(o.bytes);
          n += o.bytes;
          j++;
        }
        const data = j === i + 1 ? op.payload! : Buffer.concat(group.slice(i, j).map((o) => o.payload!), n);
        if (n > 0) w.writeById(op.objId, Number(op.offset), data);
        rep.bytesWritten += n;
        for (let k = i; k < j; k++) {
          rep.replayed++;
          list(group[k], 'replayed');
        }
        i = j;
      }
    }
    if (shared.commit()) rep.commits++;
  } finally {
    shared.release();
  }
}

/**
 * One transaction for the writers of several PFSes. The replay must commit exactly once: the
 * commit closes the FIFO range behind it, so with two commits a crash between them would lose
 * the REDO records of the second (nothing would replay them again). With one commit, a crash
 * anywhere before it leaves the range open and the next recovery starts over.
 *
 * Every writer joins the same transaction (WriterOptions.transaction): their commit() only writes
 * their in-memory inodes into it, and this object commits it once.
 */
class SharedTransaction {
  private readonly writers: HammerWriter[] = [];
  private tx: Transaction | null = null;

  constructor(private readonly vs: WritableVolumeSet) {}

  writer(pfs: number): HammerWriter {
    this.tx ??= this.vs.begin();
    const w = new HammerWriter(this.vs, { pfs, transaction: this.tx });
    this.writers.push(w);
    return w;
  }

  /** Write every writer's inodes into the one transaction, then commit it; false if nothing was opened. */
  commit(): boolean {
    const tx = this.tx;
    if (!tx || !tx.open) return false;
    for (const w of this.writers) w.commit();
    tx.commit();
    return true;
  }

  release(): void {
    if (this.tx && this.tx.open) this.tx.abort();
  }
}

/** Why a WRITE/TRUNC cannot run (the kernel reports these and goes on), or null. */
function problem(w: HammerWriter, pfs: number, op: RedoOp): string | null {
  if (op.objId <= 0n) return 'bad obj_id';
  const end = op.offset + BigInt(op.bytes);
  if (end > BigInt(Number.MAX_SAFE_INTEGER)) return `offset ${hex64(op.offset)} beyond what this tool can address (2^53)`;
  const r = findRecord(w.tree, locInode(pfs), op.objId, HAMMER_RECTYPE_INODE, 0n, CURRENT);
  if (!r) return 'no such inode';
  if (r.leaf.objType !== HAMMER_OBJTYPE_REGFILE) return 'not a regular file';
  return null;
}

registerRedoStage(replayRedo);
