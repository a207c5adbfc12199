// hammerfs pfs-upgrade: defined in pfs-update.ts with the other PFS record changes.
export { pfsUpgradeCommand } from './pfs-update.js';
