/**
 * hammerfs public API: a short list of re-exports, lowest layer first. Importing this module also
 * registers REDO replay (recovery stage 2) with the volume layer, so every writable open through
 * the library recovers exactly as the DragonFly kernel does at mount.
 */
import './fs/write/redo.js';

export * from './errors.js';

// io
export { openDevice, openDeviceForWrite, type BlockDevice, type WritableBlockDevice } from './io/device.js';
export { MemoryDevice, FaultDevice } from './io/memory-device.js';

// volume
export { openVolumeSet, splitVolumeArg, VolumeSet, type Warning } from './volume/volume-set.js';
export { openVolumeSetForWrite, WritableVolumeSet } from './volume/writable-volume-set.js';
export type { Transaction, CommitStats } from './volume/transaction.js';
export { newfs, newfsPaths, makeTestImage, makeTestVolumes, type NewfsOptions } from './volume/newfs.js';
export { recoverUndo } from './volume/recovery.js';

// btree
export { BTree } from './btree/btree.js';
export { Cursor, forEachLeaf } from './btree/cursor.js';
export { isVisible } from './btree/visibility.js';
export { walkBTree } from './btree/walk.js';
export { checkmap } from './btree/checkmap.js';
export { insertLeaf, markDeleted, deleteLeaf, writeRecordData } from './btree/modify.js';

// fs
export { HammerFs, type HammerFsOptions } from './fs/index.js';
export { verifyFilesystem } from './fs/verify.js';
export { recover } from './fs/recover.js';
export { probe } from './fs/probe.js';
export { buildTimeline } from './fs/timeline.js';
export { HammerWriter } from './fs/write/writer.js';
export { importTree } from './fs/write/import.js';
export { replayRedo } from './fs/write/redo.js';

// mirror
export { writeMirrorStream, estimateMirrorRead } from './mirror/mirror-read.js';
export { MirrorWriter } from './mirror/mirror-write.js';
export { mirrorCopy } from './mirror/mirror-copy.js';
export { MirrorStreamReader, parseMirrorStream } from './mirror/stream-reader.js';
export { MirrorStreamWriter } from './mirror/stream-writer.js';
export { createPfs, updatePfs, upgradePfs, downgradePfs, destroyPfs } from './mirror/pfs-admin.js';

// 64-bit helpers
export { hex64, json64, parseU64 } from './ondisk/int64.js';
