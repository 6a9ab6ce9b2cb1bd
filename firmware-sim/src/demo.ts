/**
 * `npm run demo`: the longest end-to-end path triadkit has so far, on embedded defaults.
 *
 * The platform emulator (embedded aedes, triad signature verifier as its login hook) starts on a free loopback
 * port; virtual devices with valid identities log in with triad-signed MQTT credentials in both official wire
 * styles, report their IMEI/ICCID/IMSI and send binding heartbeats; the platform decodes and acknowledges them;
 * an impostor with a wrong secret is refused. No secret is printed.
 */
import {
  type AlinkReply,
  bindingEventTopic,
  createIdGenerator,
  decodeReply,
  deviceinfoUpdateTopic,
  deviceSubscriptionFilters,
  encodeBindingHeartbeat,
  encodeIdentityReport,
  iccidOperator,
  parseImsi,
  type SignMethod,
  signConnect,
} from "@triadkit/protocol";
import { SeededRandom, SystemClock } from "@triadkit/sdk";
import mqtt, { type MqttClient } from "mqtt";
import { MemoryDeviceDirectory } from "./emulator/device-directory.js";
import { PlatformEmulator } from "./emulator/platform-emulator.js";
import { createVirtualIdentity, type VirtualIdentity } from "./identity.js";

const PRODUCT_KEY = "a1DemoPk0Tk";
const clock = new SystemClock();
const log = (line: string) => process.stdout.write(`${line}\n`);

interface DeviceRun {
  readonly identity: VirtualIdentity;
  readonly style: "node" | "c";
  readonly signMethod: SignMethod;
}

function connect(url: string, creds: { clientId: string; username: string; password: string }): Promise<MqttClient> {
  const client = mqtt.connect(url, { ...creds, reconnectPeriod: 0, connectTimeout: 5_000, keepalive: 60 });
  return new Promise((resolve, reject) => {
    client.once("connect", () => resolve(client));
    client.once("error", (err) => {
      client.end(true);
      reject(err);
    });
  });
}

async function runDevice(url: string, run: DeviceRun): Promise<number> {
  const { triad, imei, iccid, imsi } = run.identity;
  const creds = signConnect({
    triad,
    style: run.style,
    signMethod: run.signMethod,
    secureMode: 3, // loopback TCP; real devices use TLS (securemode=2)
    ...(run.style === "node" ? { timestampMs: clock.nowMs() } : {}),
  });
  const client = await connect(url, creds);
  const ids = createIdGenerator();
  const replies = new Map<string, (reply: AlinkReply) => void>();
  client.on("message", (_topic, payload) => {
    const reply = decodeReply(new Uint8Array(payload));
    replies.get(reply.id)?.(reply);
  });
  await client.subscribeAsync(deviceSubscriptionFilters(triad));
  const request = (topic: string, body: (id: string) => Uint8Array): Promise<AlinkReply> => {
    const id = ids.next();
    const answered = new Promise<AlinkReply>((resolve, reject) => {
      const timer = clock.setTimeout(() => reject(new Error(`no reply to ${topic} id ${id}`)), 5_000);
      replies.set(id, (reply) => {
        timer.cancel();
        resolve(reply);
      });
    });
    client.publish(topic, Buffer.from(body(id)));
    return answered;
  };

  const report = await request(deviceinfoUpdateTopic(triad), (id) =>
    encodeIdentityReport({ imei, iccid, imsi, modem: "Quectel EC200U-CN (virtual)" }, id),
  );
  let acked = report.code === 200 ? 1 : 0;
  for (let seq = 0; seq < 2; seq++) {
    const reply = await request(bindingEventTopic(triad, "BindingHeartbeat"), (id) =>
      encodeBindingHeartbeat(
        { imei, iccid, imsi, epoch: 1, bootId: "demo-boot", seq, uptimeS: seq * 60, rssiDbm: -73, ts: clock.nowMs() },
        id,
      ),
    );
    if (reply.code === 200) acked++;
  }
  await client.endAsync();
  return acked;
}

async function main(): Promise<void> {
  const random = new SeededRandom(Number(process.env.TRIADKIT_DEMO_SEED ?? 20261123));
  const directory = new MemoryDeviceDirectory();
  const emulator = await PlatformEmulator.start({ directory });
  log(`platform emulator (aedes + triad verifier) listening on ${emulator.url}`);

  emulator.on("online", (id, clientId) => log(`  platform: ${id.deviceName} online (clientId ${clientId})`));
  emulator.on("identityReport", ({ identity, value }) =>
    log(`  platform: ${identity.deviceName} reported IMEI ${value.imei}, ICCID ${value.iccid}, IMSI ${value.imsi}`),
  );
  emulator.on("bindingEvent", ({ identity, value }) =>
    log(
      `  platform: ${identity.deviceName} ${value.kind} epoch=${value.epoch} ${"seq" in value ? `seq=${value.seq}` : ""}`,
    ),
  );
  emulator.on("rejected", ({ code, username }) => log(`  platform: refused login ${username ?? "?"} (${code})`));

  const runs: DeviceRun[] = [
    { style: "node", signMethod: "hmacsha256" },
    { style: "c", signMethod: "hmacsha256" },
    { style: "node", signMethod: "hmacsha1" },
  ].map((r) => ({ ...r, identity: createVirtualIdentity(random, { productKey: PRODUCT_KEY }) }) as DeviceRun);
  for (const run of runs) directory.add(run.identity.triad);

  let failures = 0;
  let acked = 0;
  for (const run of runs) {
    const { triad, iccid, imsi } = run.identity;
    log(
      `device ${triad.deviceName}: ${run.style}-style ${run.signMethod} login; ICCID operator ${iccidOperator(iccid)}, IMSI operator ${parseImsi(imsi).value.operator}`,
    );
    try {
      acked += await runDevice(emulator.url, run);
    } catch (err) {
      failures++;
      log(`  device ${triad.deviceName} FAILED: ${(err as Error).message}`);
    }
  }

  const impostor = {
    ...createVirtualIdentity(random, { productKey: PRODUCT_KEY }).triad,
    deviceName: runs[0]!.identity.triad.deviceName,
  };
  log(`impostor: logs in as ${impostor.deviceName} with a secret that is not the device's`);
  const refused = await connect(
    emulator.url,
    signConnect({ triad: impostor, timestampMs: clock.nowMs(), secureMode: 3 }),
  ).then(
    async (c) => {
      await c.endAsync();
      return false;
    },
    (err: Error) => {
      log(`  impostor refused: ${err.message}`);
      return true;
    },
  );
  if (!refused) failures++;

  await emulator.close();
  const expected = runs.length * 3;
  log(
    `\nsummary: ${runs.length} devices, ${acked}/${expected} messages acknowledged (code 200), impostor ${refused ? "refused" : "ACCEPTED"}`,
  );
  if (failures > 0 || acked !== expected) {
    log("demo FAILED");
    process.exitCode = 1;
  } else {
    log("demo OK");
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
