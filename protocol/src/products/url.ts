/**
 * Product links (链接) of a product recommendation table: which URLs a shelf may show, and the recognition and
 * normalisation of Tmall and Taobao item links.
 *
 * Allowed: an absolute `https:` URL to a DNS host name (at least two labels, the last not numeric) on the default
 * port, without user name or password, at most {@link MAX_PRODUCT_URL_CHARS} characters once normalised. Refused
 * (`products.bad_url`, context `reason`): anything else, notably `http:` (a shelf must not load a page an on-path
 * attacker can rewrite), `javascript:` and `data:` (script or content in the link itself), credentials in the URL
 * (they would be shown and logged), non-default ports and IP-address hosts (not a public shop page).
 *
 * Recognised item links, reduced to one canonical form with the item id (`itemId`) and, when present and numeric,
 * the SKU (`skuId`); every other query parameter (spm, scm, ali_trackid, …) and the fragment are dropped:
 *
 * | link                                                                  | kind     | canonical                                   |
 * |-----------------------------------------------------------------------|----------|---------------------------------------------|
 * | `https://detail.tmall.com/item.htm?id=<digits>`                       | `tmall`  | `https://detail.tmall.com/item.htm?id=<id>` |
 * | `https://detail.m.tmall.com/item.htm?id=…`, `chaoshi.detail.tmall.com` | `tmall`  | same                                        |
 * | `https://item.taobao.com/item.htm?id=<digits>`                        | `taobao` | `https://item.taobao.com/item.htm?id=<id>`  |
 * | `https://h5.m.taobao.com/awp/core/detail.htm?id=…`                    | `taobao` | same                                        |
 * | `https://world.taobao.com/item/<digits>.htm`                          | `taobao` | same                                        |
 *
 * A recognised item page without exactly one numeric `id` is refused (a broken item link, not merely "other").
 * Any other https URL (a shop home page, a short link such as `m.tb.cn`, a brand site) is allowed with kind
 * `other` and kept as the URL parser normalises it. Pure: uses only the WHATWG `URL` class every runtime has.
 */

import { fail } from "../errors.js";

/** The longest normalised link accepted. */
export const MAX_PRODUCT_URL_CHARS = 1024;
/** Input longer than this is refused before parsing. */
const MAX_INPUT_CHARS = 4096;

export type ProductLinkKind = "tmall" | "taobao" | "other";

/** Why a link was refused: `context.reason` of `products.bad_url`. */
export type ProductUrlProblem =
  | "empty"
  | "not_a_url"
  | "whitespace"
  | "not_https"
  | "credentials"
  | "port"
  | "ip_host"
  | "bad_host"
  | "too_long"
  | "no_item_id"
  | "bad_item_id"
  | "ambiguous_item_id";

export interface ProductLink {
  /** The normalised URL (canonical for Tmall/Taobao item links). */
  readonly url: string;
  readonly kind: ProductLinkKind;
  /** Tmall/Taobao item id (decimal digits), for kinds `tmall` and `taobao`. */
  readonly itemId?: string;
  /** The item's SKU (decimal digits), when the link named one. */
  readonly skuId?: string;
}

type ItemPage = { readonly kind: "tmall" | "taobao"; readonly paths: readonly string[] };

/** Item pages by host: the path must match exactly (the id is in the `id` query parameter). */
const ITEM_PAGES: Readonly<Record<string, ItemPage>> = {
  "detail.tmall.com": { kind: "tmall", paths: ["/item.htm"] },
  "detail.m.tmall.com": { kind: "tmall", paths: ["/item.htm"] },
  "chaoshi.detail.tmall.com": { kind: "tmall", paths: ["/item.htm"] },
  "item.taobao.com": { kind: "taobao", paths: ["/item.htm"] },
  "h5.m.taobao.com": { kind: "taobao", paths: ["/awp/core/detail.htm"] },
};

/** `world.taobao.com/item/<id>.htm`: the id is in the path. */
const WORLD_TAOBAO = /^\/item\/(\d+)\.htm$/;

const CANONICAL: Readonly<Record<"tmall" | "taobao", string>> = {
  tmall: "https://detail.tmall.com/item.htm",
  taobao: "https://item.taobao.com/item.htm",
};

