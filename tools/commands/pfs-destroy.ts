// hammerfs pfs-destroy: defined in pfs-update.ts with the other PFS record changes.
export { pfsDestroyCommand } from './pfs-update.js';
