// The pages. Each is { enter(main, ui), leave?() }; `ui` carries h/table/api/status/t (see app.js).

function orderSelect(ui, orders, id, extra) {
  const { h } = ui;
  return h(
    "select",
    { id },
    extra ?? null,
    orders.map((o) => h("option", { value: o.id }, `${o.id} · ${o.model}`)),
  );
}

function tileView(ui, tile) {
  const { h, state } = ui;
  const t = state.t;
  const lines = [];
  if (tile.state === "fail" && tile.code) {
    lines.push(h("div", { class: "line code" }, tile.code));
    lines.push(h("div", { class: "line" }, ui.instruction(tile.code)));
  } else if (tile.state === "pass") {
    lines.push(h("div", { class: "line" }, tile.triad?.identity ?? ""));
    lines.push(h("div", { class: "line" }, t("tile.passHint")));
  } else if (tile.state === "idle") {
    lines.push(h("div", { class: "line" }, t("tile.idleHint")));
  }
  if (tile.chipId) lines.push(h("div", { class: "line" }, `${t("pool.chip")} ${tile.chipId}`));
  return h(
    "section",
    { class: `tile ${tile.state}`, "data-fixture": tile.fixture, "data-state": tile.state, "aria-live": "polite" },
    h("div", { class: "name" }, tile.fixture),
    h("div", { class: "state" }, t(`tile.${tile.state}`)),
    lines,
  );
}

const burn = {
  enter: async (main, ui) => {
    const { h, api, state } = ui;
    const t = state.t;
    const s = await api("GET", "/api/state");
    const tiles = new Map((s.tiles ?? []).map((x) => [x.fixture, x]));
    let counters = s.counters;
    const grid = h("div", { class: "tiles", id: "tiles" });
    const countersEl = h("div", { class: "counters", id: "counters" });
    const runEl = h("div", { id: "run" });
    const answer = h("div", { id: "scan-answer", class: "answer" }, t("burn.scanHint"));
    const scan = h("input", {
      id: "scan",
      autocomplete: "off",
      "aria-label": t("burn.scan"),
      placeholder: t("burn.scan"),
    });
    const select = orderSelect(ui, s.workOrders ?? [], "work-order");
    const render = () => {
      grid.replaceChildren(...[...tiles.values()].map((x) => tileView(ui, x)));
      const y =
        counters?.yield === null || counters?.yield === undefined ? "—" : `${(counters.yield * 100).toFixed(1)}%`;
      countersEl.replaceChildren(
        h("span", {}, `${t("counters.passed")} `, h("b", { id: "passed" }, counters?.passed ?? 0)),
        h("span", {}, `${t("counters.failed")} `, h("b", { id: "failed" }, counters?.failed ?? 0)),
        h("span", {}, `${t("counters.perHour")} `, h("b", {}, counters?.perHour ?? 0)),
        h("span", {}, `${t("counters.yield")} `, h("b", {}, y)),
      );
    };
    const setRun = (id) => {
      runEl.textContent = id ? `${t("burn.running")} ${id}` : t("burn.stopped");
      if (id) select.value = id;
    };
    const start = h(
      "button",
      { class: "primary", id: "start", "data-key": "s", type: "button" },
      `${t("burn.start")} (Alt+S)`,
    );
    const stop = h("button", { id: "stop", "data-key": "x", type: "button" }, `${t("burn.stop")} (Alt+X)`);
    start.addEventListener("click", async () => {
      const r = await api("POST", "/api/burn/start", { workOrder: select.value });
      if (r.ok) ui.status(ui.message(r));
      else ui.status(ui.errorLine(r.error), true);
      scan.focus();
    });
    stop.addEventListener("click", async () => {
      const r = await api("POST", "/api/burn/stop");
      if (r.ok) ui.status(ui.message(r));
      scan.focus();
    });
    scan.addEventListener("keydown", async (ev) => {
      if (ev.key !== "Enter") return;
      const text = scan.value;
      scan.value = "";
      if (text.trim() === "") return;
      const r = await api("POST", "/api/scan", { text });
      const a = r.answer;
      if (a === undefined) {
        answer.className = "answer fail";
        answer.textContent = ui.errorLine(r.error);
      } else {
        answer.className = `answer ${a.ok ? "ok" : "fail"}`;
        const kind = `[${t(`scan.kind.${a.kind}`)}]`;
        answer.textContent = a.ok
          ? `${kind} ${ui.message(a)}`
          : `${kind} ${ui.errorLine({ code: a.code, message: ui.message(a) })}`;
      }
    });
    main.append(
      h("div", { class: "row" }, h("label", { for: "work-order" }, t("burn.workOrder")), select, start, stop, runEl),
      h("div", { class: "row" }, scan),
      answer,
      countersEl,
      grid,
    );
    setRun(s.workOrderId);
    render();
    // The scan field keeps the focus unless the operator moved it to another control.
    const refocus = (ev) => {
      if (ev.relatedTarget === null) setTimeout(() => document.activeElement === document.body && scan.focus(), 0);
    };
    scan.addEventListener("blur", refocus);
    scan.focus();
    const events = new EventSource("/api/events");
    events.addEventListener("snapshot", (ev) => {
      const d = JSON.parse(ev.data);
      tiles.clear();
      for (const x of d.tiles) tiles.set(x.fixture, x);
      counters = d.counters;
      setRun(d.workOrderId);
      render();
    });
    events.addEventListener("tile", (ev) => {
      const { tile } = JSON.parse(ev.data);
      tiles.set(tile.fixture, tile);
      render();
    });
    events.addEventListener("counters", (ev) => {
      counters = JSON.parse(ev.data).counters;
      render();
    });
    events.addEventListener("run", (ev) => setRun(JSON.parse(ev.data).workOrderId));
    events.addEventListener("alert", (ev) => ui.status(ui.errorLine(JSON.parse(ev.data)), true));
    burn.leave = () => events.close();
  },
};

