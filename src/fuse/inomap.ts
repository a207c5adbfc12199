/**
 * Inode numbers for the mount. HAMMER obj_ids are 64-bit, but fuse-native hands st_ino to the
 * kernel as a u32, so every (view, obj_id) pair gets a 32-bit number that stays the same for the
 * life of the mount:
 *   - in the mount's own view an object gets the low 32 bits of its obj_id when that number is free
 *     (so `stat` matches `hammerfs stat` for every image we know: obj_ids are 0x1_xxxxxxxx or 1);
 *   - historical views (name@@0x<tid>, .snapshots/*) and synthetic directories, and any obj_id
 *     whose low bits collide with a number already handed out, get a fresh number from a counter.
 * NOTE: two distinct objects never share a number, and hardlinks (one obj_id) always do; so tools
 * that detect hardlinks by (dev, ino) — cp -a, tar, du — stay correct, and an old version seen
 * through @@ is never mistaken for a hardlink of the current file.
 */

const INO_MAX = 0xffffffff;

export class InoMap {
  private byKey = new Map<string, number>();
  private used = new Set<number>();
  /** Fresh numbers count down from the top, far from the low bits real obj_ids use. */
  private next = INO_MAX - 1;

  constructor(private readonly primaryView: string) {}

  /** The inode number of obj_id `objId` seen through view `viewKey`. */
  ino(viewKey: string, objId: bigint): number {
    const key = viewKey + '|' + objId.toString(16);
    const have = this.byKey.get(key);
    if (have !== undefined) return have;
    let n = -1;
    if (viewKey === this.primaryView) {
      const low = Number(BigInt.asUintN(32, objId));
      // 0 means "no inode" to readdir consumers and 0xffffffff is FUSE_UNKNOWN_INO.
      if (low !== 0 && low !== INO_MAX && !this.used.has(low)) n = low;
    }
    if (n < 0) n = this.fresh();
    this.byKey.set(key, n);
    this.used.add(n);
    return n;
  }

  /** A number for a synthetic node (e.g. the .snapshots directory), named by `name`. */
  synthetic(name: string): number {
    const key = '#' + name;
    const have = this.byKey.get(key);
    if (have !== undefined) return have;
    const n = this.fresh();
    this.byKey.set(key, n);
    this.used.add(n);
    return n;
  }

  get size(): number {
    return this.byKey.size;
  }

  private fresh(): number {
    while (this.used.has(this.next) && this.next > 1) this.next--;
    // 4 billion distinct (view, object) pairs in one mount is out of reach of a 64 MiB cache walk;
    // if it ever happens, reuse is safer than a crash: numbers stay unique among the first 2^32.
    const n = this.next;
    this.next = this.next > 2 ? this.next - 1 : INO_MAX - 1;
    return n;
  }
}
