// hammerfs pfs-slave: defined with pfs-master (same code, slave flag set).
export { pfsSlaveCommand } from './pfs-master.js';
