/**
 * Structural fuzzing of the B-Tree readers. The input is the 27 nodes of content-v7 laid end to
 * end; each mutated node is resealed (fresh CRC) and laid over the real image, so the mutation gets
 * past the CRC check and reaches the cursor, the `show` walk and the filesystem view with lying
 * counts, keys, child pointers and data references. Payloads stay the image's own.
 *
 * Invariants: a scan yields strictly increasing keys and never more elements than the leaves can
 * hold (each leaf at most once), on top of "value or HammerError".
 */
import * as path from 'node:path';
import * as os from 'node:os';
import { HammerError } from '../src/errors.js';
import { openDevice, type BlockDevice } from '../src/io/device.js';
import { DeviceFilter } from '../src/io/device-filter.js';
import { BTree } from '../src/btree/btree.js';
import { Cursor } from '../src/btree/cursor.js';
import { walkBTree } from '../src/btree/walk.js';
import { HammerFs } from '../src/fs/index.js';
import { cmpBaseElmRaw } from '../src/ondisk/btree-elm.js';
import { sealBtreeNode } from '../src/ondisk/btree-node.js';
import { HAMMER_MIN_KEY, HAMMER_MAX_KEY, HAMMER_MAX_TID, HAMMER_BTREE_LEAF_ELMS, HAMMER_XBUFSIZE } from '../src/ondisk/constants.js';
import { openOnDevices } from './image-campaign.js';
import { collectNodeOffsets, type Samples } from './samples.js';
import { InvariantError, tolerate, type FuzzTarget } from './targets.js';

/** The real image with whole 4 KiB pages replaced (pages keyed by byte position). */
class PageOverlay extends DeviceFilter {
  readonly pages = new Map<number, Uint8Array>();
  override readInto(buf: Uint8Array, pos: number): void {
    this.inner.readInto(buf, pos);
    for (const [p, page] of this.pages) {
      const s = Math.max(pos, p), e = Math.min(pos + buf.length, p + page.length);
      if (s < e) buf.set(page.subarray(s - p, e - p), s - pos);
    }
  }
}

interface Ctx {
  inner: BlockDevice;
  dev: PageOverlay;
  pos: number[];
  pristine: Uint8Array;
  version: number;
}
let ctx: Ctx | undefined;
let ctxDir: string | undefined;

function context(dir?: string): Ctx {
  const d = dir ?? ctxDir ?? process.env.HAMMERFS_IMAGE_CACHE ?? path.join(os.tmpdir(), 'hammerfs-images');
  if (ctx && ctxDir === d) return ctx;
  const inner = openDevice(path.join(d, 'content-v7.img'), { lock: 'none' });
  const vs = openOnDevices([inner]);
  const tree = new BTree(vs);
  const offs = collectNodeOffsets(tree);
  const pristine = new Uint8Array(offs.length * 4096);
  const pos: number[] = [];
  offs.forEach((o, i) => {
    pristine.set(tree.node(o).bytes, i * 4096);
    pos.push(vs.locate(o).pos);
  });
  ctx = { inner, dev: new PageOverlay(inner), pos, pristine, version: vs.version };
  ctxDir = d;
  return ctx;
}

const MIN = { localization: 0, objId: HAMMER_MIN_KEY, recType: 0, key: HAMMER_MIN_KEY, createTid: 1n, deleteTid: 0n, objType: 0, btype: 0 };
const MAX = { localization: 0xffffffff, objId: HAMMER_MAX_KEY, recType: 0xffff, key: HAMMER_MAX_KEY, createTid: HAMMER_MAX_TID, deleteTid: 0n, objType: 0, btype: 0 };

function scan(c: Ctx): void {
  const vs = openOnDevices([c.dev]);
  const cur = new Cursor(new BTree(vs), { end: MAX });
  cur.seek(MIN);
  const prev = new Uint8Array(40);
  const prevDv = new DataView(prev.buffer);
  let n = 0;
  const limit = c.pos.length * HAMMER_BTREE_LEAF_ELMS;
  while (cur.next() === 'elm') {
    const node = cur.node, at = cur.elmAt;
    if (n > 0 && cmpBaseElmRaw(prevDv, 0, node.dv, at) >= 0) throw new InvariantError('scan yielded keys out of order');
    prev.set(new Uint8Array(node.dv.buffer, node.dv.byteOffset + at, 40));
    if (++n > limit) throw new InvariantError(`scan yielded more than ${limit} elements (a leaf twice)`);
    const l = cur.leaf();
    if (l.dataLen > 0 && l.dataLen <= HAMMER_XBUFSIZE && l.dataOffset !== 0n) tolerate(() => vs.read(l.dataOffset, l.dataLen));
  }
}

export const treeTarget: FuzzTarget = {
  name: 'btree-tree',
  covers: 'Cursor scan, show walk and fs view (PFS list, root listings, a path lookup) over all 27 nodes of content-v7 with mutated nodes resealed',
  maxLen: 27 * 4096,
  seedsMayFail: false,
  seeds: (s: Samples) => [context(s.dir).pristine],
  run(input) {
    const c = context();
    c.dev.pages.clear();
    for (let i = 0; i < c.pos.length; i++) {
      const a = i * 4096;
      let same = input.length >= a + 4096;
      for (let k = a; same && k < a + 4096; k++) if (input[k] !== c.pristine[k]) same = false;
      if (same) continue;
      const page = new Uint8Array(4096);
      page.set(input.subarray(a, Math.min(input.length, a + 4096)));
      sealBtreeNode(page, 0, c.version);
      c.dev.pages.set(c.pos[i], page);
    }
    let first: HammerError | undefined;
    const keep = (e: unknown) => { if (e instanceof HammerError) first ??= e; };
    keep(tolerate(() => scan(c)));
    keep(tolerate(() => walkBTree(new BTree(openOnDevices([c.dev])), { checkData: true })));
    keep(tolerate(() => {
      const fs = HammerFs.open(openOnDevices([c.dev]));
      for (const p of fs.listPfs()) {
        if (p.deleted) continue;
        const v = tolerate(() => fs.view({ pfs: p.id }));
        if (v instanceof HammerError) continue;
        tolerate(() => v.readdir('/'));
        tolerate(() => v.exists('/level-1/level-2'));
      }
    }));
    c.dev.pages.clear();
    if (first) throw first;
  },
};
