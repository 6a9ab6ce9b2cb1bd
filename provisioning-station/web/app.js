// The station web UI shell: language, hash routing between pages (Alt+1…5), the status line, a JSON API helper.
import { instruction, pickLang, renderMessage, translator } from "/i18n.js";
import { PAGES } from "/pages.js";

const state = { lang: pickLang(location.search, localStorage), t: translator("zh-CN"), page: null };
state.t = translator(state.lang);

/** `h("td", { class: "x" }, "text", child)`: elements built with textContent only (no HTML strings). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) if (c !== undefined && c !== null) el.append(c instanceof Node ? c : String(c));
  return el;
}

export function table(headers, rows) {
  return h(
    "table",
    {},
    h(
      "tr",
      {},
      headers.map((x) => h("th", {}, x)),
    ),
    rows.map((r) =>
      h(
        "tr",
        {},
        r.map((c) => h("td", {}, c)),
      ),
    ),
  );
}

export function status(text, isError = false) {
  const el = document.getElementById("status");
  el.textContent = text;
  el.className = isError ? "error" : "";
}

/** `code — instruction (message)` for an error body. */
export function errorLine(error) {
  return `${error.code} — ${instruction(state.lang, error.code)}${error.message ? ` (${error.message})` : ""}`;
}

export async function api(method, path, body, headers = {}) {
  const init = { method, headers: { ...headers } };
  if (body instanceof Blob || body instanceof ArrayBuffer) {
    init.body = body;
    init.headers["content-type"] = "application/octet-stream";
  } else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["content-type"] = "application/json";
  }
  const res = await fetch(path, init);
  const json = await res
    .json()
    .catch(() => ({ ok: false, error: { code: "internal.unexpected", message: res.statusText } }));
  if (!res.ok && json.ok !== false) json.ok = false;
  return json;
}

export const ui = {
  state,
  h,
  table,
  status,
  errorLine,
  api,
  instruction: (code) => instruction(state.lang, code),
  /** A server answer's text (`messageKey` + `params`) in the page's language. */
  message: (answer) => renderMessage(state.lang, answer),
};

function applyStaticText() {
  document.documentElement.lang = state.lang;
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = state.t(el.dataset.i18n);
  document.getElementById("lang").textContent = state.t("lang.switch");
}

async function show() {
  const name = (location.hash.slice(1) || "burn").split("?")[0];
  const page = PAGES[name] ?? PAGES.burn;
  state.page?.leave?.();
  for (const a of document.querySelectorAll("#nav a")) a.classList.toggle("active", a.dataset.page === name);
  const main = document.getElementById("page");
  main.replaceChildren();
  state.page = page;
  await page.enter(main, ui);
}

document.getElementById("lang").addEventListener("click", () => {
  state.lang = state.lang === "zh-CN" ? "en" : "zh-CN";
  localStorage.setItem("triadkit.lang", state.lang);
  state.t = translator(state.lang);
  applyStaticText();
  void show();
});
window.addEventListener("hashchange", () => void show());
// Alt+<key> activates the control marked data-key="<key>" (pages: Alt+1…5, language: Alt+L, actions: on each button).
window.addEventListener("keydown", (ev) => {
  if (!ev.altKey || ev.ctrlKey || ev.metaKey) return;
  const el = document.querySelector(`[data-key="${CSS.escape(ev.key.toLowerCase())}"]`);
  if (el === null) return;
  ev.preventDefault();
  if (el instanceof HTMLInputElement && el.type !== "file") el.focus();
  else el.click();
});
applyStaticText();
api("GET", "/api/state").then((s) => {
  if (s.ok)
    document.getElementById("station").textContent = `${state.t("station.label")} ${s.stationId} · ${s.operator}`;
});
void show();
