/**
 * Improv Wi-Fi over BLE (ble.md): the RPC command/result characteristic framing, capabilities and service data.
 * GATT UUIDs are in `constants.ts`.
 *
 * RPC command characteristic: `command, length, data, checksum`; RPC result characteristic:
 * `command, total length, (length, string)*, checksum`; checksum = sum of the preceding bytes modulo 256. A
 * command longer than one write (20 bytes at the default MTU) spans several writes: {@link ImprovBleRpcAssembler}
 * joins them.
 */
import { fail } from "../errors.js";
import { ImprovCapability } from "./constants.js";
import {
  decodeRpcBody,
  decodeRpcResultBody,
  encodeRpcBody,
  encodeRpcResultBody,
  type ImprovRpc,
  type ImprovRpcResult,
  improvChecksum,
} from "./serial.js";

function withChecksum(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(body.length + 1);
  out.set(body);
  out[body.length] = improvChecksum(body);
  return out;
}

function verifyChecksum(bytes: Uint8Array, what: string): Uint8Array {
  if (bytes.length < 3) fail("improv.bad_packet", `Improv BLE ${what} too short`, { length: bytes.length });
  const body = bytes.subarray(0, bytes.length - 1);
  const expected = improvChecksum(body);
  if (expected !== bytes[bytes.length - 1]) {
    fail("improv.checksum", `Improv BLE ${what} checksum mismatch`, { expected, got: bytes[bytes.length - 1] });
  }
  return body;
}

/** `command, length, data, checksum`. @throws TriadkitError `improv.bad_packet` for data over 253 bytes. */
export function encodeBleRpcCommand(rpc: ImprovRpc): Uint8Array {
  return withChecksum(encodeRpcBody(rpc));
}

/** Decodes a complete RPC command value. @throws TriadkitError `improv.checksum`, `improv.bad_packet`. */
export function decodeBleRpcCommand(bytes: Uint8Array): ImprovRpc {
  return decodeRpcBody(verifyChecksum(bytes, "RPC command"));
}

/** `command, total length, (length, string)*, checksum`. @throws TriadkitError `improv.bad_packet` when too long. */
export function encodeBleRpcResult(result: ImprovRpcResult): Uint8Array {
  return withChecksum(encodeRpcResultBody(result));
}

/** Decodes an RPC result value. @throws TriadkitError `improv.checksum`, `improv.bad_packet`. */
export function decodeBleRpcResult(bytes: Uint8Array): ImprovRpcResult {
  return decodeRpcResultBody(verifyChecksum(bytes, "RPC result"));
}

/** Largest RPC command value: command, length, 255 data bytes, checksum. */
const MAX_BLE_RPC_BYTES = 258;

/**
 * Joins RPC command writes: returns the command once `length + 3` bytes have arrived, `undefined` before.
 * A write that overruns the announced length, or a bad checksum, throws (`improv.bad_packet`, `improv.checksum`)
 * and clears the buffer. Bounded to 258 bytes. Call {@link reset} on disconnect.
 */
export class ImprovBleRpcAssembler {
  private readonly buffer = new Uint8Array(MAX_BLE_RPC_BYTES);
  private length = 0;

  get buffered(): number {
    return this.length;
  }

  reset(): void {
    this.length = 0;
  }

  push(write: Uint8Array): ImprovRpc | undefined {
    const have = this.length + write.length;
    // The length byte is the second byte of the value, wherever it falls.
    const lengthByte = this.length >= 2 ? this.buffer[1] : this.length === 1 ? write[0] : write[1];
    const total = lengthByte === undefined ? undefined : lengthByte + 3;
    if (have > MAX_BLE_RPC_BYTES || (total !== undefined && have > total)) {
      this.reset();
      fail("improv.bad_packet", "Improv BLE RPC writes overrun the announced length", { expected: total, got: have });
    }
    this.buffer.set(write, this.length);
    this.length = have;
    if (total === undefined || have < total) return undefined;
    const value = this.buffer.slice(0, have);
    this.reset();
    return decodeBleRpcCommand(value);
  }
}

/** What the capabilities characteristic announces. */
export interface ImprovCapabilities {
  readonly identify: boolean;
  readonly deviceInfo: boolean;
  readonly scanWifi: boolean;
}

export function encodeImprovCapabilities(c: ImprovCapabilities): number {
  return (
    (c.identify ? ImprovCapability.Identify : 0) |
    (c.deviceInfo ? ImprovCapability.DeviceInfo : 0) |
    (c.scanWifi ? ImprovCapability.ScanWifi : 0)
  );
}

/** Reads the defined bits; other bits are ignored (reserved). */
export function decodeImprovCapabilities(value: number): ImprovCapabilities {
  return {
    identify: (value & ImprovCapability.Identify) !== 0,
    deviceInfo: (value & ImprovCapability.DeviceInfo) !== 0,
    scanWifi: (value & ImprovCapability.ScanWifi) !== 0,
  };
}

/** Advertised Service Data (UUID 0x4677): `[state, capabilities, 0, 0, 0, 0]`. */
export function encodeImprovServiceData(state: number, capabilities: ImprovCapabilities): Uint8Array {
  return Uint8Array.of(state, encodeImprovCapabilities(capabilities), 0, 0, 0, 0);
}

/** @throws TriadkitError `improv.bad_packet` unless 6 bytes. Reserved bytes are not checked. */
export function decodeImprovServiceData(bytes: Uint8Array): { state: number; capabilities: ImprovCapabilities } {
  if (bytes.length !== 6) fail("improv.bad_packet", "Improv service data must be 6 bytes", { length: bytes.length });
  return { state: bytes[0] as number, capabilities: decodeImprovCapabilities(bytes[1] as number) };
}
