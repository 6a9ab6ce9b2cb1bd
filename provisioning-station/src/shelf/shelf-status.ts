/**
 * `shelf status`: asks the platform side (TOP, through the ISV's credentials) for the status of every device code
 * burnt into a board and still `pending_activation`, and moves those seen `ONLINE_WITH_CONTENT` to `activated`
 * with the evidence. One device's TOP refusal (e.g. a code the platform does not know) is reported and the others
 * go on; anything that would fail for every device (credentials, session, clock skew, the endpoint down) stops.
 */
import { isTriadkitError } from "@triadkit/protocol";
import type { ShelfDevice, ShelfStatus } from "../ledger/shelf.js";
import type { Actor, Ledger } from "../ledger/types.js";

/** What the platform says about one device code. */
export interface PlatformShelfState {
  /** `ONLINE_WITH_CONTENT` (设备在线), `OFFLINE` (设备断线); absent: never reported (待激活). */
  readonly status?: string;
  /** When it went into that status, ms since the epoch. */
  readonly statusTimeMs?: number;
}

/** The platform side, e.g. TOP's `taobao.smartstore.device.get` through a TopClient. */
export interface ShelfStateSource {
  /** Names the evidence, e.g. `top:taobao.smartstore.device.get`. */
  readonly name: string;
  deviceState(deviceCode: string): Promise<PlatformShelfState>;
}

export interface ShelfStatusEntry {
  readonly brand: string;
  readonly storeId: number;
  readonly deviceCode: string;
  readonly chipId?: string;
  readonly before: ShelfStatus;
  readonly after: ShelfStatus;
  /** What the platform answered (absent on an error). */
  readonly platform?: PlatformShelfState;
  readonly error?: { readonly code: string; readonly message: string };
}

/** An error that concerns one device only: the others are still asked. */
function perDevice(err: unknown): boolean {
  if (!isTriadkitError(err)) return false;
  if (err.code === "alink.bad_payload") return true; // a code TOP cannot carry
  if (err.code !== "top.error_response") return false;
  const top = Number(err.context?.["code"]);
  // TOP's app/session/signature-level codes (e.g. 25 invalid signature, 26/27 session, 29 app key) stop everything.
  return !(top >= 20 && top <= 29);
}

export interface RefreshShelfOptions {
  readonly brand?: string;
  readonly storeId?: number;
  readonly now: () => number;
  /** Per device as it is settled (for progress output). */
  readonly onEntry?: (entry: ShelfStatusEntry) => void;
}

async function pendingOnBoards(ledger: Ledger, options: RefreshShelfOptions): Promise<ShelfDevice[]> {
  const out: ShelfDevice[] = [];
  for (let afterSeq = 0; ; ) {
    const page = await ledger.listShelfDevices({
      status: ["pending_activation"],
      assigned: true,
      afterSeq,
      limit: 500,
      ...(options.brand === undefined ? {} : { brand: options.brand }),
      ...(options.storeId === undefined ? {} : { storeId: options.storeId }),
    });
    out.push(...page);
    if (page.length < 500) return out;
    afterSeq = page[page.length - 1]?.seq ?? afterSeq;
  }
}

export async function refreshShelfStatus(
  ledger: Ledger,
  source: ShelfStateSource,
  actor: Actor,
  options: RefreshShelfOptions,
): Promise<ShelfStatusEntry[]> {
  const entries: ShelfStatusEntry[] = [];
  const note = (e: ShelfStatusEntry) => {
    entries.push(e);
    options.onEntry?.(e);
  };
  for (const d of await pendingOnBoards(ledger, options)) {
    const base = {
      brand: d.brand,
      storeId: d.storeId,
      deviceCode: d.deviceCode,
      ...(d.chipId === undefined ? {} : { chipId: d.chipId }),
      before: d.status,
    };
    let platform: PlatformShelfState;
    try {
      platform = await source.deviceState(d.deviceCode);
    } catch (err) {
      if (!perDevice(err)) throw err;
      const code = isTriadkitError(err) ? err.code : "internal.unexpected";
      note({ ...base, after: d.status, error: { code, message: (err as Error).message } });
      continue;
    }
    if (platform.status !== "ONLINE_WITH_CONTENT") {
      note({ ...base, after: d.status, platform });
      continue;
    }
    const asked = options.now();
    const activated = await ledger.activateShelfDevice(
      d.deviceCode,
      {
        source: source.name,
        observedAt: platform.statusTimeMs ?? asked,
        details: {
          status: platform.status,
          ...(platform.statusTimeMs === undefined ? {} : { statusTime: new Date(platform.statusTimeMs).toISOString() }),
          askedAt: new Date(asked).toISOString(),
        },
      },
      actor,
    );
    note({ ...base, after: activated.status, platform });
  }
  return entries;
}
