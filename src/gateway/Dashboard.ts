/**
 * The gateway's live dashboard: one HTML page, served at `/` and `/dashboard`, that reads the
 * gateway's own API with the caller's key and shows the providers' health and circuit breakers,
 * the generations in flight with their progress (each one's server-sent events), recent failures
 * and fallbacks, spend by provider and by day as bar charts, and the catalog with filters.
 *
 * Why no framework: the page must work offline from the gateway alone (no CDN), with no build
 * step in this package, and it is a handful of tables and bars redrawn from JSON every second or
 * two; the DOM's own functions do that in a few hundred lines that a reader can audit, under a
 * content security policy that forbids loading anything from elsewhere.
 *
 * Data is written with `textContent` only (never as HTML): provider names, models and error
 * messages come from upstream. The key is kept in `sessionStorage` (gone when the tab closes) and
 * sent as `Authorization: Bearer`; `EventSource` cannot send that header, so progress streams are
 * read with `fetch` and a stream reader. Every element a test reads has a `data-testid`.
 *
 * @module
 */

const style = `
:root{font:14px/1.4 system-ui,sans-serif;color:#1d232a;background:#f5f6f8}
body{margin:0}header{display:flex;gap:1em;align-items:center;padding:.6em 1.2em;background:#1d232a;color:#fff}
header h1{font-size:1.1em;margin:0}header .grow{flex:1}header button{font:inherit}
main{display:grid;grid-template-columns:repeat(auto-fit,minmax(440px,1fr));gap:1em;padding:1em}
section{background:#fff;border:1px solid #dde1e6;border-radius:6px;padding:.8em 1em;min-width:0}
h2{font-size:1em;margin:0 0 .6em}h3{font-size:.9em;margin:.8em 0 .3em;color:#555}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.25em .4em;border-bottom:1px solid #eef0f2;vertical-align:top}
th{font-weight:600;color:#555}.muted{color:#777}.small{font-size:.85em}
.badge{display:inline-block;padding:0 .5em;border-radius:1em;font-size:.85em;color:#fff;background:#8a939c}
.healthy,.closed,.succeeded{background:#1f8a4c}.degraded,.half-open,.running,.submitting,.delivering,.pending,.routed{background:#c98a00}
.unhealthy,.open,.failed{background:#c0392b}.cancelled{background:#6c757d}
.gen{display:grid;grid-template-columns:1fr auto auto;gap:.2em .8em;align-items:center;padding:.4em 0;border-bottom:1px solid #eef0f2}
.gen progress{grid-column:1/-1;width:100%;height:.8em}
form{max-width:32em;margin:3em auto;background:#fff;padding:1.2em;border:1px solid #dde1e6;border-radius:6px}
form input{width:100%;box-sizing:border-box;font:inherit;padding:.4em;margin:.4em 0}
.alert{color:#c0392b;font-weight:600}.filters{display:flex;gap:.5em;margin-bottom:.5em}.filters>*{font:inherit;min-width:0}
ul{margin:0;padding-left:1.2em}li{margin:.2em 0}svg text{font:12px system-ui,sans-serif}
`

