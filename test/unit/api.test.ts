import { describe, expect, it } from 'vitest';
import * as api from '../../src/index.js';
import { redoStageRegistered } from '../../src/volume/recovery.js';
import { imagePaths } from '../helpers/images.js';

describe('public API (src/index.ts)', () => {
  it('exports the entry points of every layer', () => {
    for (const name of ['openVolumeSet', 'openVolumeSetForWrite', 'BTree', 'Cursor', 'HammerFs', 'HammerWriter', 'MirrorWriter', 'writeMirrorStream', 'newfs', 'verifyFilesystem', 'recover', 'HammerError']) {
      expect(typeof (api as Record<string, unknown>)[name], name).toBe('function');
    }
  });
  it('registers REDO replay with the volume layer on import', () => {
    expect(redoStageRegistered()).toBe(true);
  });
  it('reads a real image end to end', () => {
    const vs = api.openVolumeSet(imagePaths('content-v7'));
    try {
      const fs = api.HammerFs.open(vs);
      expect(fs.readdir('/').length).toBeGreaterThan(0);
    } finally {
      vs.close();
    }
  });
});