/** Item ids: no leading zero, 5–20 digits (today's ids have 11–12). */
const ITEM_ID = /^[1-9]\d{4,19}$/;
const SKU_ID = /^\d{1,20}$/;
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** C0, DEL, C1 controls and any whitespace (a pasted link with a line break or space inside is suspect). */
const WHITESPACE_OR_CONTROL = /[\s\u0000-\u001f\u007f-\u009f\u200b\u2028\u2029\ufeff]/;

function bad(reason: ProductUrlProblem, message: string): never {
  return fail("products.bad_url", message, { reason });
}

function checkHost(hostname: string): void {
  if (hostname.startsWith("[") || /^\d{1,3}(?:\.\d{1,3}){3}$/.test(hostname)) {
    bad("ip_host", "the link's host is an IP address; use the shop's host name");
  }
  const labels = hostname.split(".");
  if (
    hostname.length > 253 ||
    labels.length < 2 ||
    !labels.every((l) => LABEL.test(l)) ||
    /^\d+$/.test(labels[labels.length - 1] as string)
  ) {
    bad("bad_host", "the link's host is not a public host name (like detail.tmall.com)");
  }
}

function itemIdFrom(values: readonly string[]): string {
  const distinct = [...new Set(values)];
  if (distinct.length === 0) bad("no_item_id", "a Tmall/Taobao item link needs its id=<digits> parameter");
  if (distinct.length > 1) bad("ambiguous_item_id", "the item link has several different id parameters");
  const id = distinct[0] as string;
  if (!ITEM_ID.test(id)) bad("bad_item_id", "the item link's id is not a number of 5–20 digits");
  return id;
}

function itemLink(kind: "tmall" | "taobao", itemId: string, params: URLSearchParams): ProductLink {
  const sku = params.getAll("skuId").filter((s) => SKU_ID.test(s));
  const skuId = sku.length === 1 || (sku.length > 1 && sku.every((s) => s === sku[0])) ? sku[0] : undefined;
  const url = `${CANONICAL[kind]}?id=${itemId}${skuId === undefined ? "" : `&skuId=${skuId}`}`;
  return skuId === undefined ? { url, kind, itemId } : { url, kind, itemId, skuId };
}

/**
 * Validates and normalises one product link. Surrounding whitespace is trimmed; anything refused throws
 * `products.bad_url` whose context `reason` is a {@link ProductUrlProblem}. Messages never repeat the URL (it may
 * carry credentials).
 */
export function parseProductUrl(input: unknown): ProductLink {
  if (typeof input !== "string") return bad("not_a_url", "the link must be text");
  const raw = input.trim();
  if (raw === "") bad("empty", "the link is empty");
  if (raw.length > MAX_INPUT_CHARS) bad("too_long", `the link is longer than ${MAX_PRODUCT_URL_CHARS} characters`);
  if (WHITESPACE_OR_CONTROL.test(raw))
    bad("whitespace", "the link has spaces, line breaks or control characters inside");
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(raw)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    bad("not_a_url", "the link is not an absolute URL: it must start with https://");
  }
  if (scheme !== "https") {
    const hint = scheme === "http" ? ": use https://" : "";
    bad("not_https", `the link's scheme is ${scheme}:, only https: is allowed${hint}`);
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return bad("not_a_url", "the link is not a valid URL");
  }
  if (url.username !== "" || url.password !== "") {
    bad("credentials", "the link carries a user name or password; remove them");
  }
  if (url.port !== "") bad("port", "the link names a port; only the default https port is allowed");
  checkHost(url.hostname);
  const page = ITEM_PAGES[url.hostname];
  if (page?.paths.includes(url.pathname)) {
    return itemLink(page.kind, itemIdFrom(url.searchParams.getAll("id")), url.searchParams);
  }
  if (url.hostname === "world.taobao.com") {
    const m = WORLD_TAOBAO.exec(url.pathname);
    if (m !== null) return itemLink("taobao", itemIdFrom([m[1] as string]), url.searchParams);
  }
  if (url.href.length > MAX_PRODUCT_URL_CHARS) {
    bad("too_long", `the link is longer than ${MAX_PRODUCT_URL_CHARS} characters`);
  }
  return { url: url.href, kind: "other" };
}
