/**
 * A B-Tree cursor: positions at the first element >= a key (hammer_btree_lookup()) and iterates
 * leaf elements in key order up to an inclusive end key (hammer_btree_iterate()). There are no
 * sibling pointers, so the cursor keeps the path from the root as a stack of (node, index).
 *
 * With a mirror filter TID M the iteration skips, without reading them, the subtrees whose
 * internal element mirror_tid < M, and reports each skipped key range
 * (hammer_cursor_mirror_filter()). The initial descent is never filtered. Leaves are never
 * filtered: the caller classifies their elements.
 *
 * No allocation per element: the current element is read in place through node/index.
 */
import { BadFieldError, CycleError } from '../errors.js';
import { cmpBaseElmRaw, decodeBaseElm, EncodedKey, cmpBaseElm, type BaseElm, type LeafElm } from '../ondisk/btree-elm.js';
import type { NodeView } from '../ondisk/btree-node.js';
import type { BTree } from './btree.js';

const MAX_DEPTH = 40;

interface Frame {
  node: NodeView;
  index: number;
}

export type Step = 'elm' | 'skip' | 'end';

export interface CursorOptions {
  /** Inclusive end key; iteration stops at the first element > end. */
  end?: BaseElm;
  /** Skip subtrees with mirror_tid below this TID (mirror-read). */
  mirrorFilterTid?: bigint;
}

export class Cursor {
  private stack: Frame[] = [];
  private pending = false;
  private begKey?: EncodedKey;
  private readonly endKey?: EncodedKey;
  private readonly filter?: bigint;
  /** Set when next() returns 'skip': the skipped range [skipBeg, skipEnd). */
  skipBeg?: BaseElm;
  skipEnd?: BaseElm;

  constructor(
    readonly tree: BTree,
    o: CursorOptions = {},
  ) {
    if (o.end) this.endKey = new EncodedKey(o.end);
    this.filter = o.mirrorFilterTid;
  }

  /** Current leaf node and element index (valid after next() returned 'elm'). */
  get node(): NodeView {
    return this.stack[this.stack.length - 1].node;
  }
  get index(): number {
    return this.stack[this.stack.length - 1].index;
  }
  /** Byte position of the current element inside node.dv. */
  get elmAt(): number {
    const f = this.stack[this.stack.length - 1];
    return f.node.elmAt(f.index);
  }
  leaf(): LeafElm {
    const f = this.stack[this.stack.length - 1];
    return f.node.leaf(f.index);
  }
  base(): BaseElm {
    const f = this.stack[this.stack.length - 1];
    return decodeBaseElm(f.node.dv, f.node.elmAt(f.index));
  }
  /** Node offsets from the root to the current node. */
  path(): bigint[] {
    return this.stack.map((f) => f.node.offset);
  }
  depth(): number {
    return this.stack.length;
  }

  private push(off: bigint): NodeView {
    if (this.stack.length >= MAX_DEPTH) throw new CycleError(`B-Tree deeper than ${MAX_DEPTH} levels`, this.tree.nodeWhere(off));
    for (const f of this.stack) {
      if (f.node.offset === off) throw new CycleError('B-Tree child pointer leads back to an ancestor', this.tree.nodeWhere(off));
    }
    const node = this.tree.node(off);
    this.checkOrder(node);
    const top = this.stack[this.stack.length - 1];
    if (top) this.checkBounds(top.node, top.index, node);
    this.stack.push({ node, index: 0 });
    return node;
  }

  /*
   * Key checks on descent. Keys strictly increase inside every node, and a child's keys lie in
   * its parent element's range [elm i, elm i+1) (the right boundary of an internal child may
   * equal elm i+1). Sibling ranges are then disjoint, so no internal node can be reached twice
   * and a lying tree costs at most one visit per node: without this, a few internal nodes whose
   * 62 elements all point at the next one (a DAG, no loop) make a scan take 62^depth steps.
   */
  private checkOrder(node: NodeView): void {
    if (this.tree.ordered.has(node.offset)) return;
    const n = node.isInternal ? node.count + 1 : node.count;
    for (let k = 1; k < n; k++) {
      if (cmpBaseElmRaw(node.dv, node.elmAt(k - 1), node.dv, node.elmAt(k)) >= 0) {
        throw new BadFieldError('B-Tree node elements out of key order', { ...this.tree.nodeWhere(node.offset), index: k });
      }
    }
    this.tree.ordered.add(node.offset);
  }