const body = `
<header><h1>automarket gateway</h1><span class="grow small" data-testid="connection">connecting</span>
<button type="button" data-testid="key-forget" hidden>Forget key</button></header>
<form data-testid="key-form" hidden>
<h2>Gateway key</h2>
<p class="small muted">This gateway checks keys. Enter one (<code>automarket keys create</code>); it is kept in this tab only (sessionStorage) and sent with the dashboard's requests.</p>
<input data-testid="key-input" type="password" autocomplete="off" placeholder="amk_..." required>
<button type="submit" data-testid="key-submit">Open the dashboard</button>
<p class="alert" role="alert" data-testid="auth-message"></p>
</form>
<main data-testid="dashboard" hidden>
<section><h2>Providers</h2><table><thead><tr><th>provider</th><th>health</th><th>circuit</th><th>jobs</th><th>last error</th></tr></thead>
<tbody data-testid="providers"></tbody></table></section>
<section><h2>Generations in flight</h2><div data-testid="in-flight"><p class="muted small" data-testid="in-flight-empty">none right now</p></div></section>
<section><h2>Spend <span class="small muted" data-testid="spend-scope"></span></h2>
<div>total <strong data-testid="spend-total">$0</strong> <span class="small muted" data-testid="spend-unknown"></span></div>
<h3>by provider</h3><div data-testid="spend-by-provider"></div><h3>by day (UTC, last 14 days)</h3><div data-testid="spend-by-day"></div></section>
<section><h2>Recent failures and fallbacks</h2><ul data-testid="failures"></ul></section>
<section><h2>Catalog <span class="small muted" data-testid="catalog-count"></span></h2>
<div class="filters"><select data-testid="catalog-capability"><option value="">any capability</option></select>
<input data-testid="catalog-max-price" type="number" min="0" step="any" placeholder="max $ a unit">
<input data-testid="catalog-name" type="search" placeholder="name"></div>
<table><thead><tr><th>model</th><th>capabilities</th><th>price</th></tr></thead><tbody data-testid="catalog"></tbody></table></section>
</main>
`

