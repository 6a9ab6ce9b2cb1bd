import { enforceStrict, fail, type Validated, type Warning } from "../errors.js";

/**
 * An Alibaba Cloud IoT triad (三元组): the credentials a device uses to log in to the cloud over MQTT.
 * `deviceSecret` is a secret: never log it, never put it in an error, an export or a command line.
 */
export interface AlibabaTriad {
  readonly productKey: string;
  readonly deviceName: string;
  readonly deviceSecret: string;
}

/** The identity part of a triad: what may be shown, logged and exported. */
export interface DeviceIdentity {
  readonly productKey: string;
  readonly deviceName: string;
}

/** Documented by Alibaba (RegisterDevice): 4–32 characters of letters, digits and `-_@.:`. A hard rule. */
export const DEVICE_NAME_PATTERN = /^[A-Za-z0-9_@.:-]{4,32}$/;
/** Convention only (11 alphanumerics in every issued key and in the old SDK's buffer size). A warning. */
export const PRODUCT_KEY_CONVENTION = /^[A-Za-z0-9]{11}$/;
/** Convention only (32 alphanumerics). A warning. */
export const DEVICE_SECRET_CONVENTION = /^[A-Za-z0-9]{32}$/;

/** Characters that would break the clientId, username or sign string syntax. */
const PRODUCT_KEY_HARD = /^[A-Za-z0-9_-]{1,64}$/;
const SECRET_HARD = /^[\x21-\x7e]{1,128}$/;

export interface TriadValidationOptions {
  /** Treat undocumented conventions (ProductKey 11 chars, DeviceSecret 32 chars) as errors. */
  readonly strict?: boolean;
}

export function parseDeviceName(input: string): string {
  const value = input.trim();
  if (!DEVICE_NAME_PATTERN.test(value)) {
    return fail(
      "triad.bad_device_name",
      "DeviceName must be 4–32 characters of letters, digits and - _ @ . : (Alibaba RegisterDevice rule)",
      { length: value.length },
    );
  }
  return value;
}

export function parseProductKey(input: string, options: TriadValidationOptions = {}): Validated<string> {
  const value = input.trim();
  if (!PRODUCT_KEY_HARD.test(value)) {
    return fail("triad.bad_product_key", "ProductKey must be 1–64 letters, digits, '_' or '-'", {
      length: value.length,
    });
  }
  const warnings: Warning[] = [];
  if (!PRODUCT_KEY_CONVENTION.test(value)) {
    warnings.push({
      code: "triad.unusual_product_key",
      message: `ProductKey "${value}" is not the usual 11 alphanumeric characters`,
    });
  }
  return enforceStrict({ value, warnings }, options.strict, "triad.bad_product_key");
}

/** Validates a device (or product) secret without ever echoing it. */
export function parseDeviceSecret(input: string, options: TriadValidationOptions = {}): Validated<string> {
  const value = input.trim();
  if (!SECRET_HARD.test(value)) {
    return fail("triad.bad_device_secret", "DeviceSecret must be 1–128 printable ASCII characters without spaces", {
      length: value.length,
    });
  }
  const warnings: Warning[] = [];
  if (!DEVICE_SECRET_CONVENTION.test(value)) {
    warnings.push({
      code: "triad.unusual_device_secret",
      message: `DeviceSecret is not the usual 32 alphanumeric characters (length ${value.length})`,
    });
  }
  return enforceStrict({ value, warnings }, options.strict, "triad.bad_device_secret");
}

export function parseProductSecret(input: string): string {
  const value = input.trim();
  if (!SECRET_HARD.test(value)) {
    return fail("triad.bad_product_secret", "ProductSecret must be 1–128 printable ASCII characters without spaces", {
      length: value.length,
    });
  }
  return value;
}

/** Parses and normalises (trims) an Alibaba triad. Documented rules throw; conventions warn. */
export function parseAlibabaTriad(
  input: { productKey: string; deviceName: string; deviceSecret: string },
  options: TriadValidationOptions = {},
): Validated<AlibabaTriad> {
  const productKey = parseProductKey(input.productKey, options);
  const deviceName = parseDeviceName(input.deviceName);
  const deviceSecret = parseDeviceSecret(input.deviceSecret, options);
  return {
    value: { productKey: productKey.value, deviceName, deviceSecret: deviceSecret.value },
    warnings: [...productKey.warnings, ...deviceSecret.warnings],
  };
}

/** The shareable identity of a triad (no secret). */
export function identityOf(triad: DeviceIdentity): DeviceIdentity {
  return { productKey: triad.productKey, deviceName: triad.deviceName };
}
