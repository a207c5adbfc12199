/**
 * mirror-write of hostile streams: the input is a mirror stream (real short streams of content-v7
 * as seeds; record CRCs resealed after mutation so that lying keys, TIDs, types and sizes get past
 * the framing) applied to a new slave PFS 77 of content-v7, on a device that keeps writes in memory
 * and logs them.
 *
 * Invariants: value or HammerError; every write lands in the volume header or the buffer area; and
 * no record outside PFS 77 changes, whatever localization the stream's records claim.
 */
import * as path from 'node:path';
import * as os from 'node:os';
import { HammerError } from '../src/errors.js';
import { openDevice, type BlockDevice } from '../src/io/device.js';
import { WritableVolumeSet } from '../src/volume/writable-volume-set.js';
import { BTree } from '../src/btree/btree.js';
import { Cursor } from '../src/btree/cursor.js';
import { MirrorWriter } from '../src/mirror/mirror-write.js';
import { parseMirrorStream } from '../src/mirror/stream-reader.js';
import { mrecordCrc } from '../src/ondisk/mrecord.js';
import { crc32 } from '../src/ondisk/crc.js';
import { HAMMER_RECTYPE_PFS, HAMMER_MIN_KEY, HAMMER_MAX_KEY, HAMMER_MAX_TID, HAMMER_VOLUME_HEADER_SIZE, HAMMER_IOC_MIRROR_SIGNATURE } from '../src/ondisk/constants.js';
import { openOnDevices } from './image-campaign.js';
import { WriteOverlay } from './undo-target.js';
import { MIRROR_TARGETS } from './mirror-targets.js';
import { InvariantError, type FuzzTarget } from './targets.js';
import type { Samples } from './samples.js';

const TARGET_PFS = 77;
const MIN = { localization: 0, objId: HAMMER_MIN_KEY, recType: 0, key: HAMMER_MIN_KEY, createTid: 1n, deleteTid: 0n, objType: 0, btype: 0 };
const MAX = { localization: 0xffffffff, objId: HAMMER_MAX_KEY, recType: 0xffff, key: HAMMER_MAX_KEY, createTid: HAMMER_MAX_TID, deleteTid: 0n, objType: 0, btype: 0 };

interface Ctx { inner: BlockDevice; others: string; bufBeg: number; bufEnd: number }
let ctx: Ctx | undefined;

/** CRC of every leaf element (all 64 bytes) outside PFS 77, in key order. */
function othersDigest(dev: BlockDevice): string {
  const c = new Cursor(new BTree(openOnDevices([dev])), { end: MAX });
  c.seek(MIN);
  let h = 0, n = 0;
  while (c.next() === 'elm') {
    const node = c.node, at = c.elmAt;
    if (node.dv.getUint32(at + 0x24, true) >>> 16 === TARGET_PFS) continue;
    // The target's own PFS record lives in PFS 0 (obj 1, rec_type PFS, key = id << 16) and is
    // created / has its sync_end_tid moved by design.
    if (node.dv.getUint16(at + 0x20, true) === HAMMER_RECTYPE_PFS && node.dv.getBigInt64(at + 0x08, true) === BigInt(TARGET_PFS) << 16n) continue;
    h = crc32(new Uint8Array(node.dv.buffer, node.dv.byteOffset + at, 64), h);
    n++;
  }
  return `${n}:${h}`;
}

function context(dir?: string): Ctx {
  if (ctx) return ctx;
  const d = dir ?? process.env.HAMMERFS_IMAGE_CACHE ?? path.join(os.tmpdir(), 'hammerfs-images');
  const inner = openDevice(path.join(d, 'content-v7.img'), { lock: 'none' });
  const vs = openOnDevices([inner]);
  ctx = { inner, others: othersDigest(inner), bufBeg: vs.root.bufBeg, bufEnd: vs.root.bufEnd };
  return ctx;
}

/** Recompute rec_crc of every record that still frames (signature and a sane rec_size). */
function resealed(b: Uint8Array): Uint8Array {
  const o = b.slice();
  const dv = new DataView(o.buffer);
  let p = 0;
  while (p + 16 <= o.length) {
    if (dv.getUint32(p, true) !== HAMMER_IOC_MIRROR_SIGNATURE) break;
    const size = dv.getUint32(p + 8, true);
    if (size < 16 || p + size > o.length) break;
    dv.setUint32(p + 4, mrecordCrc(o, p, size), true);
    p += (size + 7) & ~7;
  }
  return o;
}

export const mirrorWriteTarget: FuzzTarget = {
  name: 'mirror-write',
  covers: 'mirror-write of hostile streams (record CRCs resealed) into a new slave PFS: writes stay in the volume\'s areas, other PFSs untouched',
  maxLen: 32 * 1024,
  seeds: (s: Samples) => {
    context(s.dir);
    return MIRROR_TARGETS.find((t) => t.name === 'mirror-stream')!.seeds(s).filter((x) => x.length <= 32 * 1024).slice(0, 12);
  },
  run(input) {
    const c = context();
    const dev = new WriteOverlay(c.inner);
    let failure: unknown;
    try {
      const vs = WritableVolumeSet.fromDevices([dev]);
      try {
        const w = new MirrorWriter(vs, { pfsId: TARGET_PFS, createSlave: true, force: true });
        parseMirrorStream(resealed(input), w);
      } finally {
        vs.close();
      }
    } catch (e) {
      if (!(e instanceof HammerError)) throw e;
      failure = e;
    }
    for (const wr of dev.writes) {
      const inHeader = wr.pos >= 0 && wr.pos + wr.len <= HAMMER_VOLUME_HEADER_SIZE;
      const inBuffers = wr.pos >= c.bufBeg && wr.pos + wr.len <= c.bufEnd;
      if (!inHeader && !inBuffers) throw new InvariantError(`mirror-write wrote ${wr.len} bytes at device byte 0x${wr.pos.toString(16)}`);
    }
    if (dev.writes.length && othersDigest(dev) !== c.others) throw new InvariantError('mirror-write changed records outside the target PFS');
    if (failure) throw failure;
  },
};
