// Child process for the SIGKILL crash test: commits transactions of 100 records each, forever,
// printing "committing <c>" before and "committed <c>" after each commit. Uses the compiled library (dist/).
// argv: <volumes colon-joined> <first commit number>
// HAMMERFS_DIST: another compiled tree (default: the repo's dist/)
const dist = process.env.HAMMERFS_DIST ? new URL(`file://${process.env.HAMMERFS_DIST}/`) : new URL('../../dist/', import.meta.url);
const { openVolumeSetForWrite } = await import(new URL('src/volume/writable-volume-set.js', dist).href);
const { BTree } = await import(new URL('src/btree/btree.js', dist).href);
const { insertLeaf, writeRecordData } = await import(new URL('src/btree/modify.js', dist).href);

const paths = process.argv[2].split(':');
let c = Number(process.argv[3]);
const vs = openVolumeSetForWrite(paths);
process.stdout.write(`open ${vs.recovery && !vs.recovery.clean ? 'recovered' : 'clean'}\n`);
for (;;) {
  const tx = vs.begin();
  const tree = new BTree(vs);
  for (let i = 0; i < 100; i++) {
    const data = new Uint8Array(64 + ((c * 7 + i) % 300));
    data.fill((c + i) & 255);
    const d = writeRecordData(tx, 0x10, data);
    insertLeaf(tx, tree, {
      localization: 2, objId: BigInt(0x50000 + c), recType: 0x10, key: BigInt(i + 1) * 16384n, createTid: tx.tid, deleteTid: 0n,
      objType: 2, btype: 0x52, createTs: tx.ts, deleteTs: 0, ...d,
    });
  }
  process.stdout.write(`committing ${c}\n`);
  tx.commit();
  process.stdout.write(`committed ${c}\n`);
  c++;
}
