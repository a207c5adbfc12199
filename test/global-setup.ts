// Decompress the bundled images once per run (sparse) and delete them afterwards, unless
// HAMMERFS_KEEP_IMAGES=1 (handy when iterating locally).
// @ts-expect-error plain JS module shared with the demo and bench
import { ensureImages, removeImages } from '../scripts/images.mjs';

export async function setup() {
  await ensureImages();
}
export async function teardown() {
  if (process.env.HAMMERFS_KEEP_IMAGES !== '1') removeImages();
}
