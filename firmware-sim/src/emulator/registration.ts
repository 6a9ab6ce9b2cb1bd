/**
 * Dynamic registration (一型一密) as the platform performs it, for MQTT (`authType=register|regnwl`) and HTTPS
 * (`POST /auth/register/device`), plus the `authType=connwl` login of a device registered without pre-registration.
 * Secrets only leave through the returned grant (which the emulator sends to the device); errors and events carry
 * identities and codes only.
 */
import {
  clientIdField,
  constantTimeEqual,
  type DeviceIdentity,
  dynamicRegisterSignContent,
  parseClientId,
  parseDeviceName,
  parseProductKey,
  parseRegisterConnect,
  parseSignMethod,
  parseUsername,
  type RegisterResult,
  type RegnwlResult,
  type SignMethod,
  TriadkitError,
  utf8,
  verifyHexSignature,
  verifyRegisterConnect,
} from "@triadkit/protocol";
import type { Random } from "@triadkit/sdk";
import type { DeviceRegistry } from "./device-directory.js";

export interface RegistrationOptions {
  /**
   * Refuse `authType=register` (and HTTPS registration) for a DeviceName that was not created first, as the real
   * platform does. Default false: the emulator creates the device on the fly.
   */
  readonly strictPreRegistration?: boolean;
  /** Refuse MQTT registration on a plain TCP connection, as the real platform does. Default false. */
  readonly requireTls?: boolean;
}

export type RegistrationGrant =
  | { readonly mode: "register"; readonly identity: DeviceIdentity; readonly result: RegisterResult }
  | { readonly mode: "regnwl"; readonly identity: DeviceIdentity; readonly result: RegnwlResult };

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** `length` characters of [A-Za-z0-9], uniformly (rejection sampling). */
export function randomAlnum(random: Random, length: number): string {
  const limit = 256 - (256 % ALNUM.length);
  let out = "";
  while (out.length < length) {
    for (const b of random.bytes(length)) if (b < limit && out.length < length) out += ALNUM[b % ALNUM.length];
  }
  return out;
}

function refused(message: string, identity: DeviceIdentity): TriadkitError {
  return new TriadkitError("emulator.registration_refused", message, {
    productKey: identity.productKey,
    deviceName: identity.deviceName,
  });
}

function badSign(identity: DeviceIdentity): TriadkitError {
  return new TriadkitError("triad.bad_signature", "registration sign does not match the product secret", {
    productKey: identity.productKey,
  });
}

/** The clientId the platform hands a `regnwl` device (it logs in with `{clientId}|securemode=-2,authType=connwl|`). */
export function regnwlClientId(identity: DeviceIdentity): string {
  return `${identity.productKey}.${identity.deviceName}`;
}

export class Registrar {
  constructor(
    private readonly registry: DeviceRegistry,
    private readonly random: Random,
    private readonly options: RegistrationOptions = {},
  ) {}

  /** True when the clientId asks for a registration login (`authType=register|regnwl`). */
  static isRegistration(clientId: string): boolean {
    const authType = authTypeOf(clientId);
    return authType === "register" || authType === "regnwl";
  }

  /** True when the clientId is a `regnwl` device's token login (`authType=connwl`). */
  static isTokenLogin(clientId: string): boolean {
    return authTypeOf(clientId) === "connwl";
  }

  /** An MQTT registration CONNECT. Throws `triad.*` or `emulator.registration_refused`. */
  mqtt(credentials: { clientId: string; username: string; password: string }, tls: boolean): RegistrationGrant {
    const parsed = parseRegisterConnect(credentials);
    if (this.options.requireTls && !tls) throw refused("dynamic registration needs a TLS connection", parsed.identity);
    const secret = this.registry.lookupProductSecret(parsed.identity.productKey);
    if (secret === undefined) throw badSign(parsed.identity);
    verifyRegisterConnect(parsed, credentials.password, secret);
    return parsed.mode === "register" ? this.register(parsed.identity) : this.regnwl(parsed.identity);
  }

