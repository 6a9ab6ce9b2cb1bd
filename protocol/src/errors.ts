/**
 * One error class for the whole toolkit, with a stable string code.
 *
 * Codes are part of the public contract: they are documented in docs/errors.md and are never renamed
 * or reused (a retired code stays in the union, marked deprecated). Messages are for humans and may change.
 * Context is for machines and logs; it must never carry secrets, and {@link TriadkitError} redacts any
 * context key that names one as a second line of defence.
 */

/** Every stable error code. Keep sorted by family; add, never rename. */
export const ERROR_CODES = [
  // --- generic ---
  "config.invalid",
  "internal.unexpected",

  // --- encoding helpers ---
  "encoding.bad_hex",
  "encoding.bad_utf8",

  // --- triads and signing ---
  "triad.bad_product_key",
  "triad.bad_device_name",
  "triad.bad_device_secret",
  "triad.bad_product_secret",
  "triad.bad_product_id",
  "triad.bad_genie_secret",
  "triad.bad_client_id",
  "triad.bad_username",
  "triad.identity_mismatch",
  "triad.bad_timestamp",
  "triad.timestamp_out_of_window",
  "triad.unknown_sign_method",
  "triad.weak_sign_method",
  "triad.unsupported_secure_mode",
  "triad.unsupported_auth_type",
  "triad.bad_password_format",
  "triad.bad_signature",
  "triad.bad_random",

  // --- identifiers ---
  "id.bad_imei",
  "id.imei_check_digit",
  "id.bad_imeisv",
  "id.bad_iccid",
  "id.iccid_check_digit",
  "id.bad_imsi",
  "id.bad_meid",
  "id.bad_msisdn",
  "id.bad_mac",
  "id.mac_multicast",
  "id.mac_all_zero",
  "id.mac_broadcast",
  "id.bad_ble_random_static",
  "id.bad_luhn_input",

  // --- Alink (MQTT topics and JSON payloads) ---
  "alink.bad_topic",
  "alink.bad_payload",
  "alink.bad_reply_code",

  "alink.reply_timeout",
  "alink.platform_error",

  // --- TOP (Taobao Open Platform), ISV side ---
  "top.unknown_sign_method",
  "top.bad_timestamp",
  "top.error_response",
  "top.session_expired",
  "top.clock_skew",
  "top.bad_response",
  "top.http_error",
  "top.bad_credentials",

  // --- device session (sdk) ---
  "session.closed",
  "session.not_connected",
  "session.auth_refused",
  "session.registration_failed",
  "session.tls_config",

  // --- device persistence (FlashStore) and offline queue (MessageStore) ---
  "store.bad_key",
  "store.corrupt_record",
  "store.record_too_large",
  "store.unsupported_version",
  "store.io",
  "store.closed",
  "queue.message_too_large",
  "queue.closed",
  "queue.corrupt",
  "queue.dropped",

  // --- platform emulator ---
  "emulator.unknown_device",
  "emulator.duplicate_device",
  "emulator.device_disabled",
  "emulator.device_deleted",
  "emulator.device_offline",
  "emulator.registration_refused",
  "emulator.bad_csv",
  "emulator.closed",

  // --- firmware-sim fleets and scenarios ---
  "fleet.unhealthy",
  "fleet.worker_failed",
  "scenario.assertion_failed",

  // --- serial links and the AT engine (modem driver) ---
  "serial.open_failed",
  "serial.closed",
  "serial.io",
  "at.timeout",
  "at.error",
  "at.cme_error",
  "at.bad_response",
  "at.closed",
  "modem.no_sim",
  "modem.unsupported",
  "modem.bad_identity",

  // --- binding monitor ---
  "binding.duplicate_expected",
  "binding.unsupported_schema",
  "binding.webhook_failed",
  "binding.bad_event",

  // --- WiFi provisioning (PoP, secure session, messages, BLE framing, Improv) ---
  "prov.pop_mismatch",
  "prov.backoff",
  "prov.bad_message",
  "prov.version_unsupported",
  "prov.downgrade",
  "prov.replay",
  "prov.decrypt_failed",
  "prov.session_state",
  "prov.frame_too_large",
  "prov.reassembly_timeout",
  "prov.bad_pop",
  "improv.bad_packet",
  "improv.checksum",
  "ble.unavailable",
  "ble.not_connected",
  "ble.timeout",
  "ble.not_found",
  "ble.busy",
  "ble.payload_too_large",
  "ble.gatt_error",
  "ble.bad_frame",
  "wifi.command_failed",

  // --- station: sheet import ---
  "import.missing_column",
  "import.ambiguous_column",
  "import.unreadable_file",
  "import.encoding",
  "import.sheet_not_found",
  "import.format_mismatch",
  "import.empty_file",
  "import.missing_value",
  "import.damaged_cell",
  "import.bad_value",
  "import.product_mismatch",
  "import.duplicate_triad",
  "import.duplicate_secret",
  "import.triad_exists",
  "import.over_quantity",
  "import.rejected",

  // --- station: platform exports ---
  "export.bad_template",
  "export.bad_identifier",
  "export.duplicate_identifier",
  "export.unencodable",
  "export.rejected",
  "export.empty",
  "export.file_exists",

  // --- factory protocol and burning ---
  "framing.bad_cobs",
  "framing.crc_mismatch",
  "framing.too_large",
  "framing.bad_version",
  "factory.bad_message",
  "factory.timeout",
  "factory.device_error",
  "factory.verify_failed",
  "factory.model_mismatch",
  "factory.firmware_too_old",
  "factory.record_mismatch",
  "station.fixture_locked",
  "station.unknown_fixture",
  "station.bad_config",
  "station.port_failed",
  "station.unknown_device",
  "station.wrong_device",
  "factory.ble_bad_message",
  "factory.ble_refused",
  "factory.ble_decrypt_failed",
  "factory.ble_replay",
  "station.ble_not_found",
  "station.ble_rssi_low",
  "station.ble_wrong_device",
  "web.burn_running",
  "web.not_available",
  "web.bad_request",

  // --- station: triad ledger and work orders ---
  "ledger.unknown_work_order",
  "ledger.work_order_exists",
  "ledger.bad_work_order",
  "ledger.unknown_triad",
  "ledger.bad_transition",
  "ledger.pool_exhausted",
  "ledger.schema_too_new",
  "ledger.open_failed",
  "ledger.busy",

  // --- station: smart-shelf codes ---
  "shelf.bad_value",
  "shelf.duplicate_code",
  "shelf.code_exists",
  "shelf.store_conflict",
  "shelf.unknown_code",
  "shelf.no_code",
  "shelf.chip_assigned",

  // --- product recommendation tables (smart shelf) ---
  "products.bad_url",
  "products.bad_item",
  "products.too_many",
  "products.bad_table",
  "products.push_failed",

  // --- station: device labels ---
  "label.bad_payload",
  "label.version_unsupported",
  "label.not_verified",
  "label.already_printed",
  "label.printer_unreachable",
  "label.printer_timeout",
  "label.scan_mismatch",

  // --- station: keys ---
  "keys.missing_key_file",
  "keys.bad_key_file",
  "keys.wrong_key",
  "keys.decrypt_failed",
  "keys.unknown_key_version",
  "keys.stale_key_version",

  // --- station: audit trail ---
  "audit.entry_modified",
  "audit.entry_missing",
  "audit.entry_reordered",
  "audit.truncated",
  "audit.bad_checkpoint",
  "audit.head_missing",

  // --- npm run demo ---
  "demo.step_failed",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * Non-fatal findings: an undocumented convention is not met, or a value is legal but unusual.
 * Validators return them beside the value; callers may promote them to errors (`strict`).
 */
export const WARNING_CODES = [
  "triad.unusual_product_key",
  "triad.unusual_device_secret",
  "id.iccid_check_digit_unverified",
  "id.iccid_unknown_operator",
  "id.imsi_unknown_operator",
  "id.imsi_not_china",
  "id.iccid_imsi_operator_mismatch",
  "id.mac_locally_administered",
  "id.imei_placeholder",
  "id.msisdn_operator_unverified",
] as const;

export type WarningCode = (typeof WARNING_CODES)[number];

export interface Warning {
  readonly code: WarningCode;
  readonly message: string;
}

/** Result of a validator: the normalised value and any non-fatal findings. */
export interface Validated<T> {
  readonly value: T;
  readonly warnings: readonly Warning[];
}

export type ErrorContext = Readonly<Record<string, unknown>>;

/** Context keys whose values are never kept (case-insensitive substring match). */
const SECRET_KEY_PATTERN = /secret|password|passwd|pop|psk|token|sessionkey|session_key|privatekey|idnumber|id_number/i;

function redactContext(context: ErrorContext | undefined): ErrorContext | undefined {
  if (context === undefined) return undefined;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(context)) {
    out[key] = SECRET_KEY_PATTERN.test(key) ? "[redacted]" : value;
  }
  return out;
}

