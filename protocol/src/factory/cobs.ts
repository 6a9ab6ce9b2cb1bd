/**
 * Consistent Overhead Byte Stuffing (Cheshire & Baker, 1999): rewrites a byte string so that it contains no 0x00,
 * at a cost of one byte per 254 (at most), so 0x00 can delimit frames on a byte stream.
 *
 * The encoded form is a sequence of blocks `code ‖ (code - 1) non-zero bytes`; a block with code < 0xff stands for
 * its bytes followed by one 0x00, except the last block, whose zero is implied by the end of the frame and dropped.
 * Code 0xff (254 data bytes) carries no zero. The encoder emits no empty trailing block after a final 0xff block,
 * so `n` input bytes encode to at most `n + 1 + floor((n - 1) / 254)` bytes (`n + 1` for n ≤ 254).
 */

/** Largest COBS output for `n` input bytes. */
export function cobsMaxEncodedLength(n: number): number {
  return n === 0 ? 1 : n + 1 + Math.floor((n - 1) / 254);
}

/** COBS-encodes `data` (without the 0x00 delimiter). The output never contains 0x00. */
export function cobsEncode(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(cobsMaxEncodedLength(data.length));
  let codeAt = 0;
  let o = 1;
  let code = 1;
  for (let i = 0; i < data.length; i++) {
    const b = data[i] as number;
    if (b !== 0) {
      out[o++] = b;
      code++;
    }
    if (b === 0 || code === 0xff) {
      out[codeAt] = code;
      code = 1;
      codeAt = o;
      // A new block starts after a zero, or after a full block when more data follows.
      if (b === 0 || i < data.length - 1) o++;
    }
  }
  if (codeAt < o) out[codeAt] = code;
  return out.slice(0, o);
}

/**
 * Decodes one COBS frame (delimiter already removed). Returns undefined when it is not valid COBS: it contains a
 * 0x00, or a code byte points past the end of the frame.
 */
export function cobsDecode(frame: Uint8Array): Uint8Array | undefined {
  const out = new Uint8Array(frame.length);
  let o = 0;
  let i = 0;
  while (i < frame.length) {
    const code = frame[i] as number;
    if (code === 0 || i + code > frame.length) return undefined;
    for (let k = 1; k < code; k++) {
      const b = frame[i + k] as number;
      if (b === 0) return undefined;
      out[o++] = b;
    }
    i += code;
    if (code !== 0xff && i < frame.length) out[o++] = 0;
  }
  return out.slice(0, o);
}