function decisionButtons(ui, triad, reload) {
  const { h, api, state } = ui;
  const t = state.t;
  const reason = h("input", {
    "aria-label": t("pool.decisionReason"),
    placeholder: t("pool.decisionReason"),
    size: 18,
  });
  const act = (what) => async () => {
    const r = await api("POST", `/api/triads/${encodeURIComponent(triad.id)}/${what}`, { reason: reason.value });
    if (r.ok) {
      ui.status(ui.message(r));
      await reload();
    } else ui.status(ui.errorLine(r.error), true);
  };
  return h(
    "span",
    {},
    reason,
    h("button", { type: "button", onclick: act("release") }, t("pool.release")),
    h("button", { type: "button", onclick: act("void") }, t("pool.void")),
  );
}

const pool = {
  enter: async (main, ui) => {
    const { h, api, state, table } = ui;
    const t = state.t;
    const states = ["available", "reserved", "written", "verified", "registered", "quarantined", "void"];
    const ordersBox = h("div", { id: "orders" });
    const quarantineBox = h("div", { id: "quarantine" });
    const report = h("div", { id: "import-result" });
    // The native file control shows the browser's own words ("Choose File"): it stays in the tab order and to
    // screen readers, visually hidden behind a translated label that shows the chosen file's name.
    const fileName = h("span", { id: "sheet-name", class: "file-name" }, t("pool.noFile"));
    const file = h("input", {
      type: "file",
      id: "sheet",
      class: "visually-hidden",
      accept: ".csv,.xlsx",
      "data-key": "f",
      "aria-describedby": "sheet-name",
    });
    file.addEventListener("change", () => {
      fileName.textContent = file.files?.[0]?.name ?? t("pool.noFile");
    });
    const picker = h("label", { for: "sheet", class: "file-button" }, `${t("pool.chooseFile")} (Alt+F)`);
    const select = h("select", { id: "import-order" });
    const reload = async () => {
      const o = await api("GET", "/api/orders");
      const chosen = select.value;
      select.replaceChildren(...o.orders.map((x) => h("option", { value: x.id }, `${x.id} · ${x.model}`)));
      if (chosen) select.value = chosen;
      ordersBox.replaceChildren(
        table(
          [t("pool.id"), t("pool.product"), t("pool.model"), ...states.map((s) => t(`state.${s}`))],
          o.orders.map((x) => [x.id, x.product, x.model, ...states.map((s) => x.counts?.[s] ?? 0)]),
        ),
      );
      const q = await api("GET", "/api/triads?state=quarantined");
      quarantineBox.replaceChildren(
        q.triads.length === 0
          ? h("p", {}, t("pool.none"))
          : table(
              [t("pool.triad"), t("pool.id"), t("pool.reason"), t("pool.chip"), t("pool.actions")],
              q.triads.map((x) => [
                x.identity,
                x.workOrderId,
                x.reason ?? "",
                x.chipId ?? "",
                decisionButtons(ui, x, reload),
              ]),
            ),
      );
    };
    const upload = h(
      "button",
      { class: "primary", type: "button", id: "upload", "data-key": "u" },
      `${t("pool.uploadButton")} (Alt+U)`,
    );
    upload.addEventListener("click", async () => {
      const f = file.files?.[0];
      if (f === undefined) return;
      const r = await api("POST", "/api/import", await f.arrayBuffer(), {
        "x-file-name": encodeURIComponent(f.name),
        "x-work-order": select.value,
      });
      if (r.ok) {
        report.replaceChildren(h("p", { class: "ok-text" }, ui.message(r)));
      } else if (r.issues) {
        report.replaceChildren(
          h("p", { class: "fail-text" }, `import.rejected — ${ui.message(r)}`),
          table(
            [t("pool.row"), t("pool.column"), t("pool.code"), t("pool.message")],
            r.issues.map((i) => [i.row, i.column, i.code, i.message]),
          ),
        );
      } else {
        report.replaceChildren(h("p", { class: "fail-text" }, ui.errorLine(r.error)));
      }
      await reload();
    });
    const chip = h("input", { id: "rework-chip", placeholder: t("pool.chip"), size: 18 });
    const fixture = h("input", { id: "rework-fixture", placeholder: t("pool.fixture"), size: 6 });
    const reason = h("input", { id: "rework-reason", placeholder: t("pool.decisionReason"), size: 22 });
    const mode = h(
      "select",
      { id: "rework-mode" },
      h("option", { value: "reverify" }, t("pool.reverify")),
      h("option", { value: "revoke" }, t("pool.revoke")),
    );
    const rework = h("button", { type: "button", id: "rework" }, t("pool.reworkButton"));
    const scrap = h("button", { type: "button", id: "scrap" }, t("pool.scrapButton"));
    const print = h("button", { type: "button", id: "print-label" }, t("pool.printLabel"));
    const chipResult = (r) =>
      r.ok
        ? ui.status(ui.message(r))
        : ui.status(
            ui.errorLine(r.error ?? { code: r.outcome?.code ?? "internal.unexpected", message: r.outcome?.message }),
            true,
          );
    rework.addEventListener("click", async () => {
      chipResult(
        await api("POST", "/api/rework", {
          chipId: chip.value,
          fixture: fixture.value,
          mode: mode.value,
          reason: reason.value,
        }),
      );
      await reload();
    });
    print.addEventListener("click", async () => {
      const r = await api("POST", "/api/labels/print", { chipId: chip.value, reason: reason.value });
      if (r.ok) ui.status(ui.message(r));
      else ui.status(ui.errorLine(r.error), true);
    });
    scrap.addEventListener("click", async () => {
      chipResult(await api("POST", "/api/scrap", { chipId: chip.value, reason: reason.value }));
      await reload();
    });
    main.append(
      h("h2", {}, t("pool.orders")),
      ordersBox,
      h("h2", {}, t("pool.upload")),
      h("div", { class: "row" }, select, h("span", {}, t("pool.file")), file, picker, fileName, upload),
      report,
      h("h2", {}, t("pool.quarantine")),
      quarantineBox,
      h("h2", {}, t("pool.rework")),
      h("div", { class: "row" }, chip, fixture, mode, reason, rework, scrap, print),
    );
    await reload();
    file.focus();
  },
};

