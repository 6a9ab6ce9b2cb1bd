import { readFileSync, statSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { expectTriadkitErrorAsync, formatPop, parseLabelPayload } from "@triadkit/protocol";
import jsqr from "jsqr";
import { PNG } from "pngjs";
import { afterEach, describe, expect, it } from "vitest";
import type { AuditEntry } from "../audit/types.js";
import { type LabelStation, labelStation } from "./__tests__/label-station.js";
import {
  buildLabel,
  checkLabelScan,
  type Label,
  type LabelTarget,
  type PrintLabelOptions,
  parsePrinterAddress,
  printLabel,
  renderLabelPng,
  renderLabelSvg,
  renderLabelZpl,
  sendToPrinter,
  zplFieldData,
} from "./index.js";

let h: LabelStation | undefined;
let server: Server | undefined;

afterEach(async () => {
  await h?.close();
  h = undefined;
  await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
  server = undefined;
});

async function setup(): Promise<LabelStation> {
  h = await labelStation();
  return h;
}

/** The QR text a PNG shows, decoded with jsqr. */
export function decodePng(png: Uint8Array): string | undefined {
  const image = PNG.sync.read(Buffer.from(png));
  return jsqr.default(new Uint8ClampedArray(image.data), image.width, image.height)?.data;
}

/** Undoes `^FH` hex escapes (`_XX`). */
function unhex(field: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < field.length; i++) {
    if (field[i] === "_") {
      bytes.push(Number.parseInt(field.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(field.charCodeAt(i));
    }
  }
  return Buffer.from(bytes).toString("utf8");
}

/** The data of the `^BQ` field of a ZPL label (after `MA,`), unescaped. */
export function zplQrText(zpl: string): string | undefined {
  const m = /\^BQN,2,(\d+)\^FH\^FDMA,([^^]*)\^FS/.exec(zpl);
  return m === null ? undefined : unhex(m[2] as string);
}

/** A raw TCP "printer" on port 0 that keeps what each connection sent. */
async function fakePrinter(): Promise<{ port: number; jobs: Promise<Buffer>[] }> {
  const jobs: Promise<Buffer>[] = [];
  server = createServer((socket) => {
    jobs.push(
      new Promise((resolve) => {
        const chunks: Buffer[] = [];
        socket.on("data", (c) => chunks.push(c));
        socket.on("end", () => {
          resolve(Buffer.concat(chunks));
          socket.end();
        });
      }),
    );
  });
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return { port: address.port, jobs };
}

/** printLabel on the test station as operator `line-4`. */
function print(s: LabelStation, target: LabelTarget, options: PrintLabelOptions) {
  return printLabel(s.station.ledger, s.station.keyring, s.station.actor("line-4"), target, options);
}

function toPrinter(port: number) {
  return { kind: "device", format: "zpl", destination: { printer: { host: "127.0.0.1", port } } } as const;
}

async function labelEntries(station: LabelStation): Promise<AuditEntry[]> {
  const entries = await station.station.ledger.auditEntries(station.station.stationId, 0, 10_000);
  return entries.filter((e) => e.action.startsWith("label."));
}

function expectNoSecret(bytes: Uint8Array | string, ...secrets: string[]): void {
  const text = typeof bytes === "string" ? bytes : Buffer.from(bytes).toString("latin1");
  for (const s of secrets) expect(text.includes(s), `secret found in output`).toBe(false);
}

describe("buildLabel", () => {
  it("refuses a device that is not verified yet, whose link is not active, or that is unknown", async () => {
    const s = await setup();
    const written = await s.device({ chipId: "c0de0001", state: "written" });
    const reserved = await s.device({ chipId: "c0de0002", state: "reserved" });
    const quarantined = await s.device({ chipId: "c0de0003", state: "quarantined" });
    for (const d of [written, reserved, quarantined]) {
      for (const kind of ["device", "carton"] as const) {
        await expectTriadkitErrorAsync(
          () => buildLabel(s.station.ledger, s.station.keyring, { chipId: d.chipId }, kind),
          "label.not_verified",
        );
      }
    }
    await expectTriadkitErrorAsync(
      () => buildLabel(s.station.ledger, s.station.keyring, { chipId: "ffff0000" }, "device"),
      "ledger.unknown_triad",
    );
  });

  it("gives a verified or registered device its PoP and shelf code; the carton has neither PoP nor secret", async () => {
    const s = await setup();
    const d = await s.device({ chipId: "c0de0010", shelfCode: "8F^6A~77_C7" });
    const r = await s.device({ chipId: "c0de0011", state: "registered", family: "genie" });
    const device = await buildLabel(s.station.ledger, s.station.keyring, { chipId: d.chipId }, "device");
    expect(parseLabelPayload(device.payload)).toMatchObject({ kind: "device", pop: d.pop, shelfCode: "8F^6A~77_C7" });
    expect(device.lines).toContain(`PoP ${d.popText}`);
    const carton = await buildLabel(s.station.ledger, s.station.keyring, { triadId: d.triadId }, "carton");
    expect(carton.payload).not.toContain(d.popText);
    expect(carton.lines.join("\n")).not.toContain(d.popText);
    expect(parseLabelPayload(carton.payload)).toMatchObject({ kind: "carton", shelfCode: "8F^6A~77_C7" });
    const genie = await buildLabel(s.station.ledger, s.station.keyring, { chipId: r.chipId }, "device");
    expect(parseLabelPayload(genie.payload)).toMatchObject({ identity: { family: "genie", productId: 4455667 } });
    for (const label of [device, carton, genie]) {
      expectNoSecret(JSON.stringify(label), d.secret, r.secret);
      expectNoSecret(renderLabelPng(label), d.secret, r.secret);
      expectNoSecret(renderLabelZpl(label), d.secret, r.secret);
      expectNoSecret(renderLabelSvg(label), d.secret, r.secret);
    }
  });
});

describe("rendering", () => {
  const label: Label = {
    kind: "device",
    triadId: "t1",
    chipId: "c0de",
    identity: "alibaba:a1B2c3D4e5F/lamp-0001",
    shelfCode: "A^B~C_D",
    payload: `triadkit://label?v=1&k=d&pk=a1B2c3D4e5F&dn=lamp-0001&pop=${formatPop(new Uint8Array(16).fill(3).map((v, i) => v + i))}&sc=A%5EB~C_D`,
    lines: ["PK a1B2c3D4e5F", "DN lamp-0001", "CODE A^B~C_D"],
  };

  it("escapes ^, ~, _ and non-ASCII in ZPL field data with ^FH hex", () => {
    expect(zplFieldData("A^B~C_D")).toBe("A_5EB_7EC_5FD");
    expect(zplFieldData("标签")).toBe("_E6_A0_87_E7_AD_BE");
    expect(zplFieldData("\n^XZ")).toBe("_0A_5EXZ");
  });

  it("writes ZPL whose QR field holds exactly the payload and whose fields cannot break out", () => {
    const zpl = renderLabelZpl(label, { dpi: 300, widthMm: 60, heightMm: 40 });
    expect(zpl.startsWith("^XA\n^CI28\n^PW709\n^LL472\n")).toBe(true);
    expect(zpl.trimEnd().endsWith("^XZ")).toBe(true);
    expect(zplQrText(zpl)).toBe(label.payload);
    expect(zpl).toContain("^FDCODE A_5EB_7EC_5FD^FS");
    // Only the commands we wrote: every ^ starts one of them, no ~ command at all.
    expect(zpl).not.toContain("~");
    expect(zpl.match(/\^([A-Z0-9]{2})/g)?.every((c) => /^\^(XA|CI|PW|LL|LH|FO|BQ|FH|FD|FS|A0|PQ|XZ)$/.test(c))).toBe(
      true,
    );
  });

  it("refuses a label size out of range or too small for the QR", () => {
    expect(() => renderLabelZpl(label, { widthMm: 10 })).toThrow(/20 and 150/);
    expect(() => renderLabelZpl(label, { dpi: 600 as 300 })).toThrow(/203 or 300/);
    expect(() => renderLabelZpl(label, { widthMm: 20, heightMm: 10 })).toThrow(/too small/);
  });

  it("renders a PNG whose QR decodes (jsqr) to exactly the payload, text beside it", () => {
    const png = renderLabelPng(label);
    expect(decodePng(png)).toBe(label.payload);
    const image = PNG.sync.read(Buffer.from(png));
    expect(image.width).toBeGreaterThan(image.height);
    // The text is drawn beside the QR: dark pixels right of the symbol's quiet zone (needs a system font).
    const qrEdge = image.height;
    let dark = 0;
    for (let y = 0; y < image.height; y++) {
      for (let x = qrEdge; x < image.width; x++) if ((image.data[(y * image.width + x) * 4] as number) < 128) dark++;
    }
    expect(dark).toBeGreaterThan(500);
    expect(renderLabelSvg(label)).toContain(">CODE A^B~C_D</text>");
  });
});

describe("printLabel", () => {
  it("sends ZPL to a raw TCP printer; the bytes received hold the payload; audited with the print count", async () => {
    const s = await setup();
    const d = await s.device({ chipId: "c0de0020", shelfCode: "SC-20" });
    const printer = await fakePrinter();
    const r = await print(s, { chipId: d.chipId }, toPrinter(printer.port));
    expect(r).toMatchObject({ action: "label.print", prints: 1, destination: `127.0.0.1:${printer.port}` });
    const received = (await printer.jobs[0]) as Buffer;
    expect(received.length).toBe(r.bytes);
    const payload = parseLabelPayload(zplQrText(received.toString("utf8")) as string);
    expect(payload).toMatchObject({ kind: "device", pop: d.pop, shelfCode: "SC-20" });
    expectNoSecret(received, d.secret);

    await expectTriadkitErrorAsync(
      () => print(s, { chipId: d.chipId }, toPrinter(printer.port)),
      "label.already_printed",
    );
    const again = await print(
      s,
      { triadId: d.triadId },
      {
        kind: "device",
        format: "png",
        destination: { file: join(s.dir, "again.png") },
        reprintReason: "label torn at packing",
      },
    );
    expect(again).toMatchObject({ action: "label.reprint", prints: 2 });
    // A carton label is counted on its own.
    const cartonFile = { file: join(s.dir, "carton.zpl") };
    const carton = await print(s, { chipId: d.chipId }, { kind: "carton", format: "zpl", destination: cartonFile });
    expect(carton).toMatchObject({ action: "label.print", prints: 1 });

    const entries = await labelEntries(s);
    expect(entries.map((e) => [e.action, JSON.parse(e.details).prints, JSON.parse(e.details).kind])).toEqual([
      ["label.print", 1, "device"],
      ["label.reprint", 2, "device"],
      ["label.print", 1, "carton"],
    ]);
    expect(JSON.parse((entries[1] as AuditEntry).details)).toMatchObject({
      reason: "label torn at packing",
      to: "file",
      destination: "again.png",
      chipId: d.chipId,
    });
    expect(entries[0]?.operator).toBe("line-4");
    for (const e of entries) expectNoSecret(JSON.stringify(e), d.popText, d.popText.slice(5), d.secret);
  });

  it("saves a file with mode 0600 that decodes to the payload", async () => {
    const s = await setup();
    const d = await s.device({ chipId: "c0de0030" });
    const file = join(s.dir, "label.png");
    await print(s, { chipId: d.chipId }, { kind: "device", format: "png", destination: { file } });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const text = decodePng(readFileSync(file)) as string;
    expect(parseLabelPayload(text)).toMatchObject({ kind: "device", pop: d.pop });
    expectNoSecret(readFileSync(file), d.secret);
  });

  it("records nothing when the printer is unreachable", async () => {
    const s = await setup();
    const d = await s.device({ chipId: "c0de0040" });
    const printer = await fakePrinter();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    server = undefined;
    await expectTriadkitErrorAsync(
      () => print(s, { chipId: d.chipId }, toPrinter(printer.port)),
      "label.printer_unreachable",
    );
    expect(await labelEntries(s)).toEqual([]);
  });
});

describe("sendToPrinter", () => {
  it("gives label.printer_timeout when the printer stops taking bytes", async () => {
    const sockets: Socket[] = [];
    server = createServer((socket) => {
      socket.pause();
      sockets.push(socket);
    });
    await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    // Far more than the socket buffers hold, so the send cannot finish while the printer does not read.
    const big = new Uint8Array(64 * 1024 * 1024);
    try {
      const err = await expectTriadkitErrorAsync(
        () => sendToPrinter({ host: "127.0.0.1", port }, big, { writeTimeoutMs: 300 }),
        "label.printer_timeout",
      );
      expect(err.context).toMatchObject({ phase: "write", port });
    } finally {
      for (const socket of sockets) socket.destroy();
    }
  });

  it("parses printer addresses with the raw port as default", () => {
    expect(parsePrinterAddress("10.0.0.7")).toEqual({ host: "10.0.0.7", port: 9100 });
    expect(parsePrinterAddress("zebra-3:6101")).toEqual({ host: "zebra-3", port: 6101 });
    expect(parsePrinterAddress("[fe80::1]:9100")).toEqual({ host: "fe80::1", port: 9100 });
    expect(() => parsePrinterAddress("a b")).toThrow(/host or host:port/);
    expect(() => parsePrinterAddress("h:70000")).toThrow(/host or host:port/);
  });
});

describe("checkLabelScan", () => {
  it("accepts the device's own label and names the field of a mismatch (never its value), all audited", async () => {
    const s = await setup();
    const a = await s.device({ chipId: "c0de0050", shelfCode: "SC-50" });
    const b = await s.device({ chipId: "c0de0051" });
    const { ledger, keyring } = s.station;
    const actor = s.station.actor("line-4");
    const own = await buildLabel(ledger, keyring, { chipId: a.chipId }, "device");
    const other = await buildLabel(ledger, keyring, { chipId: b.chipId }, "device");
    const carton = await buildLabel(ledger, keyring, { chipId: a.chipId }, "carton");
    expect(await checkLabelScan(ledger, keyring, actor, a.chipId, `${own.payload}\n`)).toMatchObject({
      ok: true,
      triadId: a.triadId,
      shelfCode: "SC-50",
    });
    const wrongPop = own.payload.replace(a.popText, b.popText);
    const cases: [string, string][] = [
      [other.payload, "identity"],
      [wrongPop, "pop"],
      [own.payload.replace("sc=SC-50", "sc=SC-51"), "shelfCode"],
      [carton.payload, "kind"],
    ];
    for (const [text, field] of cases) {
      const err = await expectTriadkitErrorAsync(
        () => checkLabelScan(ledger, keyring, actor, a.chipId, text),
        "label.scan_mismatch",
      );
      expect(err.context).toEqual({ chipId: a.chipId, field });
      expect(err.message).not.toContain(b.popText);
    }
    await expectTriadkitErrorAsync(
      () => checkLabelScan(ledger, keyring, actor, a.chipId, "hello"),
      "label.bad_payload",
    );
    const entries = (await labelEntries(s)).map((e) => JSON.parse(e.details));
    expect(entries.map((d) => [d.ok, d.field])).toEqual([
      [true, undefined],
      [false, "identity"],
      [false, "pop"],
      [false, "shelfCode"],
      [false, "kind"],
      [false, "payload"],
    ]);
    for (const e of await labelEntries(s)) expectNoSecret(JSON.stringify(e), a.popText, b.popText);
  });
});