  private checkBounds(parent: NodeView, i: number, child: NodeView): void {
    const n = child.isInternal ? child.count + 1 : child.count;
    if (n === 0) return;
    const lo = parent.elmAt(i), hi = parent.elmAt(i + 1);
    const last = cmpBaseElmRaw(child.dv, child.elmAt(n - 1), parent.dv, hi);
    if (cmpBaseElmRaw(child.dv, child.elmAt(0), parent.dv, lo) < 0 || (child.isInternal ? last > 0 : last >= 0)) {
      throw new BadFieldError("B-Tree node keys lie outside its parent element's range", { ...this.tree.nodeWhere(child.offset), field: `parent ${parent.offset.toString(16)} elm ${i}` });
    }
  }

  /** Position at the first leaf element >= beg. The next call to next() returns it. */
  seek(beg: BaseElm): void {
    this.stack = [];
    this.begKey = new EncodedKey(beg);
    const k = this.begKey;
    let node = this.push(this.tree.rootOffset);
    for (;;) {
      const f = this.stack[this.stack.length - 1];
      const count = node.count;
      if (node.isLeaf) {
        let i = 0;
        while (i < count && cmpBaseElmRaw(node.dv, node.elmAt(i), k.dv, 0) < 0) i++;
        f.index = i;
        break;
      }
      // largest i < count with elms[i] <= k (0 if k lies left of the node)
      let i = 0;
      while (i + 1 < count && cmpBaseElmRaw(node.dv, node.elmAt(i + 1), k.dv, 0) <= 0) i++;
      f.index = i;
      const child = node.subtreeOffset(i);
      if (child === 0n) throw new BadFieldError('internal element has no subtree', { ...this.tree.nodeWhere(node.offset), index: i });
      node = this.push(child);
    }
    this.pending = true;
  }

  /** Advance to the next leaf element ('elm'), a skipped range ('skip') or the end. */
  next(): Step {
    if (this.stack.length === 0) return 'end';
    if (!this.pending) this.stack[this.stack.length - 1].index++;
    this.pending = false;
    const end = this.endKey;
    for (;;) {
      const f = this.stack[this.stack.length - 1];
      const node = f.node;
      const count = node.count;
      if (node.isLeaf) {
        if (f.index < count) {
          if (end && cmpBaseElmRaw(node.dv, node.elmAt(f.index), end.dv, 0) > 0) return this.finish();
          return 'elm';
        }
      } else if (f.index < count) {
        const i = f.index;
        if (end && cmpBaseElmRaw(node.dv, node.elmAt(i), end.dv, 0) > 0) return this.finish();
        if (this.filter !== undefined && node.elmMirrorTid(i) < this.filter) {
          let j = i;
          while (j < count && node.elmMirrorTid(j) < this.filter) j++;
          let sb = decodeBaseElm(node.dv, node.elmAt(i));
          let se = decodeBaseElm(node.dv, node.elmAt(j));
          if (this.begKey && cmpBaseElm(sb, this.begKey.elm) < 0) sb = { ...this.begKey.elm };
          if (end && cmpBaseElm(se, end.elm) > 0) se = { ...end.elm };
          this.skipBeg = sb;
          this.skipEnd = se;
          f.index = j;
          // elms[j] has not been visited yet: the next call must start at it, not after it
          this.pending = true;
          return 'skip';
        }
        const child = node.subtreeOffset(i);
        if (child === 0n) throw new BadFieldError('internal element has no subtree', { ...this.tree.nodeWhere(node.offset), index: i });
        this.push(child);
        continue;
      }
      // this node is exhausted: climb
      this.stack.pop();
      if (this.stack.length === 0) return 'end';
      this.stack[this.stack.length - 1].index++;
    }
  }

  private finish(): Step {
    this.stack = [];
    return 'end';
  }
}

/** Visit every leaf element in [beg, end]; stop early when fn returns false. */
export function forEachLeaf(tree: BTree, beg: BaseElm, end: BaseElm, fn: (node: NodeView, i: number) => boolean | void): void {
  const c = new Cursor(tree, { end });
  c.seek(beg);
  while (c.next() === 'elm') {
    if (fn(c.node, c.index) === false) return;
  }
}