const shelf = {
  enter: async (main, ui) => {
    const { h, api, state, table } = ui;
    const t = state.t;
    const r = await api("GET", "/api/shelf");
    const orNone = (el, rows) => (rows.length === 0 ? h("p", {}, t("pool.none")) : el);
    main.append(
      h("h2", {}, t("shelf.stores")),
      orNone(
        table(
          [t("shelf.brand"), t("shelf.store"), t("shelf.storeName")],
          (r.stores ?? []).map((s) => [s.brand, s.storeId, s.storeName ?? ""]),
        ),
        r.stores ?? [],
      ),
      h("h2", {}, t("shelf.devices")),
      orNone(
        table(
          [t("shelf.code"), t("shelf.brand"), t("shelf.store"), t("shelf.status"), t("pool.chip")],
          (r.devices ?? []).map((d) => [d.deviceCode, d.brand, d.storeId, t(`shelf.${d.status}`), d.chipId ?? ""]),
        ),
        r.devices ?? [],
      ),
    );
    main.focus();
  },
};

const exportsPage = {
  enter: async (main, ui) => {
    const { h, api, state, table } = ui;
    const t = state.t;
    const s = await api("GET", "/api/state");
    const list = h("div", { id: "export-files" });
    const kind = h("select", { id: "export-kind" });
    const order = orderSelect(
      ui,
      s.workOrders ?? [],
      "export-order",
      h("option", { value: "" }, t("exports.allOrders")),
    );
    const result = h("div", { id: "export-result" });
    const reload = async () => {
      const r = await api("GET", "/api/exports");
      const chosen = kind.value;
      kind.replaceChildren(...r.kinds.map((k) => h("option", { value: k }, k)));
      if (chosen) kind.value = chosen;
      list.replaceChildren(
        table(
          [t("exports.file"), t("exports.bytes")],
          r.files.map((f) => [
            h("a", { href: `/api/exports/files/${encodeURIComponent(f.name)}`, download: f.name }, f.name),
            f.bytes,
          ]),
        ),
      );
    };
    const button = h(
      "button",
      { class: "primary", type: "button", id: "export", "data-key": "e" },
      `${t("exports.button")} (Alt+E)`,
    );
    button.addEventListener("click", async () => {
      const r = await api("POST", `/api/exports/${kind.value}`, order.value ? { workOrder: order.value } : {});
      if (r.ok) {
        result.replaceChildren(
          h("p", { class: "ok-text" }, ui.message(r), " "),
          h(
            "a",
            { id: "export-download", href: `/api/exports/files/${encodeURIComponent(r.file)}`, download: r.file },
            t("exports.download"),
          ),
        );
        result.querySelector("a").focus();
      } else result.replaceChildren(h("p", { class: "fail-text" }, ui.errorLine(r.error)));
      await reload();
    });
    main.append(
      h("h2", {}, t("exports.make")),
      h("div", { class: "row" }, h("label", { for: "export-kind" }, t("exports.kind")), kind, order, button),
      result,
      h("h2", {}, t("exports.files")),
      list,
    );
    await reload();
    kind.focus();
  },
};

const audit = {
  enter: async (main, ui) => {
    const { h, api, state } = ui;
    const t = state.t;
    const out = h("div", { id: "audit-result" });
    const button = h(
      "button",
      { class: "primary", type: "button", id: "verify", "data-key": "v" },
      `${t("audit.verify")} (Alt+V)`,
    );
    button.addEventListener("click", async () => {
      const r = await api("POST", "/api/audit/verify");
      const v = r.result;
      out.replaceChildren(
        h("p", { class: r.ok ? "ok-text" : "fail-text" }, ui.message(r)),
        ...v.problems.map((p) =>
          h("p", { class: "fail-text" }, `${p.code} seq ${p.seq}: ${p.message} — ${ui.instruction(p.code)}`),
        ),
      );
    });
    main.append(h("div", { class: "row" }, button), out);
    button.focus();
  },
};

export const PAGES = { burn, pool, shelf, exports: exportsPage, audit };
