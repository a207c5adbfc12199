/** hammerfs info: what a user wants to know first about a volume set. */
import type { CommandModule } from 'yargs';
import { withVolumes, openReadOnly, run, type CommonArgs } from '../common.js';
import { printWarnings } from '../format/warnings.js';
import { Output, printJson } from '../output.js';
import { zoneUsage } from '../../src/volume/freemap.js';
import { hex64 } from '../../src/ondisk/int64.js';
import { ZONE_NAMES, HAMMER_BIGBLOCK_SIZE } from '../../src/ondisk/constants.js';
import { uuidToString } from '../../src/ondisk/uuid.js';
import { humanBytes } from '../progress.js';


export const infoCommand: CommandModule<object, CommonArgs> = {
  command: 'info',
  describe: 'label, fsid, version, volumes, next TID, big-block usage per zone',
  builder: (y) => withVolumes(y),
  handler: run<CommonArgs>((a) => {
    const vs = openReadOnly(a, { warnings: false });
    if (!a.json && !a.quiet) printWarnings(vs.warnings);
    try {
      const h = vs.root;
      const zones = zoneUsage(vs);
      const info = {
        label: h.label,
        fsid: uuidToString(h.fsid),
        version: h.version,
        volumes: vs.volumes.map((v) => ({
          volNo: v.no, path: v.device.path, size: v.device.size, bufBeg: v.header.bufBeg, bufEnd: v.header.bufEnd,
          bigBlocks: Math.floor((v.header.bufEnd - v.header.bufBeg) / HAMMER_BIGBLOCK_SIZE),
        })),
        nextTid: h.nextTid,
        btreeRoot: h.btreeRoot,
        bigBlocks: Number(h.statBigblocks),
        freeBigBlocks: Number(h.statFreebigblocks),
        inodes: Number(h.statInodes),
        zones: zones.map((z) => ({ zone: z.zone, name: ZONE_NAMES[z.zone] || (z.zone === 0 ? 'free' : `zone-${z.zone}`), bigBlocks: z.bigBlocks, bytesUsed: z.bytesUsed })),
        warnings: vs.warnings.map((w) => ({ code: w.code, message: w.message })),
      };
      if (a.json) {
        printJson(info);
        return;
      }
      const o = new Output();
      o.line(`Label:            ${info.label}`);
      o.line(`Filesystem id:    ${info.fsid}`);
      o.line(`HAMMER version:   ${info.version} (${info.version >= 7 ? 'CRC-32C' : 'CRC-32'})`);
      o.line(`Volumes:          ${info.volumes.length}`);
      for (const v of info.volumes) o.line(`  vol ${v.volNo}: ${v.path}  ${humanBytes(v.size)}, ${v.bigBlocks} big-blocks`);
      o.line(`Next TID:         0x${hex64(info.nextTid)}`);
      o.line(`B-Tree root:      ${hex64(info.btreeRoot)}`);
      o.line(`Big-blocks:       ${info.bigBlocks} usable, ${info.freeBigBlocks} free (${humanBytes(info.freeBigBlocks * HAMMER_BIGBLOCK_SIZE)})`);
      o.line(`Inodes:           ${info.inodes}`);
      o.line(`Zones (big-blocks, bytes used):`);
      for (const z of info.zones) o.line(`  ${String(z.zone).padStart(2)} ${z.name.padEnd(11)} ${String(z.bigBlocks).padStart(8)}  ${humanBytes(z.bytesUsed)}`);
      o.flush();
    } finally {
      vs.close();
    }
  }),
};
