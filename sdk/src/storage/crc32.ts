/** CRC-32 (IEEE 802.3, as zlib) lives in `@triadkit/protocol` (the factory frames use it too); re-exported here. */
export { crc32 } from "@triadkit/protocol";
