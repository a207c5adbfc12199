/**
 * All fuzz targets: the decoder targets of targets.ts plus the mirror stream parsers' targets,
 * which are only added when those modules exist (they are written in parallel; a missing module
 * must not break the fuzzer or the tests).
 */
import { TARGETS, type FuzzTarget } from './targets.js';

let cached: FuzzTarget[] | undefined;

export async function allTargets(): Promise<FuzzTarget[]> {
  if (cached) return cached;
  const out = TARGETS.slice();
  try {
    // A computed specifier: the module may not exist yet, and tsc must not insist on it.
    const spec = './mirror-targets.js';
    const m = (await import(spec)) as { MIRROR_TARGETS?: FuzzTarget[] };
    if (m.MIRROR_TARGETS) out.push(...m.MIRROR_TARGETS);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ERR_MODULE_NOT_FOUND' && !/Cannot find module|Failed to load url|does not provide an export/.test(String(e))) throw e;
  }
  cached = out;
  return out;
}
