/**
 * hammerfs mirror-dump: print a mirror stream's records as `hammer mirror-dump` does (the
 * Record / Pass / Skip lines are the same text), or as NDJSON with --json; --verify checks every
 * record CRC, payload data CRC and the batch framing without printing records.
 *
 * Exit codes: 0 clean; 1 (--verify) the stream is readable but has problems (a record or data
 * CRC mismatch, records out of place or out of order, no TERM); 2 the stream cannot be read
 * (not a mirror stream, byte-swapped, rec_size out of range, cut short) — and, without --verify,
 * any problem at all.
 */
import * as fs from 'node:fs';
import type { CommandModule } from 'yargs';
import { run } from '../common.js';
import { Output, printJson, printNdjson } from '../output.js';
import { EXIT_BAD_INPUT, EXIT_OK, EXIT_PROBLEMS } from '../exit.js';
import { HammerError, IoError, UsageError } from '../../src/errors.js';
import { hex64 } from '../../src/ondisk/int64.js';
import { uuidToString } from '../../src/ondisk/uuid.js';
import { decodePfsData } from '../../src/ondisk/pfs-data.js';
import {
  HAMMER_MREC_TYPE_REC, HAMMER_MREC_TYPE_PASS, HAMMER_MREC_TYPE_SKIP, HAMMER_MREC_TYPE_PFSD, HAMMER_MREC_TYPE_UPDATE,
  HAMMER_MRECF_CRC_ERROR,
} from '../../src/ondisk/constants.js';
import { MREC_TYPE_NAMES, type MRecord, type MRecordType } from '../../src/ondisk/mrecord.js';
import type { BaseElm } from '../../src/ondisk/btree-elm.js';
import { readMirrorStream, type MirrorStreamHandler, type MirrorStreamSummary } from '../../src/mirror/stream-reader.js';

interface Args {
  i?: string;
  json?: boolean;
  verify?: boolean;
  all?: boolean;
  debug?: boolean;
  quiet?: boolean;
}

const x8 = (n: number) => (n >>> 0).toString(16).padStart(8, '0');
const x2 = (n: number) => n.toString(16).padStart(2, '0');

/** The lines lh1 `hammer mirror-dump` prints for REC / PASS / SKIP (cmd_mirror.c), plus framing lines with --all. */
export function humanLines(r: MRecord, all: boolean): string[] {
  switch (r.type) {
    case HAMMER_MREC_TYPE_REC:
    case HAMMER_MREC_TYPE_PASS: {
      const l = r.leaf;
      const tag = r.type === HAMMER_MREC_TYPE_REC ? 'Record' : 'Pass  ';
      const bad = r.type === HAMMER_MREC_TYPE_REC && (r.flags & HAMMER_MRECF_CRC_ERROR) ? ' (BAD CRC)' : '';
      return [
        `${tag} lo=${x8(l.localization)} obj=${hex64(l.objId)} key=${hex64(l.key)} rt=${x2(l.recType)} ot=${x2(l.objType)}${bad}`,
        `       tids ${hex64(l.createTid)}:${hex64(l.deleteTid)} data=${l.dataLen}`,
      ];
    }
    case HAMMER_MREC_TYPE_SKIP: {
      const k = (e: BaseElm) => `lo=${x8(e.localization)} obj=${hex64(e.objId)} key=${hex64(e.key)} rt=${x2(e.recType)}`;
      return [`Skip   ${k(r.skipBeg)} to`, `       ${k(r.skipEnd)}`];
    }
    default:
      if (!all) return [];
      if (r.type === HAMMER_MREC_TYPE_PFSD) {
        const p = decodePfsData(r.pfsd, { structure: 'mirror stream PFSD' });
        return [
          `PFSD   version=${r.version} sync_beg_tid=0x${hex64(p.syncBegTid)} sync_end_tid=0x${hex64(p.syncEndTid)} ` +
            `shared_uuid=${uuidToString(p.sharedUuid)} ${p.mirrorFlags & 1 ? 'slave' : 'master'} label="${p.label}"`,
        ];
      }
      if (r.type === HAMMER_MREC_TYPE_UPDATE) return [`Update tid=0x${hex64(r.tid)}`];
      return [MREC_TYPE_NAMES[r.type as MRecordType]];
  }
}

