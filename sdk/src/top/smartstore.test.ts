import {
  type AlinkReply,
  expectTriadkitError,
  expectTriadkitErrorAsync,
  formatTopTimestamp,
  verifyTopSignature,
} from "@triadkit/protocol";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../clock.js";
import { getShelfDeviceState, reportShelfDeviceStatus, reportShelfTags } from "./smartstore.js";
import { TopClient } from "./top-client.js";

const START = Date.UTC(2026, 4, 1, 2, 0, 0);

function fixture(answer: (params: Record<string, string>) => unknown) {
  const clock = new ManualClock({ wallStartMs: START });
  const sent: Record<string, string>[] = [];
  const fetch = (async (_u: string | URL | Request, init?: RequestInit) => {
    const params = Object.fromEntries(new URLSearchParams(String(init?.body)));
    expect(verifyTopSignature(params, "secret")).toBe(true);
    sent.push(params);
    const body =
      params.method === "taobao.time.get"
        ? { time_get_response: { time: formatTopTimestamp(clock.nowMs()) } }
        : answer(params);
    return new Response(JSON.stringify(body));
  }) as typeof globalThis.fetch;
  const client = new TopClient({
    endpoint: "http://127.0.0.1:1/router/rest",
    appKey: "1",
    appSecret: "secret",
    session: "S",
    clock,
    fetch,
  });
  return { client, sent };
}

describe("smart-store calls", () => {
  it("reports a status with device_code, status and a GMT+8 status_time", async () => {
    const { client, sent } = fixture(() => ({ smartstore_device_status_feedback_response: { result: "true" } }));
    const at = Date.UTC(2026, 4, 1, 1, 59, 58);
    expect(
      await reportShelfDeviceStatus(client, {
        deviceCode: "8F6A77C73E",
        status: "ONLINE_WITH_CONTENT",
        statusTimeMs: at,
      }),
    ).toBe("true");
    expect(sent.at(-1)).toMatchObject({
      method: "taobao.smartstore.device.status.feedback",
      device_code: "8F6A77C73E",
      status: "ONLINE_WITH_CONTENT",
      status_time: "2026-05-01 09:59:58",
      session: "S",
    });
    await expectTriadkitErrorAsync(
      () => reportShelfDeviceStatus(client, { deviceCode: "8F6A77C73E", status: "ONLINE" as never, statusTimeMs: at }),
      "config.invalid",
    );
    await expectTriadkitErrorAsync(
      () => reportShelfDeviceStatus(client, { deviceCode: "bad code", status: "OFFLINE", statusTimeMs: at }),
      "alink.bad_payload",
    );
  });

  it("reads a device's state, with or without a status", async () => {
    const { client } = fixture((p) => ({
      smartstore_device_get_response: {
        result:
          p.device_code === "8F6A77C73E"
            ? { device_code: "8F6A77C73E", status: "OFFLINE", status_time: "2026-05-01 10:00:00" }
            : { device_code: p.device_code },
      },
    }));
    expect(await getShelfDeviceState(client, "8F6A77C73E")).toEqual({
      deviceCode: "8F6A77C73E",
      status: "OFFLINE",
      statusTimeMs: Date.UTC(2026, 4, 1, 2, 0, 0),
    });
    expect(await getShelfDeviceState(client, "NEW0000001")).toEqual({ deviceCode: "NEW0000001" });
    const empty = fixture(() => ({ smartstore_device_get_response: {} }));
    await expectTriadkitErrorAsync(() => getShelfDeviceState(empty.client, "X1"), "top.bad_response");
  });

  it("device side: reports the two shelf tags", async () => {
    const sent: Record<string, string>[] = [];
    const device = {
      updateTags: async (tags: Record<string, string>): Promise<AlinkReply> => {
        sent.push(tags);
        return { id: "1", code: 200, data: {} };
      },
    };
    await reportShelfTags(device, { storeId: 184454101, deviceCode: "8F6A77C73E" });
    expect(sent).toEqual([{ shelfStoreId: "184454101", shelfDeviceCode: "8F6A77C73E" }]);
    expectTriadkitError(() => reportShelfTags(device, { storeId: -1, deviceCode: "X" }), "alink.bad_payload");
  });
});
