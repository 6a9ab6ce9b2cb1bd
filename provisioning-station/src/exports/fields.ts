/**
 * The fields a device export's template can name (`{"header": "IMEI", "field": "imei"}`), each a text cell. Every
 * value comes from the ledger: the device link the station recorded from the device's `hello` (chip, MACs, model,
 * firmware, the IMEI/ICCID/IMSI read back from its modem), the triad's public identity and state, the work order, and
 * the audit trail (who burnt it, when it was verified). There is no field for a secret, a PoP, a sealed value or a key.
 */

/** Field name → what it holds (shown by `export … --help` and in docs/station.md). */
export const DEVICE_FIELDS = {
  imei: "the IMEI the device's modem reported at hello (15 digits, Luhn-checked)",
  iccid: "the SIM's ICCID the device reported (upper case, trailing F padding removed)",
  imsi: "the SIM's IMSI the device reported",
  chipId: "the chip id the device reported (lower-case hex)",
  wifiMac: "the WiFi MAC the device reported (12 lower-case hex digits)",
  bleMac: "the Bluetooth MAC the device reported, if any",
  model: "the hardware model the device reported",
  firmware: "the firmware version the device reported",
  workOrderId: "the work order",
  brand: "the work order's brand, if any",
  line: "the work order's production line, if any",
  product: "the work order's product: Alibaba ProductKey or Tmall Genie Product ID",
  family: "alibaba or genie",
  productKey: "Alibaba ProductKey of the triad (empty for Tmall Genie)",
  deviceName: "Alibaba DeviceName of the triad (empty for Tmall Genie)",
  productId: "Tmall Genie Product ID of the triad (empty for Alibaba)",
  triadMac: "Tmall Genie triad MAC (Mac Lower; empty for Alibaba)",
  triadBleMac: "Tmall Genie triad Bluetooth MAC, if any",
  identity: "the triad's public identity as one text, e.g. alibaba:a1B2c3D4e5F/dev-0002",
  triadId: "the ledger's triad id",
  state: "the triad's state (verified, registered; quarantined with --include-quarantined)",
  linkStatus: "the device link's status (active)",
  fixture: "the fixture (work place) the device was burnt on",
  stationId: "the station that burnt it",
  operator: "the operator named in the audit entry of the burn (as given, not authenticated)",
  burntAt: "when the record was written (ISO 8601, UTC)",
  verifiedAt: "when the triad was last verified on the device (ISO 8601, UTC; empty if never)",
  recordHash: "SHA-256 of the factory record on the device (hex)",
  problems: "codes of the problems found on this device's identifiers (burn report; empty when none)",
} as const;

export type DeviceField = keyof typeof DEVICE_FIELDS;
export const DEVICE_FIELD_NAMES = Object.keys(DEVICE_FIELDS) as DeviceField[];

/** One device as an export sees it: every field as text ("" when absent). */
export type DeviceRow = Record<DeviceField, string>;

/** The modem identifiers, validated on the way out. */
export const IDENTIFIER_FIELDS = ["imei", "iccid", "imsi"] as const;
export type IdentifierField = (typeof IDENTIFIER_FIELDS)[number];
