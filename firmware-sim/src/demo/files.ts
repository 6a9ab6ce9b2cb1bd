/**
 * The demo's files in its temp dir: a throwaway TLS certificate (openssl), the Alibaba and Tmall Genie triad
 * sheets as the platforms hand them out, the expected machine-card bindings, the ISV's TOP credentials and the
 * simulated WiFi. Files holding a secret are written with mode 0600; none is ever printed.
 */
import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { type GenieTriad, parseGenieTriad, toHex } from "@triadkit/protocol";
import type { Random } from "@triadkit/sdk";
import type { VirtualIdentity } from "../identity.js";

const exec = promisify(execFile);

export interface DemoTls {
  readonly certFile: string;
  readonly certPem: string;
  readonly keyPem: string;
}

/** A self-signed EC P-256 certificate for 127.0.0.1 / localhost, valid one day (the devices trust it by --ca). */
export async function makeTls(dir: string): Promise<DemoTls> {
  const certFile = join(dir, "cloud-cert.pem");
  const keyFile = join(dir, "cloud-key.pem");
  await exec(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      keyFile,
      "-out",
      certFile,
      "-days",
      "1",
      "-subj",
      "/CN=localhost",
      "-addext",
      "subjectAltName=IP:127.0.0.1,DNS:localhost",
    ],
    { timeout: 30_000 },
  );
  const [certPem, keyPem] = await Promise.all([readFile(certFile, "utf8"), readFile(keyFile, "utf8")]);
  return { certFile, certPem, keyPem };
}

/** The Alibaba sheet for the station (`ProductKey,DeviceName,DeviceSecret`); the same rows register in the cloud. */
export async function writeAlibabaSheet(dir: string, devices: readonly VirtualIdentity[]): Promise<string> {
  const file = join(dir, "alibaba-triads.csv");
  const rows = devices.map(({ triad }) => `${triad.productKey},${triad.deviceName},${triad.deviceSecret}`);
  await writeFile(file, `ProductKey,DeviceName,DeviceSecret\n${rows.join("\n")}\n`, { mode: 0o600 });
  return file;
}

/** A Tmall Genie sheet in the platform's columns (Product ID, Device Secret, Mac Lower); returns its rows parsed. */
export async function writeGenieSheet(
  dir: string,
  productId: number,
  random: Random,
  count: number,
): Promise<{ file: string; triads: GenieTriad[] }> {
  const triads: GenieTriad[] = [];
  for (let i = 0; i < count; i++) {
    const mac = `28fa7a${toHex(random.bytes(3))}`;
    triads.push(parseGenieTriad({ productId, mac, secret: toHex(random.bytes(16)) }));
  }
  const file = join(dir, "genie-triads.csv");
  const rows = triads.map((t) => `${t.productId},${t.secret},${t.mac}`);
  await writeFile(file, `Product ID,Device Secret,Mac Lower\n${rows.join("\n")}\n`, { mode: 0o600 });
  return { file, triads };
}

/** The IMEI/ICCID/IMSI each device is expected with (the factory's export), for the binding monitor. */
export function expectedBindingsCsv(devices: readonly VirtualIdentity[]): string {
  return `imei,iccid,imsi\n${devices.map((d) => `${d.imei},${d.iccid},${d.imsi}`).join("\n")}\n`;
}

/** The ISV app the TOP gateway knows and the station signs with (made-up values; the file is 0600). */
export async function writeTopCredentials(dir: string, random: Random): Promise<{ file: string; secrets: string[] }> {
  const file = join(dir, "top-credentials.json");
  const creds = {
    format: "triadkit-top-credentials",
    version: 1,
    appKey: "25018990",
    appSecret: toHex(random.bytes(16)),
    session: `6100${toHex(random.bytes(12))}`,
    refreshToken: `6100${toHex(random.bytes(12))}`,
  };
  await writeFile(file, JSON.stringify(creds), { mode: 0o600 });
  return { file, secrets: [creds.appSecret, creds.session, creds.refreshToken] };
}

/** The network the simulated WiFi knows (`ssid<TAB>password`, for the boards); the password stays in memory. */
export async function writeWifi(
  dir: string,
  ssid: string,
  random: Random,
): Promise<{ file: string; ssid: string; password: string }> {
  const password = toHex(random.bytes(10));
  const file = join(dir, "wifi.tsv");
  await writeFile(file, `${ssid}\t${password}\n`, { mode: 0o600 });
  return { file, ssid, password };
}
