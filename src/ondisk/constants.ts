/**
 * HAMMER constants, named as in sys/vfs/hammer/hammer_disk.h and hammer_btree.h so that a
 * grep finds both. All sizes in bytes. See ../shared/spec/ONDISK.md for the meaning of each.
 */

export const LE = true;

export const HAMMER_BUFSIZE = 16384;
export const HAMMER_BUFMASK = HAMMER_BUFSIZE - 1;
export const HAMMER_XBUFSIZE = 65536;
export const HAMMER_HBUFSIZE = 8192;
export const HAMMER_XDEMARC = 1024 * 1024;
export const HAMMER_BIGBLOCK_SIZE = 8 * 1024 * 1024;
export const HAMMER_BIGBLOCK_MASK = HAMMER_BIGBLOCK_SIZE - 1;
export const HAMMER_BIGBLOCK_BITS = 23;
export const HAMMER_MAX_VOLUMES = 256;
export const HAMMER_VOL_JUNK_SIZE = 256 * 1024;
export const HAMMER_MAX_PFS = 65536;
export const HAMMER_UNDO_LAYER2 = 128; // max UNDO big-blocks in vol0_undo_array

export const HAMMER_FSBUF_VOLUME = 0xc8414d4dc5523031n;
export const HAMMER_FSBUF_VOLUME_REV = 0x313052c54d4d41c8n;

export const HAMMER_VOL_VERSION_MIN = 1;
export const HAMMER_VOL_VERSION_DEFAULT = 7;
export const HAMMER_VOL_VERSION_MAX = 7;
export const HAMMER_VOL_VERSION_WIP = 8;

export const HAMMER_MIN_KEY = -(1n << 63n);
export const HAMMER_MAX_KEY = (1n << 63n) - 1n;
export const HAMMER_MIN_OBJID = HAMMER_MIN_KEY;
export const HAMMER_MAX_OBJID = HAMMER_MAX_KEY;
export const HAMMER_MAX_TID = 0xffffffffffffffffn;
export const HAMMER_MIN_TID = 0n;
export const HAMMER_BLOCKMAP_UNAVAIL = 0xffffffffffffffffn;

/* Encoded offsets (hammer_off_t) */
export const HAMMER_OFF_ZONE_MASK = 0xf000000000000000n;
export const HAMMER_OFF_VOL_MASK = 0x0ff0000000000000n;
export const HAMMER_OFF_SHORT_MASK = 0x000fffffffffffffn;
export const HAMMER_OFF_LONG_MASK = 0x0fffffffffffffffn;

export const HAMMER_ZONE_FREEMAP_INDEX_FREE = 0; // layer2.zone value for a free big-block
export const HAMMER_ZONE_RAW_VOLUME_INDEX = 1;
export const HAMMER_ZONE_RAW_BUFFER_INDEX = 2;
export const HAMMER_ZONE_UNDO_INDEX = 3;
export const HAMMER_ZONE_FREEMAP_INDEX = 4;
export const HAMMER_ZONE_BTREE_INDEX = 8;
export const HAMMER_ZONE_META_INDEX = 9;
export const HAMMER_ZONE_LARGE_DATA_INDEX = 10;
export const HAMMER_ZONE_SMALL_DATA_INDEX = 11;
export const HAMMER_ZONE_UNAVAIL_INDEX = 15;
export const HAMMER_MAX_ZONES = 16;

export const ZONE_NAMES: readonly string[] = [
  '', 'raw-volume', 'raw-buffer', 'undo', 'freemap', '', '', '',
  'B-Tree', 'meta', 'large-data', 'small-data', '', '', '', 'unavail',
];

/* Freemap */
export const HAMMER_BLOCKMAP_RADIX1 = 262144; // layer1 entries
export const HAMMER_BLOCKMAP_RADIX2 = 524288; // layer2 entries per layer1
export const HAMMER_LAYER1_BYTES = 32;
export const HAMMER_LAYER2_BYTES = 16;
export const HAMMER_BLOCKMAP_LAYER2_SPAN = 1n << 42n; // 4 TiB per layer1 entry

/* Volume header */
export const HAMMER_VOLUME_HEADER_SIZE = 1928;
export const HAMMER_BLOCKMAP_ENTRY_SIZE = 40;

/* B-Tree */
export const HAMMER_BTREE_NODE_SIZE = 4096;
export const HAMMER_BTREE_ELM_SIZE = 64;
export const HAMMER_BTREE_BASE_SIZE = 40;
export const HAMMER_BTREE_LEAF_ELMS = 63;
export const HAMMER_BTREE_INT_ELMS = 62;
export const HAMMER_BTREE_TYPE_INTERNAL = 0x49; // 'I'
export const HAMMER_BTREE_TYPE_LEAF = 0x4c; // 'L'
export const HAMMER_BTREE_TYPE_RECORD = 0x52; // 'R'
export const HAMMER_BTREE_TYPE_DELETED = 0x44; // 'D'

/* Record types */
export const HAMMER_RECTYPE_UNKNOWN = 0x0000;
export const HAMMER_RECTYPE_INODE = 0x0001;
export const HAMMER_RECTYPE_ENTRY_START = 0x0002;
export const HAMMER_RECTYPE_DATA = 0x0010;
export const HAMMER_RECTYPE_DIRENTRY = 0x0011;
export const HAMMER_RECTYPE_DB = 0x0012;
export const HAMMER_RECTYPE_EXT = 0x0013;
export const HAMMER_RECTYPE_FIX = 0x0014;
export const HAMMER_RECTYPE_PFS = 0x0015;
export const HAMMER_RECTYPE_SNAPSHOT = 0x0016;
export const HAMMER_RECTYPE_CONFIG = 0x0017;
export const HAMMER_RECTYPE_MAX = 0xffff;
export const HAMMER_FIXKEY_SYMLINK = 1n;

