/**
 * CRC-32 (IEEE 802.3, the zlib/PNG/Ethernet one): reflected polynomial 0xEDB88320, initial value and final XOR
 * 0xFFFFFFFF. Check value: `crc32(utf8("123456789")) === 0xcbf43926`.
 *
 * Table-driven and dependency-free so the SDK's flash record format and the factory frames run on any JS runtime
 * (no `node:zlib`); the SDK's tests (sdk/src/storage/crc32.test.ts) compare it with `zlib.crc32` as the reference.
 */

const TABLE: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/**
 * Continues a CRC-32 over `bytes[start, end)`. Start with `crc = 0` (the CRC of nothing); feeding a message in
 * pieces gives the same result as feeding it whole: `crc32(b, crc32(a)) === crc32(concat(a, b))`.
 */
export function crc32(bytes: Uint8Array, crc = 0, start = 0, end: number = bytes.length): number {
  let c = ~crc >>> 0;
  for (let i = start; i < end; i++) c = (TABLE[(c ^ (bytes[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return ~c >>> 0;
}
