/**
 * Improv Wi-Fi constants (https://www.improv-wifi.com, serial.md and ble.md; improv-wifi/sdk-serial-js and
 * sdk-ble-js `src/const.ts`). Values are the spec's; names follow it.
 */

/** `"IMPROV"`, the first six bytes of every serial packet. */
export const IMPROV_SERIAL_HEADER: readonly number[] = [0x49, 0x4d, 0x50, 0x52, 0x4f, 0x56];
/** The serial protocol version byte (the only one defined). */
export const IMPROV_SERIAL_VERSION = 1;
/** Bytes before the data of a serial packet: header (6), version, type, length. */
export const IMPROV_SERIAL_PREFIX_BYTES = 9;
/** A serial packet's data is at most 255 bytes (one length byte). */
export const IMPROV_MAX_DATA_BYTES = 255;
/** Largest serial packet: prefix + 255 data bytes + checksum (the trailing `\n` is not part of it). */
export const IMPROV_MAX_PACKET_BYTES = IMPROV_SERIAL_PREFIX_BYTES + IMPROV_MAX_DATA_BYTES + 1;

/** Serial packet types. */
export const ImprovPacketType = {
  /** Device → client: one byte, the {@link ImprovState}. */
  CurrentState: 0x01,
  /** Device → client: one byte, the {@link ImprovError}. */
  ErrorState: 0x02,
  /** Client → device: `command, length, data`. */
  Rpc: 0x03,
  /** Device → client: `command, length, (string length, UTF-8 string)*`. */
  RpcResult: 0x04,
} as const;
export type ImprovPacketType = (typeof ImprovPacketType)[keyof typeof ImprovPacketType];

/** Provisioning states. `AuthorizationRequired` is BLE only; over serial a device starts `Authorized` (Ready). */
export const ImprovState = {
  AuthorizationRequired: 0x01,
  /** "Ready (Authorized)": ready to accept credentials. */
  Authorized: 0x02,
  Provisioning: 0x03,
  Provisioned: 0x04,
} as const;
export type ImprovState = (typeof ImprovState)[keyof typeof ImprovState];

/** Error states. `NotAuthorized` is BLE only; `BadHostname` is serial (Get/Set Hostname). */
export const ImprovError = {
  None: 0x00,
  InvalidRpc: 0x01,
  UnknownRpc: 0x02,
  UnableToConnect: 0x03,
  NotAuthorized: 0x04,
  BadHostname: 0x05,
  Unknown: 0xff,
} as const;
export type ImprovError = (typeof ImprovError)[keyof typeof ImprovError];

/** Serial RPC commands. */
export const ImprovCommand = {
  /** `ssid length, ssid, password length, password`; result: redirect URL(s). */
  SendWifiSettings: 0x01,
  /** Current-state packet, plus the redirect URL(s) result when provisioned. */
  RequestCurrentState: 0x02,
  /** Result: firmware name, version, chip/variant, device name [, OS name, OS version]. */
  RequestDeviceInfo: 0x03,
  /** One result `(ssid, rssi, "YES"|"NO")` per network, then an empty result. */
  RequestScannedNetworks: 0x04,
  /** Get (no data) / set (data = hostname) the hostname. Not supported by triadkit. */
  Hostname: 0x05,
  /** Get / set the device name. Not supported by triadkit. */
  DeviceName: 0x06,
  /** Network flags + URLs. Optional; not supported by triadkit (answers UnknownRpc). */
  NetworkState: 0x07,
} as const;
export type ImprovCommand = (typeof ImprovCommand)[keyof typeof ImprovCommand];

/** BLE RPC commands (ble.md): note 0x02 is Identify over BLE, not Request Current State. */
export const ImprovBleCommand = {
  SendWifiSettings: 0x01,
  Identify: 0x02,
  DeviceInfo: 0x03,
  ScanWifi: 0x04,
} as const;
export type ImprovBleCommand = (typeof ImprovBleCommand)[keyof typeof ImprovBleCommand];

/** BLE GATT service (advertised) and characteristics. */
export const IMPROV_BLE_SERVICE_UUID = "00467768-6228-2272-4663-277478268000";
export const IMPROV_BLE_CURRENT_STATE_CHAR_UUID = "00467768-6228-2272-4663-277478268001";
export const IMPROV_BLE_ERROR_STATE_CHAR_UUID = "00467768-6228-2272-4663-277478268002";
export const IMPROV_BLE_RPC_COMMAND_CHAR_UUID = "00467768-6228-2272-4663-277478268003";
export const IMPROV_BLE_RPC_RESULT_CHAR_UUID = "00467768-6228-2272-4663-277478268004";
export const IMPROV_BLE_CAPABILITIES_CHAR_UUID = "00467768-6228-2272-4663-277478268005";
/** 16-bit Service Data UUID (spec v2.0+): data = `[state, capabilities, 0, 0, 0, 0]`. */
export const IMPROV_BLE_SERVICE_DATA_UUID = "4677";

/** Bits of the capabilities characteristic (and of Service Data byte 2). */
export const ImprovCapability = {
  Identify: 0x01,
  DeviceInfo: 0x02,
  ScanWifi: 0x04,
} as const;