/* Object types */
export const HAMMER_OBJTYPE_UNKNOWN = 0;
export const HAMMER_OBJTYPE_DIRECTORY = 1;
export const HAMMER_OBJTYPE_REGFILE = 2;
export const HAMMER_OBJTYPE_DBFILE = 3;
export const HAMMER_OBJTYPE_FIFO = 4;
export const HAMMER_OBJTYPE_CDEV = 5;
export const HAMMER_OBJTYPE_BDEV = 6;
export const HAMMER_OBJTYPE_SOFTLINK = 7;
export const HAMMER_OBJTYPE_PSEUDOFS = 8;
export const HAMMER_OBJTYPE_SOCKET = 9;

/* Localization */
export const HAMMER_LOCALIZE_INODE = 0x0001;
export const HAMMER_LOCALIZE_MISC = 0x0002;
export const HAMMER_LOCALIZE_MASK = 0x0000ffff;
export const HAMMER_LOCALIZE_PSEUDOFS_MASK = 0xffff0000;
export const HAMMER_LOCALIZE_PSEUDOFS_SHIFT = 16;

/* Inode */
export const HAMMER_INODE_DATA_SIZE = 128;
export const HAMMER_INODE_CRCSIZE = 112;
export const HAMMER_INODE_BASESYMLEN = 24;
export const HAMMER_INODE_CAP_DIRHASH_MASK = 0x03;
export const HAMMER_INODE_CAP_DIRHASH_ALG0 = 0x00;
export const HAMMER_INODE_CAP_DIRHASH_ALG1 = 0x01;
export const HAMMER_INODE_CAP_DIR_LOCAL_INO = 0x04;

/* Directory entries */
export const HAMMER_ENTRY_NAME_OFF = 16;
export const HAMMER_DIR_ALG0_MAXITER = 0xffffffffn;
export const HAMMER_DIR_ALG1_MAXITER = 0x00ffffffn;

/* PFS */
export const HAMMER_PFS_DATA_SIZE = 292;
export const HAMMER_PFSD_SLAVE = 0x00000001;
export const HAMMER_PFSD_DELETED = 0x80000000;

/* Snapshot / config */
export const HAMMER_SNAPSHOT_DATA_SIZE = 128;
export const HAMMER_CONFIG_DATA_SIZE = 1024;

/* FIFO (UNDO/REDO) */
export const HAMMER_HEAD_SIGNATURE = 0xc84e;
export const HAMMER_TAIL_SIGNATURE = 0xc74f;
export const HAMMER_HEAD_TYPE_PAD = 0x8040;
export const HAMMER_HEAD_TYPE_DUMMY = 0x0041;
export const HAMMER_HEAD_TYPE_UNDO = 0x0043;
export const HAMMER_HEAD_TYPE_REDO = 0x0044;
export const HAMMER_HEAD_ALIGN = 8;
export const HAMMER_HEAD_DOALIGN = (n: number) => (n + 7) & ~7;
export const HAMMER_UNDO_ALIGN = 512;
export const HAMMER_FIFO_HEAD_SIZE = 16;
export const HAMMER_FIFO_TAIL_SIZE = 8;
export const HAMMER_FIFO_UNDO_HEAD_SIZE = 32;
export const HAMMER_FIFO_REDO_HEAD_SIZE = 56;

export const HAMMER_REDO_WRITE = 0x00000001;
export const HAMMER_REDO_TRUNC = 0x00000002;
export const HAMMER_REDO_TERM_WRITE = 0x00000004;
export const HAMMER_REDO_TERM_TRUNC = 0x00000008;
export const HAMMER_REDO_SYNC = 0x00000010;

/* Mirror stream (hammer_ioctl.h) */
export const HAMMER_IOC_MIRROR_SIGNATURE = 0x4dd97272;
export const HAMMER_IOC_MIRROR_SIGNATURE_REV = 0x7272d94d;
export const HAMMER_MREC_TYPE_RESERVED = 0;
export const HAMMER_MREC_TYPE_REC = 1;
export const HAMMER_MREC_TYPE_PFSD = 2;
export const HAMMER_MREC_TYPE_UPDATE = 3;
export const HAMMER_MREC_TYPE_SYNC = 4;
export const HAMMER_MREC_TYPE_SKIP = 5;
export const HAMMER_MREC_TYPE_PASS = 6;
export const HAMMER_MREC_TYPE_TERM = 7;
export const HAMMER_MREC_TYPE_IDLE = 8;
export const HAMMER_MRECF_CRC_ERROR = 0x80000000;
export const HAMMER_MRECF_DATA_CRC_BAD = 0x40000000;
export const HAMMER_MRECF_RECD_CRC_BAD = 0x20000000;
export const HAMMER_MRECF_NODATA = 0x10000000;
export const HAMMER_MRECF_TYPE_LOMASK = 0x000000ff;
export const HAMMER_MRECF_TYPE_MASK = 0x800000ff;
export const HAMMER_MREC_HEADSIZE = 16;
export const HAMMER_MREC_MAX_SIZE = 320 + 65536;
