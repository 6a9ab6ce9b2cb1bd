/**
 * Throwaway TLS material for tests, made with the `openssl` CLI in a fresh temp dir: a CA, a server certificate for
 * 127.0.0.1 / ::1 / localhost signed by it, and an unrelated second CA (`wrongCaPem`) for the "untrusted server" case.
 * EC P-256 keys, valid two days. Keys are written to files in the temp dir only (never on a command line).
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface TlsFixture {
  /** PEM of the CA that signed the server certificate: trust this one. */
  readonly caPem: string;
  /** PEM of the server certificate (SAN IP:127.0.0.1, IP:::1, DNS:localhost). */
  readonly certPem: string;
  /** PEM of the server's private key. */
  readonly keyPem: string;
  /** PEM of another CA that signed nothing here: trusting only it must fail verification. */
  readonly wrongCaPem: string;
  /** The temp dir holding the files (`ca.pem`, `server.pem`, `server.key`, `wrong-ca.pem`). */
  readonly dir: string;
  /** Removes the temp dir. */
  readonly cleanup: () => Promise<void>;
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

async function openssl(dir: string, args: readonly string[]): Promise<void> {
  await run("openssl", [...args], { cwd: dir, timeout: 30_000 });
}

async function makeCa(dir: string, name: string, cn: string): Promise<void> {
  await openssl(dir, [
    "req",
    "-x509",
    ...EC,
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.pem`,
    "-days",
    "2",
    "-subj",
    `/CN=${cn}`,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
}

export async function createTlsFixture(): Promise<TlsFixture> {
  const dir = await mkdtemp(join(tmpdir(), "triadkit-tls-"));
  const cleanup = () => rm(dir, { recursive: true, force: true });
  try {
    await makeCa(dir, "ca", "triadkit test CA");
    await makeCa(dir, "wrong-ca", "triadkit unrelated CA");
    await openssl(dir, ["req", ...EC, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"]);
    await writeFile(
      join(dir, "server.ext"),
      [
        "basicConstraints=CA:FALSE",
        "keyUsage=critical,digitalSignature,keyEncipherment",
        "extendedKeyUsage=serverAuth",
        "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost",
        "",
      ].join("\n"),
    );
    await openssl(dir, [
      "x509",
      "-req",
      "-in",
      "server.csr",
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      "server.pem",
      "-days",
      "2",
      "-extfile",
      "server.ext",
    ]);
    const read = (name: string) => readFile(join(dir, name), "utf8");
    const [caPem, certPem, keyPem, wrongCaPem] = await Promise.all([
      read("ca.pem"),
      read("server.pem"),
      read("server.key"),
      read("wrong-ca.pem"),
    ]);
    return { caPem, certPem, keyPem, wrongCaPem, dir, cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
