/**
 * probe: is this HAMMER, which filesystem, which volume of how many, and is the set given
 * complete and consistent? Reads only the 16 KiB header buffer of each device, like blkid.
 * Never throws for a foreign or damaged device: each volume carries its own verdict.
 */
import { HammerError, IoError } from '../errors.js';
import { openDevice, type LockMode } from '../io/device.js';
import { HAMMER_BUFSIZE, HAMMER_VOLUME_HEADER_SIZE } from '../ondisk/constants.js';
import { decodeVolumeHeader } from '../ondisk/volume-header.js';
import { uuidToString } from '../ondisk/uuid.js';

export interface ProbeVolume {
  path: string;
  hammer: boolean;
  /** Why it is not (a usable) HAMMER volume. */
  error?: string;
  /** The device could not be read at all (I/O error, permission): not a verdict on the contents. */
  ioError?: boolean;
  label?: string;
  fsid?: string;
  version?: number;
  volNo?: number;
  volCount?: number;
  size?: number;
}

export type ProbeVerdict = 'complete' | 'not-hammer' | 'incomplete' | 'inconsistent' | 'io-error';

export interface ProbeResult {
  volumes: ProbeVolume[];
  verdict: ProbeVerdict;
  /** What makes the set incomplete or inconsistent. */
  problems: string[];
}

export function probeVolume(path: string, lock: LockMode = 'shared'): ProbeVolume {
  let dev;
  try {
    dev = openDevice(path, { lock });
  } catch (e) {
    // A path that does not exist (or is a directory) is bad input, like anything else that is not
    // a HAMMER volume; only real I/O trouble (EIO, EACCES, a lock) is an I/O error.
    const cause = ((e as Error).cause as NodeJS.ErrnoException | undefined)?.code;
    const notThere = cause === 'ENOENT' || cause === 'ENOTDIR' || cause === 'EISDIR' || (e instanceof IoError && /not a regular file/.test(e.detail));
    return { path, hammer: false, ioError: !notThere, error: e instanceof HammerError ? e.detail : String(e) };
  }
  try {
    if (dev.size < HAMMER_VOLUME_HEADER_SIZE) return { path, hammer: false, size: dev.size, error: `too small for a HAMMER volume (${dev.size} bytes)` };
    const b = dev.read(0, Math.min(HAMMER_BUFSIZE, dev.size));
    const h = decodeVolumeHeader(b, { structure: 'volume header', path, rawOffset: 0 });
    return { path, hammer: true, label: h.label, fsid: uuidToString(h.fsid), version: h.version, volNo: h.volNo, volCount: h.volCount, size: dev.size };
  } catch (e) {
    if (e instanceof IoError) return { path, hammer: false, ioError: true, error: e.detail };
    if (e instanceof HammerError) return { path, hammer: false, size: dev.size, error: e.detail };
    throw e;
  } finally {
    dev.close();
  }
}

/**
 * Probe every path and judge the set: 'not-hammer' when no device is HAMMER; 'complete' when all
 * are HAMMER volumes of one filesystem, each vol_no 0..count-1 exactly once; otherwise
 * 'inconsistent' (mixed filesystems, counts, versions, labels, foreign devices among HAMMER ones,
 * duplicates) or 'incomplete' (only volumes missing). 'io-error' when a device could not be read
 * and nothing else is wrong.
 */
export function probe(paths: string[], lock: LockMode = 'shared'): ProbeResult {
  const volumes = paths.map((p) => probeVolume(p, lock));
  const problems: string[] = [];
  const hv = volumes.filter((v) => v.hammer);
  const io = volumes.filter((v) => v.ioError);
  if (hv.length === 0) {
    if (io.length) return { volumes, verdict: 'io-error', problems: io.map((v) => `${v.path}: ${v.error}`) };
    return { volumes, verdict: 'not-hammer', problems };
  }
  let inconsistent = false;
  const first = hv[0];
  for (const v of volumes) {
    if (v.ioError) continue;
    if (!v.hammer) {
      problems.push(`${v.path} is not a HAMMER volume (${v.error})`);
      inconsistent = true;
      continue;
    }
    if (v.fsid !== first.fsid) {
      problems.push(`${v.path} belongs to another filesystem (fsid ${v.fsid}, ${first.path} has ${first.fsid})`);
      inconsistent = true;
    }
    if (v.volCount !== first.volCount) {
      problems.push(`${v.path} says ${v.volCount} volumes, ${first.path} says ${first.volCount}`);
      inconsistent = true;
    }
    if (v.version !== first.version) {
      problems.push(`${v.path} has version ${v.version}, ${first.path} has ${first.version}`);
      inconsistent = true;
    }
    if (v.label !== first.label) {
      problems.push(`${v.path} has label "${v.label}", ${first.path} has "${first.label}"`);
      inconsistent = true;
    }
  }
  const byNo = new Map<number, ProbeVolume>();
  for (const v of hv) {
    const d = byNo.get(v.volNo!);
    if (d) {
      problems.push(`volume ${v.volNo} given twice (${d.path}, ${v.path})`);
      inconsistent = true;
    } else byNo.set(v.volNo!, v);
  }
  const count = first.volCount!;
  const missing: number[] = [];
  for (let i = 0; i < count; i++) if (!byNo.has(i)) missing.push(i);
  if (missing.length) problems.push(`incomplete volume set: ${count} volumes, vol_no ${missing.join(', ')} not given`);
  for (const v of io) problems.push(`${v.path}: ${v.error}`);
  const verdict: ProbeVerdict = inconsistent ? 'inconsistent' : missing.length ? 'incomplete' : io.length ? 'io-error' : 'complete';
  return { volumes, verdict, problems };
}
