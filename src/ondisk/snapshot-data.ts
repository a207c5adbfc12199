/**
 * Snapshot payload — struct hammer_snapshot_data (hammer_disk.h), 128 bytes: tid @00, ts @08 (µs),
 * reserved @10, label[64] @20, reserved @60. Config payload — struct hammer_config_data,
 * 1024 bytes of NUL-terminated text.
 */
import { BadFieldError, type Where } from '../errors.js';
import { HAMMER_SNAPSHOT_DATA_SIZE, HAMMER_CONFIG_DATA_SIZE } from './constants.js';
import { u64, setU64 } from './int64.js';
import { writeLabel } from './volume-header.js';

export interface SnapshotData {
  tid: bigint;
  ts: bigint;
  label: string;
  raw: Uint8Array;
}
export function decodeSnapshotData(b: Uint8Array, where: Where): SnapshotData {
  if (b.length < HAMMER_SNAPSHOT_DATA_SIZE) throw new BadFieldError(`snapshot data is ${b.length} bytes, expected 128`, where);
  const dv = new DataView(b.buffer, b.byteOffset, HAMMER_SNAPSHOT_DATA_SIZE);
  let e = 32;
  while (e < 96 && b[e] !== 0) e++;
  return { tid: u64(dv, 0), ts: u64(dv, 8), label: Buffer.from(b.subarray(32, e)).toString('latin1'), raw: b.slice(0, HAMMER_SNAPSHOT_DATA_SIZE) };
}
export function encodeSnapshotData(s: Pick<SnapshotData, 'tid' | 'ts' | 'label'> & { raw?: Uint8Array }): Uint8Array {
  const b = new Uint8Array(HAMMER_SNAPSHOT_DATA_SIZE);
  if (s.raw) b.set(s.raw.subarray(0, HAMMER_SNAPSHOT_DATA_SIZE));
  const dv = new DataView(b.buffer);
  setU64(dv, 0, s.tid); setU64(dv, 8, s.ts);
  writeLabel(b, 32, 64, s.label);
  return b;
}
export function decodeConfigData(b: Uint8Array): string {
  let e = 0;
  while (e < b.length && b[e] !== 0) e++;
  return Buffer.from(b.subarray(0, e)).toString('latin1');
}
export function encodeConfigData(text: string): Uint8Array {
  const b = new Uint8Array(HAMMER_CONFIG_DATA_SIZE);
  b.set(Buffer.from(text, 'latin1').subarray(0, HAMMER_CONFIG_DATA_SIZE - 1));
  return b;
}
