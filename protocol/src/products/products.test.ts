import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isTriadkitError } from "../errors.js";
import { expectTriadkitError } from "../testing.js";
import { utf8 } from "../util/bytes.js";
import {
  createProductTable,
  decodeProductTable,
  encodeProductTable,
  errorCodeOfMessage,
  MAX_PRODUCT_ITEMS,
  MAX_PRODUCT_TABLE_BYTES,
  type ProductTable,
  parseProductItem,
  parseProductName,
  parseProductPushResult,
  parseProductScope,
  parseProductTable,
  parseProductUrl,
  productPushOutcome,
  productTableHash,
  productTableHashInput,
  productTableToWire,
} from "./index.js";

const TMALL = "https://detail.tmall.com/item.htm?id=540212526343";

function refused(url: unknown, reason: string) {
  const err = expectTriadkitError(() => parseProductUrl(url), "products.bad_url");
  expect(err.context).toEqual({ reason });
  return err;
}

describe("parseProductUrl", () => {
  it("recognises Tmall item links in their desktop, mobile and supermarket forms", () => {
    for (const url of [
      TMALL,
      "https://detail.tmall.com/item.htm?spm=a220o.1000855.0.0.5c9d1d3e&id=540212526343&skuId=&ali_refid=x#detail",
      "https://detail.m.tmall.com/item.htm?id=540212526343",
      "https://chaoshi.detail.tmall.com/item.htm?id=540212526343&scm=1.2",
      "  HTTPS://Detail.Tmall.COM/item.htm?id=540212526343  ",
      "https://detail.tmall.com:443/item.htm?id=540212526343",
      "https://detail.tmall.com/item.htm?id=540212526343&id=540212526343",
    ]) {
      expect(parseProductUrl(url)).toEqual({ url: TMALL, kind: "tmall", itemId: "540212526343" });
    }
  });

  it("recognises Taobao item links (item.taobao.com, h5.m.taobao.com, world.taobao.com)", () => {
    const canonical = { url: "https://item.taobao.com/item.htm?id=16016943437", kind: "taobao", itemId: "16016943437" };
    for (const url of [
      "https://item.taobao.com/item.htm?spm=a2106.m872.1000384.d13.jH3ETc&id=16016943437&scm=1029.newlist-0.1.1101",
      "https://h5.m.taobao.com/awp/core/detail.htm?id=16016943437&ft=t",
      "https://world.taobao.com/item/16016943437.htm?spm=a21wu",
    ]) {
      expect(parseProductUrl(url)).toEqual(canonical);
    }
  });

  it("keeps a numeric skuId and drops every other parameter", () => {
    expect(
      parseProductUrl("https://detail.tmall.com/item.htm?skuId=4611686018427387904&id=540212526343&spm=x"),
    ).toEqual({
      url: "https://detail.tmall.com/item.htm?id=540212526343&skuId=4611686018427387904",
      kind: "tmall",
      itemId: "540212526343",
      skuId: "4611686018427387904",
    });
    expect(parseProductUrl("https://item.taobao.com/item.htm?id=16016943437&skuId=abc").url).toBe(
      "https://item.taobao.com/item.htm?id=16016943437",
    );
  });

  it("refuses a Tmall/Taobao item page without exactly one numeric id", () => {
    refused("https://detail.tmall.com/item.htm?spm=1", "no_item_id");
    refused("https://detail.tmall.com/item.htm?id=", "bad_item_id");
    refused("https://item.taobao.com/item.htm?id=12a45678", "bad_item_id");
    refused("https://item.taobao.com/item.htm?id=0123456", "bad_item_id");
    refused("https://detail.tmall.com/item.htm?id=540212526343&id=540212526344", "ambiguous_item_id");
  });

  it("allows other https links, flagged other, normalised by the URL parser", () => {
    expect(parseProductUrl("https://brand.tmall.com/")).toEqual({ url: "https://brand.tmall.com/", kind: "other" });
    expect(parseProductUrl("https://m.tb.cn/h.5abcdE")).toEqual({ url: "https://m.tb.cn/h.5abcdE", kind: "other" });
    expect(parseProductUrl("https://Example.COM/a b".replace(" ", "%20"))).toEqual({
      url: "https://example.com/a%20b",
      kind: "other",
    });
    expect(parseProductUrl("https://detail.tmall.com/other.htm?id=1")).toEqual({
      url: "https://detail.tmall.com/other.htm?id=1",
      kind: "other",
    });
    expect(parseProductUrl("https://品牌.cn/商品").kind).toBe("other");
  });

  it("refuses http, javascript:, data: and other schemes", () => {
    const err = refused("http://detail.tmall.com/item.htm?id=540212526343", "not_https");
    expect(err.message).toContain("use https://");
    refused("javascript:alert(1)", "not_https");
    refused("JavaScript:alert(document.cookie)", "not_https");
    refused("data:text/html,<script>alert(1)</script>", "not_https");
    refused("ftp://example.com/x", "not_https");
    refused("file:///etc/passwd", "not_https");
  });

  it("refuses credentials, ports, IP hosts, bad hosts and non-URLs, never echoing the URL", () => {
    const err = refused("https://alice:s3cr3t@detail.tmall.com/item.htm?id=540212526343", "credentials");
    expect(err.message).not.toContain("s3cr3t");
    expect(JSON.stringify(err)).not.toContain("s3cr3t");
    refused("https://user@example.com/", "credentials");
    refused("https://example.com:8443/", "port");
    refused("https://127.0.0.1/", "ip_host");
    refused("https://0x7f.1/", "ip_host");
    refused("https://[::1]/", "ip_host");
    refused("https://localhost/", "bad_host");
    refused("https://example.com./", "bad_host");
    refused("https://a_b.example.com/", "bad_host");
    refused("detail.tmall.com/item.htm?id=540212526343", "not_a_url");
    refused("//detail.tmall.com/item.htm?id=540212526343", "not_a_url");
    refused("https://", "not_a_url");
    refused("", "empty");
    refused("   ", "empty");
    refused(42, "not_a_url");
    refused("https://exa mple.com/", "whitespace");
    refused("https://example.com/\nx", "whitespace");
    refused(`https://example.com/${"a".repeat(1100)}`, "too_long");
  });

  it("never throws anything but products.bad_url, whatever the input", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.webUrl({ withQueryParameters: true, withFragments: true })), (s) => {
        try {
          const link = parseProductUrl(s);
          expect(link.url.startsWith("https://")).toBe(true);
          expect(parseProductUrl(link.url)).toEqual(link); // normalisation is idempotent
        } catch (err) {
          expect(isTriadkitError(err, "products.bad_url")).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe("product names and items", () => {
  it("trims and NFC-normalises names; refuses empty, long and control characters", () => {
    expect(parseProductName("  保温杯 500ml\u3000")).toBe("保温杯 500ml");
    expect(parseProductName("Cafe\u0301")).toBe("Café");
    expect(parseProductName("字".repeat(100))).toHaveLength(100);
    for (const bad of ["", "  ", "a\nb", "a\tb", "x\u202ey", "\u0000", "字".repeat(101), "\ud800x", 7]) {
      const err = expectTriadkitError(() => parseProductName(bad), "products.bad_item");
      expect(err.context).toMatchObject({ field: "name" });
    }
  });

  it("validates an item's name and link", () => {
    expect(parseProductItem({ name: " 杯子 ", url: TMALL })).toEqual({
      name: "杯子",
      url: TMALL,
      kind: "tmall",
      itemId: "540212526343",
    });
    expectTriadkitError(() => parseProductItem(null), "products.bad_item");
    expectTriadkitError(() => parseProductItem({ name: "x", url: "http://a.com/" }), "products.bad_url");
  });

  it("validates scopes", () => {
    expect(parseProductScope({ type: "store", id: "184454101" })).toEqual({ type: "store", id: "184454101" });
    expect(parseProductScope({ type: "brand", id: " 友鱼 " })).toEqual({ type: "brand", id: "友鱼" });
    for (const bad of [
      { type: "store", id: "0184" },
      { type: "store", id: 184454101 },
      { type: "store", id: "1".repeat(20) },
      { type: "brand", id: "" },
      { type: "shop", id: "x" },
      null,
    ]) {
      expectTriadkitError(() => parseProductScope(bad), "products.bad_table");
    }
  });
});

describe("product tables", () => {
  const scope = { type: "store", id: "184454101" } as const;
  const rows = [
    { name: "保温杯", url: "https://detail.tmall.com/item.htm?id=540212526343&spm=x" },
    { name: "茶叶", url: "https://brand.example.com/tea" },
  ];

  it("builds a table with a content hash over the normalised items (not the version)", () => {
    const table = createProductTable({ version: 3, scope, items: rows });
    expect(table.items.map((i) => i.kind)).toEqual(["tmall", "other"]);
    expect(productTableHashInput(scope, table.items)).toBe(
      '{"format":1,"scope":{"type":"store","id":"184454101"},"items":[{"name":"保温杯","url":"https://detail.tmall.com/item.htm?id=540212526343"},{"name":"茶叶","url":"https://brand.example.com/tea"}]}',
    );
    expect(table.hash).toBe(productTableHash(scope, table.items));
    expect(createProductTable({ version: 4, scope, items: rows }).hash).toBe(table.hash);
    expect(createProductTable({ version: 3, scope: { type: "brand", id: "友鱼" }, items: rows }).hash).not.toBe(
      table.hash,
    );
  });

  it("round-trips through the wire form and through bytes", () => {
    const table = createProductTable({ version: 9, scope, items: rows });
    expect(parseProductTable(productTableToWire(table))).toEqual(table);
    expect(decodeProductTable(encodeProductTable(table))).toEqual(table);
    expect(JSON.parse(new TextDecoder().decode(encodeProductTable(table)))).toEqual(productTableToWire(table));
  });

  it("names the failing row", () => {
    const err = expectTriadkitError(
      () => createProductTable({ version: 1, scope, items: [...rows, { name: "x", url: "javascript:alert(1)" }] }),
      "products.bad_url",
    );
    expect(err.context).toEqual({ reason: "not_https", index: 2 });
    expect(err.message).toMatch(/^item 3: /);
  });

  it("refuses too many items and too many bytes", () => {
    const many = Array.from({ length: MAX_PRODUCT_ITEMS + 1 }, (_, i) => ({ name: `n${i}`, url: TMALL }));
    expectTriadkitError(() => createProductTable({ version: 1, scope, items: many }), "products.too_many");
    expect(createProductTable({ version: 1, scope, items: many.slice(1) }).items).toHaveLength(MAX_PRODUCT_ITEMS);
    const big = Array.from({ length: 100 }, (_, i) => ({
      name: "字".repeat(100),
      url: `https://example.com/${i}/${"p".repeat(900)}`,
    }));
    const err = expectTriadkitError(() => createProductTable({ version: 1, scope, items: big }), "products.too_many");
    expect(err.context).toMatchObject({ limit: MAX_PRODUCT_TABLE_BYTES });
  });

  it("refuses a wire table whose hash, version, format or items are wrong", () => {
    const wire = productTableToWire(createProductTable({ version: 2, scope, items: rows }));
    const variants: [unknown, string][] = [
      [{ ...wire, hash: "0".repeat(64) }, "products.bad_table"],
      [{ ...wire, items: [...wire.items].reverse() }, "products.bad_table"],
      [{ ...wire, version: 0 }, "products.bad_table"],
      [{ ...wire, version: 1.5 }, "products.bad_table"],
      [{ ...wire, format: 2 }, "products.bad_table"],
      [{ ...wire, items: [] }, "products.bad_table"],
      [{ ...wire, items: "x" }, "products.bad_table"],
      [{ ...wire, scope: { type: "store", id: "x" } }, "products.bad_table"],
      [{ ...wire, items: [{ name: "a", url: "http://x.com/" }] }, "products.bad_url"],
      [{ ...wire, items: [{ name: "", url: TMALL }] }, "products.bad_item"],
      [[], "products.bad_table"],
    ];
    for (const [input, code] of variants) expectTriadkitError(() => parseProductTable(input), code as never);
    expectTriadkitError(() => decodeProductTable(utf8("{")), "products.bad_table");
    expectTriadkitError(() => decodeProductTable(new Uint8Array([0xff])), "products.bad_table");
  });

  it("decodes any bytes to a table or a products.* error", () => {
    const table: ProductTable = createProductTable({ version: 2, scope, items: rows });
    const good = encodeProductTable(table);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: good.length - 1 }), fc.integer({ min: 0, max: 255 }), (at, byte) => {
        const bytes = good.slice();
        bytes[at] = byte;
        try {
          decodeProductTable(bytes);
        } catch (err) {
          expect(isTriadkitError(err) && err.code.startsWith("products.")).toBe(true);
        }
      }),
    );
  });
});

