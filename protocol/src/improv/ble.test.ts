import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isTriadkitError, TriadkitError } from "../errors.js";
import { expectTriadkitError } from "../testing.js";
import {
  decodeBleRpcCommand,
  decodeBleRpcResult,
  decodeImprovCapabilities,
  decodeImprovServiceData,
  encodeBleRpcCommand,
  encodeBleRpcResult,
  encodeImprovCapabilities,
  encodeImprovServiceData,
  ImprovBleRpcAssembler,
} from "./ble.js";
import {
  IMPROV_BLE_CAPABILITIES_CHAR_UUID,
  IMPROV_BLE_CURRENT_STATE_CHAR_UUID,
  IMPROV_BLE_ERROR_STATE_CHAR_UUID,
  IMPROV_BLE_RPC_COMMAND_CHAR_UUID,
  IMPROV_BLE_RPC_RESULT_CHAR_UUID,
  IMPROV_BLE_SERVICE_UUID,
  ImprovBleCommand,
  ImprovState,
} from "./constants.js";
import { encodeWifiSettings } from "./serial.js";

describe("Improv BLE", () => {
  it("uses the spec's UUIDs", () => {
    expect(IMPROV_BLE_SERVICE_UUID).toBe("00467768-6228-2272-4663-277478268000");
    expect(
      [
        IMPROV_BLE_CURRENT_STATE_CHAR_UUID,
        IMPROV_BLE_ERROR_STATE_CHAR_UUID,
        IMPROV_BLE_RPC_COMMAND_CHAR_UUID,
        IMPROV_BLE_RPC_RESULT_CHAR_UUID,
        IMPROV_BLE_CAPABILITIES_CHAR_UUID,
      ].map((u) => u.slice(-4)),
    ).toEqual(["8001", "8002", "8003", "8004", "8005"]);
  });

  it("frames the spec's Wi-Fi example with a trailing sum checksum", () => {
    const data = encodeWifiSettings({ ssid: "MyWirelessAP", password: "mysecurepassword" });
    const value = encodeBleRpcCommand({ command: ImprovBleCommand.SendWifiSettings, data });
    expect([...value.subarray(0, 3)]).toEqual([0x01, 0x1e, 0x0c]);
    expect(value.length).toBe(0x1e + 3);
    expect(value.at(-1)).toBe(value.subarray(0, -1).reduce((a, b) => a + b, 0) & 0xff);
    expect(decodeBleRpcCommand(value)).toEqual({ command: 1, data });
  });

  it("round-trips commands and results (property); a flipped byte is refused", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 255 }),
        fc.uint8Array({ maxLength: 253 }),
        fc.nat(),
        (command, data, at) => {
          const value = encodeBleRpcCommand({ command, data });
          expect(decodeBleRpcCommand(value)).toEqual({ command, data });
          const bad = Uint8Array.from(value);
          bad[at % bad.length] = (bad[at % bad.length] as number) ^ 0x10;
          expect(() => decodeBleRpcCommand(bad)).toThrow(TriadkitError);
        },
      ),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 255 }),
        fc.array(fc.string({ maxLength: 30 }), { maxLength: 6 }),
        (command, strings) => {
          expect(decodeBleRpcResult(encodeBleRpcResult({ command, strings }))).toEqual({ command, strings });
        },
      ),
    );
    expectTriadkitError(() => decodeBleRpcCommand(Uint8Array.of(3, 0, 4)), "improv.checksum");
    expectTriadkitError(() => decodeBleRpcCommand(Uint8Array.of(3, 0)), "improv.bad_packet");
  });

  it("decoders only throw coded errors on random bytes (property)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        for (const decode of [decodeBleRpcCommand, decodeBleRpcResult, decodeImprovServiceData]) {
          try {
            decode(bytes);
          } catch (err) {
            expect(isTriadkitError(err, "improv.bad_packet") || isTriadkitError(err, "improv.checksum")).toBe(true);
          }
        }
      }),
    );
  });

  it("assembles a command split over 20-byte writes (property)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 253 }), fc.integer({ min: 1, max: 20 }), (data, size) => {
        const value = encodeBleRpcCommand({ command: ImprovBleCommand.SendWifiSettings, data });
        const assembler = new ImprovBleRpcAssembler();
        let result: ReturnType<ImprovBleRpcAssembler["push"]>;
        for (let i = 0; i < value.length; i += size) {
          expect(result).toBeUndefined();
          result = assembler.push(value.subarray(i, i + size));
        }
        expect(result).toEqual({ command: 1, data });
        expect(assembler.buffered).toBe(0);
      }),
    );
  });

  it("assembler refuses overruns and bad checksums, then recovers; random writes never crash it", () => {
    const assembler = new ImprovBleRpcAssembler();
    expectTriadkitError(() => assembler.push(Uint8Array.of(3, 0, 3, 9)), "improv.bad_packet");
    expectTriadkitError(() => assembler.push(Uint8Array.of(3, 0, 4)), "improv.checksum");
    expect(assembler.push(Uint8Array.of(3))).toBeUndefined();
    expect(assembler.push(Uint8Array.of(0, 3))).toEqual({ command: 3, data: new Uint8Array(0) });
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 30 }), (writes) => {
        const a = new ImprovBleRpcAssembler();
        for (const w of writes) {
          try {
            a.push(w);
          } catch (err) {
            expect(err).toBeInstanceOf(TriadkitError);
          }
          expect(a.buffered).toBeLessThanOrEqual(258);
        }
      }),
    );
  });

  it("capabilities and service data", () => {
    const all = { identify: true, deviceInfo: true, scanWifi: true };
    expect(encodeImprovCapabilities(all)).toBe(0x07);
    expect(encodeImprovCapabilities({ identify: false, deviceInfo: true, scanWifi: false })).toBe(0x02);
    for (let v = 0; v < 8; v++) expect(encodeImprovCapabilities(decodeImprovCapabilities(v))).toBe(v);
    expect(decodeImprovCapabilities(0xf8)).toEqual({ identify: false, deviceInfo: false, scanWifi: false });
    const sd = encodeImprovServiceData(ImprovState.AuthorizationRequired, all);
    expect([...sd]).toEqual([1, 7, 0, 0, 0, 0]);
    expect(decodeImprovServiceData(sd)).toEqual({ state: 1, capabilities: all });
    expectTriadkitError(() => decodeImprovServiceData(Uint8Array.of(1, 7)), "improv.bad_packet");
  });
});