// The browser's code, kept as plain ES2020 (no backticks or template placeholders inside, so it
// can live in this template literal verbatim).
const script = String.raw`
"use strict";
(() => {
  const STORE = "automarket.key";
  const FINAL = ["succeeded", "failed", "cancelled"];
  const q = (id) => document.querySelector('[data-testid="' + id + '"]');
  const el = (tag, attrs, ...children) => {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) if (value !== undefined && value !== null) node.setAttribute(name, String(value));
    for (const child of children) node.append(child instanceof Node ? child : String(child));
    return node;
  };
  const usd = (n) => (n === null || n === undefined ? "unknown" : "$" + (n >= 1 ? n.toFixed(2) : n.toPrecision(3).replace(/(\.\d*?)0+$/, "$1").replace(/\.$/, "")));
  const key = () => sessionStorage.getItem(STORE) || "";
  class Unauthorized extends Error {}
  let timers = [];

  const api = async (path, init) => {
    const headers = Object.assign({}, (init && init.headers) || {});
    if (key()) headers.authorization = "Bearer " + key();
    const res = await fetch(path, Object.assign({}, init || {}, { headers }));
    if (res.status === 401) throw new Unauthorized();
    return res;
  };
  const json = async (path) => {
    const res = await api(path);
    if (!res.ok) throw new Error(path + ": HTTP " + res.status);
    return res.json();
  };

  const askForKey = (message) => {
    for (const t of timers) clearInterval(t);
    timers = [];
    q("dashboard").hidden = true;
    q("key-forget").hidden = true;
    q("key-form").hidden = false;
    q("auth-message").textContent = message;
    q("connection").textContent = "not connected";
    q("key-input").focus();
  };
  const guard = (task) => async () => {
    try {
      await task();
      q("connection").textContent = "live, updated " + new Date().toLocaleTimeString();
    } catch (error) {
      if (error instanceof Unauthorized) {
        sessionStorage.removeItem(STORE);
        askForKey("The gateway refused the key (401): it is unknown or revoked. Enter another.");
      } else q("connection").textContent = "error: " + error.message;
    }
  };

  // Providers
  const badge = (value, testid) => el("span", { class: "badge " + value, "data-testid": testid }, value);
  const loadProviders = async () => {
    const list = await json("/v1/providers");
    q("providers").replaceChildren(...list.data.map((p) =>
      el("tr", { "data-testid": "provider", "data-id": p.id, "data-status": p.health.status, "data-circuit": p.health.circuit || "none" },
        el("td", {}, el("strong", {}, p.name), " ", el("span", { class: "muted small" }, p.id + " · " + p.type + (p.configured ? "" : " · not configured")),
          el("div", { class: "small muted" }, p.capabilities.join(", "))),
        el("td", {}, badge(p.health.status, "provider-status")),
        el("td", {}, badge(p.health.circuit || "none", "provider-circuit")),
        el("td", { class: "small" }, p.health.active_jobs + " active, " + p.health.queued_jobs + " queued"),
        el("td", { class: "small muted" }, p.health.last_error || ""))));
  };

  // Generations in flight: found by polling the list, followed by their event streams.
  const watched = new Map();
  const setStatus = (g, status) => {
    g.status = status;
    g.node.setAttribute("data-status", status);
    g.statusNode.className = "badge " + status;
    g.statusNode.textContent = status;
  };
  const setPercent = (g, percent) => {
    g.bar.value = percent;
    g.node.setAttribute("data-percent", String(percent));
    g.percentNode.textContent = Math.round(percent) + "%";
  };
  const finish = (g, view) => {
    setStatus(g, view.status);
    if (view.status === "succeeded") setPercent(g, 100);
    const cost = view.result ? view.result.cost_usd : null;
    g.costNode.textContent = view.status === "succeeded" ? usd(cost) : view.error ? view.error.tag + ": " + view.error.message : "";
    if (cost !== null && cost !== undefined) g.node.setAttribute("data-cost", String(cost));
    g.where.textContent = (view.provider || "?") + "/" + (view.model || "?");
    refreshSoon();
  };
  // A browser opens about 6 connections to one host and each stream holds one: a few streams at
  // most, so that the polls still get through; the other generations move with the list's polls.
  const MAX_STREAMS = 3;
  let streams = 0;
  const follow = async (g) => {
    g.following = true;
    streams++;
    try { await followStream(g); } finally { g.following = false; streams--; }
  };
  const followStream = async (g) => {
    let last;
    while (!FINAL.includes(g.status)) {
      try {
        const res = await api("/v1/generations/" + encodeURIComponent(g.id) + "/events", { headers: last !== undefined ? { "last-event-id": String(last) } : {} });
        if (!res.ok || !res.body) break;
        const reader = res.body.getReader();
        const decoder = new TextDecoder();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, { stream: true });
          let end;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            let data = "";
            for (const line of block.split("\n")) {
              if (line.startsWith("id: ")) last = Number(line.slice(4));
              else if (line.startsWith("data: ")) data += line.slice(6);
            }
            if (data) onEvent(g, JSON.parse(data));
          }
        }
      } catch (error) {
        if (error instanceof Unauthorized) return;
      }
      if (FINAL.includes(g.status)) break;
      // The stream ended early (a restart, a proxy): read where it is, then resume from the last event.
      const view = await json("/v1/generations/" + encodeURIComponent(g.id)).catch(() => undefined);
      if (view && FINAL.includes(view.status)) return finish(g, view);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  };
  const onEvent = (g, event) => {
    if (event._tag === "Queued") g.where.textContent = event.provider + "/" + event.model + (event.position !== undefined ? " · queue position " + event.position : " · queued");
    else if (event._tag === "Submitted" || event._tag === "Running") g.where.textContent = event.provider + "/" + event.model;
    if (event._tag === "Running" && typeof event.percent === "number") setPercent(g, event.percent);
    if (event._tag === "Status") {
      if (FINAL.includes(event.status)) json("/v1/generations/" + encodeURIComponent(g.id)).then((view) => finish(g, view), () => setStatus(g, event.status));
      else setStatus(g, event.status);
    }
  };
  const track = (view) => {
    const bar = el("progress", { max: "100", value: "0", "data-testid": "generation-progress" });
    const statusNode = el("span", { "data-testid": "generation-status" });
    const node = el("div", { class: "gen", "data-testid": "generation", "data-id": view.id },
      el("div", {}, el("strong", {}, view.capability), " ", el("span", { class: "small muted", "data-testid": "generation-id" }, view.id)),
      statusNode, el("span", { class: "small", "data-testid": "generation-percent" }, "0%"), bar);
    const where = el("div", { class: "small muted", "data-testid": "generation-where" }, view.provider ? view.provider + "/" + view.model : "routing");
    const costNode = el("div", { class: "small", "data-testid": "generation-cost" }, "");
    node.append(where, costNode);
    const g = { id: view.id, node, bar, statusNode, percentNode: node.querySelector('[data-testid="generation-percent"]'), where, costNode, status: "", following: false };
    setStatus(g, view.status);
    watched.set(view.id, g);
    q("in-flight-empty").hidden = true;
    q("in-flight").prepend(node);
    // Keep the last 20 rows: finished ones stay, to show how they ended.
    const rows = q("in-flight").querySelectorAll('[data-testid="generation"]');
    for (let i = 20; i < rows.length; i++) { watched.delete(rows[i].getAttribute("data-id")); rows[i].remove(); }
  };
  let latest = [];
  const loadGenerations = async () => {
    const list = await json("/v1/generations?limit=50");
    latest = list.data;
    for (const view of list.data) {
      const g = watched.get(view.id);
      if (!g && !FINAL.includes(view.status)) track(view);
      else if (g && FINAL.includes(view.status) && !FINAL.includes(g.status)) finish(g, view);
      else if (g && !g.following && !FINAL.includes(g.status)) setStatus(g, view.status);
    }
    for (const g of watched.values()) if (streams < MAX_STREAMS && !g.following && !FINAL.includes(g.status)) follow(g);
    renderFailures();
  };

  // Failures: failed generations, fallbacks (a provider failed before another served), failed ledger entries.
  let ledgerFailures = [];
  const renderFailures = () => {
    const items = [];
    for (const view of latest) {
      if (view.status === "failed") items.push(el("li", { "data-testid": "failure", "data-kind": "generation", "data-id": view.id },
        badge("failed", "failure-status"), " ", view.capability + " " + (view.provider ? view.provider + "/" + view.model : "") + ": ",
        view.error ? view.error.tag + " (" + view.error.message + ")" : "", el("span", { class: "small muted" }, " " + view.finished_at)));
      if (view.attempts.length > 0) items.push(el("li", { "data-testid": "fallback", "data-id": view.id },
        "fallback: ", view.attempts.map((a) => a.provider + "/" + a.model + " (" + a.error.tag + ")").join(" → "),
        view.status === "succeeded" ? " → served by " + view.provider + "/" + view.model : " → " + view.status));
    }
    for (const entry of ledgerFailures) items.push(el("li", { "data-testid": "failure", "data-kind": "ledger", "data-id": entry.id },
      badge(entry.status, "failure-status"), " " + entry.provider + "/" + entry.model + " (" + entry.capability + ") billed " + usd(entry.cost_usd),
      el("span", { class: "small muted" }, " " + entry.at)));
    q("failures").replaceChildren(...(items.length ? items : [el("li", { class: "muted" }, "none")]));
  };

  // Spend, as horizontal SVG bars.
  const SVG = "http://www.w3.org/2000/svg";
  const svg = (tag, attrs, text) => {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
    if (text !== undefined) node.textContent = text;
    return node;
  };
  const chart = (testid, rows) => {
    const box = q(testid);
    if (rows.length === 0) return box.replaceChildren(el("p", { class: "muted small" }, "nothing spent"));
    const width = 420, label = 130, row = 20, max = Math.max(...rows.map((r) => r.cost_usd), 1e-9);
    const root = svg("svg", { viewBox: "0 0 " + width + " " + rows.length * row, width, height: rows.length * row, style: "max-width:100%;height:auto", role: "img" });
    rows.forEach((r, i) => {
      const g = svg("g", { "data-testid": "spend-bar", "data-key": r.key, "data-cost": r.cost_usd, transform: "translate(0," + i * row + ")" });
      g.append(svg("title", {}, r.key + ": " + usd(r.cost_usd) + " in " + r.calls + " calls" + (r.unknown_calls ? ", " + r.unknown_calls + " unpriced" : "")));
      g.append(svg("text", { x: 0, y: 14 }, r.key.length > 20 ? r.key.slice(0, 19) + "…" : r.key));
      g.append(svg("rect", { x: label, y: 3, height: 14, width: Math.max(1, ((width - label - 70) * r.cost_usd) / max), fill: "#3b6fb6" }));
      g.append(svg("text", { x: width - 66, y: 14, "data-testid": "spend-value" }, usd(r.cost_usd)));
      root.append(g);
    });
    box.replaceChildren(root);
  };
  const loadSpend = async () => {
    const since = Date.now() - 14 * 86400000;
    const [byProvider, byDay, failed] = await Promise.all([
      json("/v1/costs?by=provider"),
      json("/v1/costs?by=day&since=" + since),
      json("/v1/costs/entries?status=failed&limit=10")
    ]);
    q("spend-scope").textContent = byProvider.scope === "key" ? "(this key)" : "(everyone: the gateway runs without keys)";
    q("spend-total").textContent = usd(byProvider.total_usd);
    q("spend-total").setAttribute("data-value", String(byProvider.total_usd));
    q("spend-unknown").textContent = byProvider.calls + (byProvider.calls === 1 ? " call" : " calls") + (byProvider.unknown_calls ? ", " + byProvider.unknown_calls + " of unknown price" : "");
    chart("spend-by-provider", byProvider.data);
    chart("spend-by-day", byDay.data.slice().sort((a, b) => a.key.localeCompare(b.key)));
    ledgerFailures = failed.data;
    renderFailures();
  };
  let soon;
  const refreshSoon = () => { clearTimeout(soon); soon = setTimeout(guard(loadSpend), 300); };

  // The catalog, filtered in the page.
  let models = [];
  const lowestPrice = (m) => (m.free ? 0 : m.pricing.length ? Math.min(...m.pricing.map((p) => p.usd)) : undefined);
  const renderCatalog = () => {
    const capability = q("catalog-capability").value;
    const maxText = q("catalog-max-price").value.trim();
    const max = maxText === "" ? undefined : Number(maxText);
    const name = q("catalog-name").value.trim().toLowerCase();
    const shown = models.filter((m) => (!capability || m.capabilities.includes(capability)) &&
      (max === undefined || (lowestPrice(m) !== undefined && lowestPrice(m) <= max)) &&
      (!name || m.id.toLowerCase().includes(name)));
    q("catalog-count").textContent = shown.length + " of " + models.length + " models";
    q("catalog-count").setAttribute("data-count", String(shown.length));
    q("catalog").replaceChildren(...shown.slice(0, 200).map((m) => el("tr", { "data-testid": "catalog-row", "data-id": m.id },
      el("td", {}, m.id), el("td", { class: "small" }, m.capabilities.join(", ")),
      el("td", { class: "small" }, m.free ? "free" : m.pricing.length ? m.pricing.map((p) => usd(p.usd) + "/" + p.unit).join(", ") : "unknown"))));
  };
  const loadCatalog = async () => {
    models = (await json("/v1/models")).data;
    const capabilities = [...new Set(models.flatMap((m) => m.capabilities))].sort();
    q("catalog-capability").replaceChildren(el("option", { value: "" }, "any capability"), ...capabilities.map((c) => el("option", { value: c }, c)));
    renderCatalog();
  };
  for (const id of ["catalog-capability", "catalog-max-price", "catalog-name"]) q(id).addEventListener("input", renderCatalog);

  // Start: the providers answer first; a 401 there means the key is needed (or refused).
  const start = async () => {
    try {
      await loadProviders();
    } catch (error) {
      if (error instanceof Unauthorized) {
        const had = key() !== "";
        sessionStorage.removeItem(STORE);
        return askForKey(had ? "The gateway refused the key (401): it is unknown or revoked. Enter another." : "");
      }
      q("connection").textContent = "error: " + error.message;
      return void setTimeout(start, 3000);
    }
    q("key-form").hidden = true;
    q("dashboard").hidden = false;
    q("key-forget").hidden = key() === "";
    await Promise.all([guard(loadGenerations)(), guard(loadSpend)(), guard(loadCatalog)()]);
    timers = [setInterval(guard(loadGenerations), 1000), setInterval(guard(loadSpend), 4000), setInterval(guard(loadProviders), 5000)];
  };
  q("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(STORE, q("key-input").value.trim());
    q("key-input").value = "";
    q("auth-message").textContent = "";
    start();
  });
  q("key-forget").addEventListener("click", () => { sessionStorage.removeItem(STORE); askForKey(""); });
  start();
})();
`

/** The dashboard page: self-contained HTML (inline style and script), built once at module load. */
export const page: string =
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">` +
  `<title>automarket gateway</title><style>${style}</style></head><body>${body}<script>${script}</script></body></html>`