describe("push replies", () => {
  it("reads acks and refusals", () => {
    const hash = "a".repeat(64);
    expect(productPushOutcome({ id: "1", code: 200, data: { version: 4, hash, applied: true } })).toEqual({
      status: "acked",
      version: 4,
      hash,
      applied: true,
    });
    expect(
      productPushOutcome({ id: "1", code: 460, data: {}, message: "item 2: the link … (products.bad_url)" }),
    ).toEqual({
      status: "refused",
      replyCode: 460,
      code: "products.bad_url",
      message: "item 2: the link … (products.bad_url)",
    });
    expect(productPushOutcome({ id: "1", code: 400, data: {}, message: "device handler failed" })).toEqual({
      status: "refused",
      replyCode: 400,
      message: "device handler failed",
    });
    expectTriadkitError(() => productPushOutcome({ id: "1", code: 200, data: {} }), "alink.bad_payload");
    expect(errorCodeOfMessage("x (nope.code)")).toBeUndefined();
    const result = { productKey: "pk", deviceName: "dn", pushed: 3, status: "acked", version: 3, hash, atMs: 1 };
    expect(parseProductPushResult({ ...result, extra: 1 })).toEqual(result);
    for (const bad of [null, { ...result, status: "maybe" }, { ...result, version: 1.5 }, { ...result, atMs: "1" }]) {
      expectTriadkitError(() => parseProductPushResult(bad), "alink.bad_payload");
    }
  });
});
