// hammerfs pfs-downgrade: defined in pfs-update.ts with the other PFS record changes.
export { pfsDowngradeCommand } from './pfs-update.js';
