/**
 * The station's side of `products push`: sends a table to devices through the platform emulator's local admin
 * endpoint (`POST <cloud-admin>/admin/product-tables/push`, **invented**: see docs/emulator.md; against the real
 * platform an ISV would call the IoT Platform's cloud API instead) and reads one result per device.
 */
import {
  type DeviceIdentity,
  type ProductPushResult,
  type ProductTable,
  parseProductPushResult,
  productTableToWire,
  TriadkitError,
} from "@triadkit/protocol";

export const PRODUCT_PUSH_PATH = "/admin/product-tables/push";

function failed(message: string, context?: Record<string, unknown>, cause?: unknown): TriadkitError {
  return new TriadkitError("products.push_failed", message, context, { cause });
}

/** Pushes `table` to `devices`; resolves with their results in the same order. Throws `products.push_failed`. */
export async function pushProductTable(
  adminUrl: string,
  table: ProductTable,
  devices: readonly DeviceIdentity[],
  options: { readonly timeoutMs?: number } = {},
): Promise<ProductPushResult[]> {
  let url: URL;
  try {
    url = new URL(PRODUCT_PUSH_PATH, adminUrl);
  } catch (err) {
    throw failed("--cloud-admin is not an http(s) URL", {}, err);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw failed("--cloud-admin is not an http(s) URL");
  const timeoutMs = options.timeoutMs ?? 5_000;
  const body = JSON.stringify({
    table: productTableToWire(table),
    devices: devices.map((d) => ({ productKey: d.productKey, deviceName: d.deviceName })),
    timeoutMs,
  });
  let response: Response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
      // Devices are called 16 at a time, each up to timeoutMs.
      signal: AbortSignal.timeout(timeoutMs * Math.max(1, Math.ceil(devices.length / 16)) + 10_000),
    });
  } catch (err) {
    throw failed(`cannot reach the cloud admin endpoint ${url.origin}`, { url: url.origin }, err);
  }
  const text = await response.text();
  if (!response.ok) {
    throw failed(`the cloud admin endpoint answered HTTP ${response.status}`, {
      status: response.status,
      body: text.slice(0, 200),
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw failed("the cloud admin endpoint answered something that is not JSON", { status: response.status }, err);
  }
  const results = (parsed as { results?: unknown } | null)?.results;
  if (!Array.isArray(results) || results.length !== devices.length) {
    throw failed("the cloud admin endpoint answered another number of results than devices pushed to");
  }
  try {
    return results.map(parseProductPushResult);
  } catch (err) {
    throw failed("the cloud admin endpoint answered a malformed push result", {}, err);
  }
}