export class TriadkitError extends Error {
  override readonly name = "TriadkitError";
  readonly code: ErrorCode;
  readonly context: ErrorContext | undefined;

  constructor(code: ErrorCode, message: string, context?: ErrorContext, options?: { cause?: unknown }) {
    super(`${message} (${code})`, options);
    this.code = code;
    this.context = redactContext(context);
  }

  toJSON(): { name: string; code: ErrorCode; message: string; context?: ErrorContext } {
    return this.context === undefined
      ? { name: this.name, code: this.code, message: this.message }
      : { name: this.name, code: this.code, message: this.message, context: this.context };
  }
}

export function isTriadkitError(value: unknown, code?: ErrorCode): value is TriadkitError {
  return value instanceof TriadkitError && (code === undefined || value.code === code);
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && (ERROR_CODES as readonly string[]).includes(value);
}

/** Shorthand used by codecs: throw a coded error. */
export function fail(code: ErrorCode, message: string, context?: ErrorContext): never {
  throw new TriadkitError(code, message, context);
}

/** Turns warnings into a thrown error when the caller asked for strict validation. */
export function enforceStrict<T>(result: Validated<T>, strict: boolean | undefined, code: ErrorCode): Validated<T> {
  if (strict && result.warnings.length > 0) {
    const first = result.warnings[0] as Warning;
    throw new TriadkitError(code, `strict validation: ${first.message}`, {
      warnings: result.warnings.map((w) => w.code),
    });
  }
  return result;
}
