/**
 * Typed errors for every layer. Each carries a `Where`: which structure, on which
 * volume, at which byte or HAMMER offset, so a user can find the damage. Library code
 * throws these; only tools/ turns them into messages and exit codes.
 */

export interface Where {
  /** Structure name as a user would recognise it: "volume header", "B-Tree node", ... */
  structure: string;
  volNo?: number;
  path?: string;
  /** Byte offset on the device / image file. */
  rawOffset?: number;
  /** HAMMER encoded offset (zone-N). */
  hammerOff?: bigint;
  /** Byte offset in a mirror stream. */
  streamPos?: number;
  index?: number;
  field?: string;
}

const hex = (n: number | bigint, w = 0) => n.toString(16).padStart(w, '0');

/** Human rendering of a location: "B-Tree node 8000000021000000 elm 3 (vol 0, byte 0x21088000 in a.img)". */
export function describeWhere(w: Where): string {
  let s = w.structure;
  if (w.hammerOff !== undefined) s += ` ${hex(BigInt.asUintN(64, w.hammerOff), 16)}`;
  if (w.index !== undefined) s += ` #${w.index}`;
  if (w.field) s += ` field ${w.field}`;
  const loc: string[] = [];
  if (w.volNo !== undefined) loc.push(`vol ${w.volNo}`);
  if (w.rawOffset !== undefined) loc.push(`byte 0x${hex(w.rawOffset)}`);
  if (w.streamPos !== undefined) loc.push(`stream byte ${w.streamPos}`);
  if (w.path) loc.push(w.path);
  if (loc.length) s += ` (${loc.join(', ')})`;
  return s;
}

export abstract class HammerError extends Error {
  abstract readonly code: string;
  constructor(
    readonly detail: string,
    readonly where: Where,
    options?: ErrorOptions,
  ) {
    super(`${detail}: ${describeWhere(where)}`, options);
    this.name = new.target.name;
  }
  toJSON() {
    return { name: this.name, code: this.code, message: this.message, where: jsonWhere(this.where) };
  }
}

function jsonWhere(w: Where): Record<string, unknown> {
  const o: Record<string, unknown> = { ...w };
  if (w.hammerOff !== undefined) o.hammerOff = '0x' + hex(BigInt.asUintN(64, w.hammerOff), 16);
  return o;
}

export class BadSignatureError extends HammerError {
  readonly code = 'E_SIGNATURE';
}
export class CrcMismatchError extends HammerError {
  readonly code = 'E_CRC';
  constructor(where: Where, readonly expected: number, readonly actual: number, what = 'CRC mismatch') {
    super(`${what}: stored 0x${hex(actual, 8)}, computed 0x${hex(expected, 8)}`, where);
  }
}
/** A field out of range or an invariant broken (count > 63, bounds out of order, ...). */
export class BadFieldError extends HammerError {
  readonly code = 'E_FIELD';
}
export class UnsupportedVersionError extends HammerError {
  readonly code = 'E_VERSION';
}
export class UnsupportedByteOrderError extends HammerError {
  readonly code = 'E_BYTEORDER';
}
export class ShortReadError extends HammerError {
  readonly code = 'E_SHORTREAD';
}
export class IoError extends HammerError {
  readonly code = 'E_IO';
}
/** fsid mismatch, duplicate or missing volume, bad vol_count. */
export class VolumeSetError extends HammerError {
  readonly code = 'E_VOLSET';
}
export class LockedError extends HammerError {
  readonly code = 'E_LOCKED';
}
export class ReadOnlyError extends HammerError {
  readonly code = 'E_READONLY';
}
export class NoSpaceError extends HammerError {
  readonly code = 'E_NOSPC';
}
export class MirrorStreamError extends HammerError {
  readonly code = 'E_STREAM';
}
/** A cursor met a node it had already visited: the tree has a loop. */
export class CycleError extends HammerError {
  readonly code = 'E_CYCLE';
}
export class NotFoundError extends HammerError {
  readonly code = 'E_NOENT';
}
export class NotDirectoryError extends HammerError {
  readonly code = 'E_NOTDIR';
}
export class IsDirectoryError extends HammerError {
  readonly code = 'E_ISDIR';
}
export class ExistsError extends HammerError {
  readonly code = 'E_EXIST';
}
export class UsageError extends HammerError {
  readonly code = 'E_USAGE';
}
