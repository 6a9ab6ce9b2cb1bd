import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ERROR_CODES } from "@triadkit/protocol";
import { describe, expect, it } from "vitest";
import { placeholders, WEB_MESSAGES, type WebMessageKey, webMessage } from "./messages.js";
import { DEFAULT_WEB_ROOT } from "./server.js";

// The browser's own module (plain JS served as a file), loaded as the page loads it.
const i18n = await import(pathToFileURL(join(DEFAULT_WEB_ROOT, "i18n.js")).href);
const DICT = i18n.DICT as Record<string, Record<string, string>>;

describe("web UI dictionaries", () => {
  it("zh-CN and en have the same keys, none empty", () => {
    const zh = Object.keys(DICT["zh-CN"] ?? {}).sort();
    expect(zh.length).toBeGreaterThan(80);
    expect(Object.keys(DICT["en"] ?? {}).sort()).toEqual(zh);
    for (const lang of ["zh-CN", "en"]) for (const v of Object.values(DICT[lang] ?? {})) expect(v.trim()).not.toBe("");
  });

  it("instructions are keyed by real error codes; framing.* shares factory.bad_message's; unknown codes get a fallback", () => {
    const codes = new Set<string>(ERROR_CODES);
    for (const key of Object.keys(DICT["en"] ?? {}).filter((k) => k.startsWith("err."))) {
      expect(codes.has(key.slice(4)), key).toBe(true);
    }
    expect(i18n.instruction("en", "framing.crc_mismatch")).toBe(DICT["en"]?.["err.factory.bad_message"]);
    expect(i18n.instruction("zh-CN", "factory.timeout")).toContain("重新放好板子");
    expect(i18n.instruction("en", "keys.wrong_key")).toBe(DICT["en"]?.["error.unknown"]);
  });

  it("picks ?lang= first, then the saved choice, else Chinese", () => {
    const saved = (v: string | null) => ({ getItem: () => v });
    expect(i18n.pickLang("", saved(null))).toBe("zh-CN");
    expect(i18n.pickLang("", saved("en"))).toBe("en");
    expect(i18n.pickLang("?lang=zh-CN", saved("en"))).toBe("zh-CN");
    expect(i18n.pickLang("?lang=fr", saved("xx"))).toBe("zh-CN");
    expect(i18n.translator("en")("pool.upload")).toBe("Upload a triad sheet");
  });
});

describe("server messages in the page's language", () => {
  const keys = Object.keys(WEB_MESSAGES) as WebMessageKey[];

  it("every message key the server can emit is in both dictionaries, with the server template's placeholders", () => {
    expect(keys.length).toBeGreaterThan(15);
    for (const lang of ["zh-CN", "en"]) {
      for (const key of keys) {
        const text = DICT[lang]?.[`msg.${key}`];
        expect(text, `${lang} msg.${key}`).toBeTypeOf("string");
        expect(placeholders(text as string), `${lang} msg.${key}`).toEqual(placeholders(WEB_MESSAGES[key]));
      }
      // No stale entry: every msg.* key in a dictionary is one the server emits.
      const msgKeys = Object.keys(DICT[lang] ?? {}).filter((k) => k.startsWith("msg."));
      expect(msgKeys.map((k) => k.slice(4)).sort(), lang).toEqual([...keys].sort());
    }
  });

  it("renders an answer from its key and params, translating states and statuses; falls back to the message", () => {
    const scan = webMessage("scan.imei", {
      imei: "869012345678903",
      chipId: "c0ffee",
      identity: "a1B/d1",
      state: "verified",
    });
    expect(i18n.renderMessage("zh-CN", scan)).toBe("IMEI 869012345678903：芯片 c0ffee，a1B/d1（已校验）");
    expect(i18n.renderMessage("en", scan)).toBe(scan.message);
    const shelf = webMessage("scan.shelf", { deviceCode: "8F6A", storeId: 18, status: "pending_activation" });
    expect(i18n.renderMessage("zh-CN", shelf)).toBe("8F6A：门店 18，待激活");
    expect(i18n.renderMessage("zh-CN", webMessage("audit.ok", { entries: 3, checkpoints: 1, headSeq: null }))).toBe(
      "审计链完好：3 条记录，1 个检查点，head 计数 ?",
    );
    // An answer from a newer server (a key the page does not know) or a plain one shows the English message.
    expect(i18n.renderMessage("zh-CN", { messageKey: "scan.future", params: {}, message: "as is" })).toBe("as is");
    expect(i18n.renderMessage("zh-CN", { message: "plain" })).toBe("plain");
  });

  it("the English dictionary says what the server's English message says", () => {
    const params = (key: WebMessageKey) =>
      Object.fromEntries(placeholders(WEB_MESSAGES[key]).map((p, i) => [p, `v${i}`]));
    for (const key of keys) {
      const m = webMessage(key, params(key));
      expect(i18n.renderMessage("en", m), key).toBe(m.message);
    }
  });
});