  /**
   * The HTTPS form `productKey, deviceName, random, sign, signMethod` (pre-registered mode only: the platform offers
   * no registration without pre-registration over HTTPS). Throws like {@link mqtt}.
   */
  http(form: URLSearchParams): RegistrationGrant {
    const field = (name: string): string => {
      const value = form.get(name);
      if (value === null || value === "") {
        throw new TriadkitError("alink.bad_payload", `form field ${name} is missing`, { field: name });
      }
      return value;
    };
    const identity = {
      productKey: parseProductKey(field("productKey")).value,
      deviceName: parseDeviceName(field("deviceName")),
    };
    const random = field("random");
    if (!/^[A-Za-z0-9]{1,64}$/.test(random)) {
      throw new TriadkitError("triad.bad_random", "random must be 1–64 letters or digits", { length: random.length });
    }
    const method: SignMethod = parseSignMethod(form.get("signMethod") || "hmacsha1");
    const secret = this.registry.lookupProductSecret(identity.productKey);
    if (secret === undefined) throw badSign(identity);
    const content = dynamicRegisterSignContent({ ...identity, random });
    if (!verifyHexSignature(method, secret, content, field("sign"))) throw badSign(identity);
    return this.register(identity);
  }

  /** An `authType=connwl` login: the password is the device token from `/ext/regnwl`. Throws `triad.*` / `emulator.*`. */
  verifyTokenLogin(credentials: { clientId: string; username: string; password: string }): DeviceIdentity {
    const identity = parseUsername(credentials.username);
    const clientId = parseClientId(credentials.clientId);
    if (clientId.core !== regnwlClientId(identity)) {
      throw new TriadkitError("triad.identity_mismatch", "connwl clientId is not the one the platform issued", {
        productKey: identity.productKey,
        deviceName: identity.deviceName,
      });
    }
    const token = this.registry.lookupDeviceToken(identity);
    if (token === undefined || !constantTimeEqual(utf8(token), utf8(credentials.password))) {
      throw new TriadkitError("triad.bad_signature", "device token does not match", {
        productKey: identity.productKey,
        deviceName: identity.deviceName,
      });
    }
    return identity;
  }

  private register(identity: DeviceIdentity): RegistrationGrant {
    const product = this.registry.getProduct(identity.productKey);
    if (product?.dynamicRegister !== true) throw refused("dynamic registration is off for this product", identity);
    const device = this.registry.get(identity);
    if (device === undefined || device.status === "deleted") {
      if (this.options.strictPreRegistration) throw refused("the device was not pre-registered", identity);
      this.registry.add({ ...identity, deviceSecret: randomAlnum(this.random, 32) }, { replace: true });
    } else if (device.status === "disabled") {
      throw new TriadkitError("emulator.device_disabled", "the device is disabled", { ...identity });
    } else if (device.activatedAtMs !== undefined) {
      throw refused("the device is already activated: its secret is issued only once", identity);
    }
    const deviceSecret = this.registry.lookupSecret(identity);
    if (deviceSecret === undefined) throw refused("the device has no secret", identity);
    return { mode: "register", identity, result: { ...identity, deviceSecret } };
  }

  private regnwl(identity: DeviceIdentity): RegistrationGrant {
    const product = this.registry.getProduct(identity.productKey);
    if (product?.regnwl !== true)
      throw refused("registration without pre-registration is off for this product", identity);
    const device = this.registry.get(identity);
    if (device?.status === "disabled") {
      throw new TriadkitError("emulator.device_disabled", "the device is disabled", { ...identity });
    }
    if (device === undefined || device.status === "deleted") {
      this.registry.add({ ...identity, deviceSecret: randomAlnum(this.random, 32) }, { replace: true });
    }
    const deviceToken = randomAlnum(this.random, 32);
    this.registry.setDeviceToken(identity, deviceToken);
    return { mode: "regnwl", identity, result: { ...identity, clientId: regnwlClientId(identity), deviceToken } };
  }
}

function authTypeOf(clientId: string): string | undefined {
  try {
    return clientIdField(parseClientId(clientId), "authType");
  } catch {
    return undefined;
  }
}
