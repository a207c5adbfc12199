// crc-32 is CommonJS (UMD): under ESM only its default export is reliable. Declare the CRC-32C
// entry, which has no types of its own. Results are signed 32-bit: callers use `>>> 0`.
declare module 'crc-32/crc32c.js' {
  const CRC32C: {
    buf(data: Uint8Array, seed?: number): number;
    bstr(data: string, seed?: number): number;
    str(data: string, seed?: number): number;
  };
  export default CRC32C;
}
