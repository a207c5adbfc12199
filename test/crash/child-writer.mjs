// Child process for the SIGKILL crash test: commits transactions of 100 records each, forever,
// printing "committed <c>" after each commit returns. Uses the compiled library (dist/).
// argv: <volumes colon-joined> <first commit number>
import { openVolumeSetForWrite } from '../../dist/src/volume/writable-volume-set.js';
import { BTree } from '../../dist/src/btree/btree.js';
import { insertLeaf, writeRecordData } from '../../dist/src/btree/modify.js';

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
  tx.commit();
  process.stdout.write(`committed ${c}\n`);
  c++;
}