/** One NDJSON object per record (64-bit values as "0x%016x"). */
export function jsonRecord(r: MRecord, pos: number, recSize: number): Record<string, unknown> {
  const o: Record<string, unknown> = { pos, type: MREC_TYPE_NAMES[r.type as MRecordType], flags: r.flags, recSize };
  switch (r.type) {
    case HAMMER_MREC_TYPE_REC:
      o.leaf = r.leaf;
      o.payloadLen = r.payload.length;
      break;
    case HAMMER_MREC_TYPE_PASS:
      o.leaf = r.leaf;
      break;
    case HAMMER_MREC_TYPE_SKIP:
      o.skipBeg = r.skipBeg;
      o.skipEnd = r.skipEnd;
      break;
    case HAMMER_MREC_TYPE_PFSD: {
      const p = decodePfsData(r.pfsd, { structure: 'mirror stream PFSD' });
      o.version = r.version;
      o.pfsd = {
        syncBegTid: p.syncBegTid, syncEndTid: p.syncEndTid, sharedUuid: uuidToString(p.sharedUuid), uniqueUuid: uuidToString(p.uniqueUuid),
        mirrorFlags: p.mirrorFlags, label: p.label,
      };
      break;
    }
    case HAMMER_MREC_TYPE_UPDATE:
      o.tid = r.tid;
      break;
  }
  return o;
}

function openInput(a: Args): AsyncIterable<Uint8Array> {
  if (a.i !== undefined && a.i !== '-') {
    try {
      const fd = fs.openSync(a.i, 'r');
      return fs.createReadStream('', { fd, highWaterMark: 1 << 20 });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const w = { structure: 'mirror stream input', path: a.i };
      if (code === 'ENOENT' || code === 'EISDIR') throw new UsageError(`cannot open stream file: ${(e as Error).message}`, w);
      throw new IoError(`cannot open stream file: ${(e as Error).message}`, w, { cause: e });
    }
  }
  if (process.stdin.isTTY) {
    throw new UsageError('refusing to read a binary mirror stream from a terminal; use -i FILE or a pipe', { structure: 'argument', field: 'i' });
  }
  return process.stdin;
}

function summaryLine(s: MirrorStreamSummary): string {
  return `${s.records} records in ${s.batches} batch${s.batches === 1 ? '' : 'es'} (${s.synced} SYNC, ${s.idle} IDLE, ${s.aborted} unfinished), ${s.bytes} bytes, ` +
    `${s.terminated ? 'TERM' : 'no TERM'}: ${s.problems === 0 ? 'clean' : `${s.problems} problem${s.problems === 1 ? '' : 's'}`}`;
}

export const mirrorDumpCommand: CommandModule<object, Args> = {
  command: 'mirror-dump',
  describe: 'print a mirror stream (stdin or -i FILE) like hammer mirror-dump; --json: NDJSON, one record per line; --verify: check it',
  builder: (y) =>
    y
      .option('i', { type: 'string', requiresArg: true, describe: 'read the stream from FILE (default: stdin, which must not be a terminal)' })
      .option('json', { type: 'boolean', default: false, describe: 'NDJSON: one object per record (with --verify: one summary document)' })
      .option('verify', { type: 'boolean', default: false, describe: 'check record CRCs, payload CRCs and batch framing; exit 0 clean, 1 problems, 2 unreadable' })
      .option('all', { type: 'boolean', default: false, describe: 'also print PFSD / SYNC / IDLE / TERM records' })
      .option('debug', { type: 'boolean', default: false, describe: 'stack traces on errors' })
      .option('quiet', { type: 'boolean', default: false, describe: 'no summary on stderr' }),
  handler: run<Args>(async (a) => {
    const input = openInput(a);
    if (a.verify) {
      const problems: HammerError[] = [];
      const out = new Output();
      const h: MirrorStreamHandler = {
        problem(e) {
          problems.push(e);
          if (!a.json) out.line(`problem: ${e.message}`);
        },
      };
      let summary: MirrorStreamSummary | undefined;
      let fatal: unknown;
      try {
        summary = await readMirrorStream(input, h, { report: true });
      } catch (e) {
        if (!(e instanceof HammerError)) throw e;
        fatal = e;
      }
      if (a.json) {
        out.flush();
        printJson({ ok: fatal === undefined && problems.length === 0, fatal: fatal instanceof HammerError ? fatal.toJSON() : undefined, problems: problems.map((p) => p.toJSON()), summary });
        if (fatal) {
          process.exitCode = EXIT_BAD_INPUT;
          return;
        }
      } else {
        if (summary) out.line(summaryLine(summary));
        out.flush();
        if (fatal) throw fatal;
      }
      return problems.length ? EXIT_PROBLEMS : EXIT_OK;
    }
    const out = new Output();
    const all = a.all ?? false;
    const h: MirrorStreamHandler = a.json
      ? { record: (r, pos, size) => printNdjson(jsonRecord(r, pos, size), out) }
      : {
          record: (r) => {
            for (const l of humanLines(r, all)) out.line(l);
          },
        };
    try {
      const s = await readMirrorStream(input, h);
      out.flush();
      if (!a.quiet && !a.json) process.stderr.write(`mirror-dump: ${summaryLine(s)}\n`);
    } finally {
      out.flush();
    }
  }),
};
