// The liqcore dashboard page: one websocket (/ws) pushes the whole view a few times a second; the page
// only draws it.  It reconnects by itself when the runner restarts.  Nothing is fetched from elsewhere.
"use strict";
const $ = id => document.getElementById(id);
let view = null, connects = 0, sock = null;
// what this page shows: its page of the ranked symbols and its chart symbol (the server sends only those)
const prefs = {page: 0, per_page: 25, chart: null};
function ask(change) { Object.assign(prefs, change); if (sock && sock.readyState === 1) sock.send(JSON.stringify(prefs)); }

function fmt(x, d = 2) {
  if (x === null || x === undefined || (typeof x === "number" && !Number.isFinite(x))) return "-";
  if (typeof x !== "number") return String(x);
  return x.toLocaleString("en-US", {minimumFractionDigits: d, maximumFractionDigits: d});
}
function px(x) { return (x === null || x === undefined || !Number.isFinite(x)) ? "-" : String(+x.toPrecision(8)); }
function utc(ns) { return ns ? new Date(ns / 1e6).toISOString().replace("T", " ").slice(0, 19) : "-"; }
function dur(s) {
  if (!Number.isFinite(s)) return "-";
  const h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60), r = Math.floor(s % 60);
  return (h ? h + "h " : "") + (h || m ? m + "m " : "") + r + "s";
}
function cell(tr, v, cls) { const td = document.createElement("td"); td.textContent = v; if (cls) td.className = cls; tr.appendChild(td); return td; }
function signed(v) { return v > 0 ? "num pos" : v < 0 ? "num neg" : "num"; }
function fill(tbody, rows, cls, make) {
  tbody.replaceChildren();
  for (const r of rows) { const tr = document.createElement("tr"); tr.className = cls; make(tr, r); tbody.appendChild(tr); }
  if (!rows.length) { const tr = document.createElement("tr"); tr.className = "empty"; const td = cell(tr, "none"); td.colSpan = 12; tbody.appendChild(tr); }
}
function kv(table, pairs) {
  table.replaceChildren();
  for (const [k, v, cls] of pairs) { const tr = document.createElement("tr"); cell(tr, k); cell(tr, v, cls || "num"); table.appendChild(tr); }
}

function drawHeader(v, s) {
  const mode = $("mode"); mode.textContent = (s.mode || "paper").toUpperCase(); mode.className = "badge " + (s.mode || "");
  $("source").textContent = v.source === "journal" ? "journal (finished session)" : v.source === "replay" ? "replay" : "live";
  $("clock").textContent = utc(v.now_ns) + " UTC";
  const flags = [];
  if (s.killed) flags.push("KILL SWITCH ON");
  if (s.halted) flags.push("ENTRIES HALTED: " + s.halted);
  if (s.daily_limit || s.weekly_limit) flags.push("LOSS LIMIT REACHED");
  const f = $("flags"); f.replaceChildren();
  for (const t of flags) { const e = document.createElement("span"); e.className = "flag"; e.textContent = t; f.appendChild(e); }
}

function drawAccount(s) {
  const a = s.account || {}, st = a.stops || {};
  const cap = (s.max_positions !== undefined && s.max_positions !== null) ? " of " + s.max_positions : "";
  kv($("account"), [
    ["balance (quote)", fmt(a.balance)], ["open positions", String(a.open_positions ?? 0) + cap],
    ["cumulative P&L (quote)", fmt(a.cumulative_pnl), signed(a.cumulative_pnl)],
    ["day P&L (quote)", fmt(s.day_pnl), signed(s.day_pnl)], ["week P&L (quote)", fmt(s.week_pnl), signed(s.week_pnl)],
    ["cascades / orders / fills", `${s.cascades ?? 0} / ${s.orders ?? 0} / ${s.fills ?? 0}`],
    ["stop-loss / take-profit", `${fmt(100 * st.stop_loss)} % / ${fmt(100 * st.take_profit)} %`],
    ["trail / hold timeout", `${fmt(100 * st.trail)} % / ${dur(st.hold_timeout_s)}`],
    ["daily / weekly loss limit", `${fmt(100 * st.daily_loss)} % / ${st.weekly_loss == null ? "-" : fmt(100 * st.weekly_loss) + " %"}`],
    ["loss limit reached", (s.daily_limit || s.weekly_limit) ? "yes" : "no", (s.daily_limit || s.weekly_limit) ? "num neg" : "num"],
    ["kill switch / halt", `${s.killed ? "ON" : "off"} / ${s.halted || "no"}`, (s.killed || s.halted) ? "num neg" : "num"],
    ["errors", String(s.errors ?? 0), s.errors ? "num neg" : "num"],
  ]);
}

function drawTables(v, s) {
  fill($("positions").tBodies[0], s.positions || [], "position-row", (tr, p) => {
    cell(tr, p.symbol); cell(tr, p.side); cell(tr, fmt(p.qty, 4), "num"); cell(tr, px(p.entry_price), "num");
    cell(tr, px(p.current_price), "num"); cell(tr, fmt(p.pnl_pct, 3), signed(p.pnl_pct));
    cell(tr, fmt(p.max_profit_pct, 3), "num"); cell(tr, fmt(p.drawdown_pct, 3), "num");
    cell(tr, px(p.stop_price), "num"); cell(tr, px(p.take_profit_price), "num"); cell(tr, dur(p.held_s), "num");
  });
  const rows = s.symbols || [];
  fill($("symbols").tBodies[0], rows, "symbol-row", (tr, r) => {
    cell(tr, r.rank == null ? "-" : String(r.rank), "num");
    cell(tr, r.symbol); cell(tr, r.z == null ? "-" : fmt(r.z, 1), "num");
    cell(tr, r.purity == null ? "-" : fmt(100 * r.purity, 0) + " %", "num");
    cell(tr, px(r.last_price), "num"); cell(tr, fmt(r.threshold, 0), "num");
    cell(tr, r.warmup ? `warming up ${r.warmup.seen}/${r.warmup.need}` : (r.active ? "ACTIVE" : r.status || ""));
    cell(tr, r.last_cascade_ns ? utc(r.last_cascade_ns) + " " + (r.last_cascade || "") : (r.last_cascade || "-"));
    cell(tr, String(r.trades ?? 0), "num"); cell(tr, fmt(r.pnl), signed(r.pnl));
    cell(tr, r.tradable === false ? "no (watched only)" : "yes");
  });
  const total = s.symbols_total ?? rows.length, pages = s.pages || 1, pg = s.page || 0;
  const pager = $("symbols-page");
  pager.textContent = `page ${pg + 1} of ${pages} (${total} symbols, ranked by anomaly now)`;
  pager.dataset.page = String(pg); pager.dataset.pages = String(pages); pager.dataset.total = String(total);
  $("page-prev").disabled = pg <= 0; $("page-next").disabled = pg >= pages - 1;
  const orders = s.resting_orders || rows.filter(r => r.order).map(r => Object.assign({symbol: r.symbol}, r.order));
  fill($("orders").tBodies[0], orders, "order-row", (tr, o) => {
    const q = o.queue || {};
    cell(tr, o.symbol); cell(tr, o.side); cell(tr, px(o.price), "num"); cell(tr, o.status);
    cell(tr, q.ahead == null ? "-" : fmt(q.ahead, 3), "num");
    cell(tr, q.fill_chance == null ? "-" : fmt(100 * q.fill_chance, 1) + " %", "num");
  });
  const casc = [];
  for (const [sym, list] of Object.entries((v.history || {}).cascades || {})) for (const c of list) casc.push(Object.assign({symbol: sym}, c));
  casc.sort((a, b) => b.ts_ns - a.ts_ns);
  fill($("cascades").tBodies[0], casc, "cascade-row", (tr, c) => {
    cell(tr, utc(c.ts_ns)); cell(tr, c.symbol); cell(tr, c.dominant || "-"); cell(tr, fmt(c.threshold, 0), "num");
    cell(tr, c.action + (c.detail ? ": " + c.detail : ""));
  });
  fill($("signals").tBodies[0], (s.signals || []).slice().reverse(), "signal-row", (tr, g) => {
    cell(tr, utc(g.ts_ns)); cell(tr, g.symbol); cell(tr, g.liquidation);
    cell(tr, [g.judge, g.candle, g.news, g.reason].filter(Boolean).join("; ") || "-"); cell(tr, g.decision);
  });
}

function drawFeeds(s) {
  const pairs = [];
  for (const f of s.feeds || []) {
    pairs.push([f.venue + " connected", f.connected ? "up" : "DOWN", f.connected ? "num pos" : "num neg"]);
    pairs.push(["frames / gaps / reconnects", `${f.frames} / ${f.gaps} / ${f.reconnects}`]);
    pairs.push(["coverage", fmt(100 * f.coverage, 2) + " %"]);
    pairs.push(["last frame", f.last_rx_age_s == null ? "-" : fmt(f.last_rx_age_s, 1) + " s ago"]);
    for (const q of f.silent || []) {  // a subscribed stream silent while the venue's others flow
      pairs.push([`${q.venue} ${q.stream}`, "SILENT for " + fmt(q.silent_s, 0) + " s", "num neg"]);
    }
  }
  pairs.push(["venue clock offset", fmt(s.venue_clock_offset_ms, 1) + " ms"]);
  kv($("feeds"), pairs);
  const al = $("alarms"); al.replaceChildren();
  for (const [name, text] of Object.entries(s.alarms || {})) {
    const d = document.createElement("div"); d.className = "alarm"; d.textContent = `ALARM ${name}: ${text}`; al.appendChild(d);
  }
}

function verdict(ok) { return ok === null ? ["too early", "early"] : ok ? ["pass", "pass"] : ["fail", "fail"]; }
function drawChecklist(v, s) {
  const c = s.checklist || {}, T = v.targets || {}, rows = [];
  if (v.source === "journal" && v.report_targets) {
    for (const t of v.report_targets) rows.push([t.target, t.measured, t.goal, [t.verdict, t.verdict === "pass" ? "pass" : t.verdict === "fail" ? "fail" : "early"]]);
  } else {
    const [lo, hi] = T.cascades_per_day || [null, null], sm = c.cascades_per_day_summary;
    if (sm) rows.push([`cascades per day: ${sm.symbols} symbols`, `${sm.within} within, ${sm.below} below, ${sm.above} above; most: ` +
      sm.top.map(([k, n]) => `${k} ${fmt(n, 1)}`).join(", "), `${lo}-${hi} /day`, verdict(v.session_days < 1 ? null : sm.below + sm.above === 0)]);
    for (const [sym, n] of Object.entries(c.cascades_per_day || {}))
      rows.push([`cascades per day ${sym}`, fmt(n, 1) + " /day", `${lo}-${hi} /day`, verdict(v.session_days < 1 ? null : n >= lo && n <= hi)]);
    const fr = T.fill_rate || [0, 1], wr = T.win_rate || [0, 1];
    rows.push(["fill rate", c.fill_rate == null ? "-" : fmt(100 * c.fill_rate, 1) + ` % of ${c.entries} entries`,
      `${100 * fr[0]}-${100 * fr[1]} % (from ${T.min_entries} entries)`, verdict((c.entries || 0) < T.min_entries ? null : c.fill_rate >= fr[0] && c.fill_rate <= fr[1])]);
    rows.push(["win rate", c.win_rate == null ? "-" : fmt(100 * c.win_rate, 1) + ` % of ${c.trades} trades`,
      `${100 * wr[0]}-${100 * wr[1]} % (from ${T.min_trades} trades)`, verdict((c.trades || 0) < T.min_trades ? null : c.win_rate >= wr[0] && c.win_rate <= wr[1])]);
    const rx = c.reaction_ms || {};
    rows.push(["reaction p50 / p99", rx.n ? `${fmt(rx.p50, 2)} / ${fmt(rx.p99, 2)} ms (${rx.n} entries)` : "-",
      `orders within ${T.order_within_s} s`, verdict(rx.n ? rx.p99 <= 1e3 * T.order_within_s : null)]);
    for (const [side, f] of Object.entries(c.fees || {}))
      rows.push([`${side} fee`, f.bps == null ? "-" : fmt(f.bps, 2) + ` bps (${f.fills} fills)`, `model ${fmt(f.model_bps, 2)} bps`, ["", ""]]);
  }
  fill($("checklist").tBodies[0], rows, "check-row", (tr, r) => { cell(tr, r[0]); cell(tr, r[1], "num"); cell(tr, r[2]); cell(tr, r[3][0], r[3][1]); });
}

function drawCharts(v, s) {
  const h = v.history || {};
  const sel = $("price-symbol"), syms = (h.price_symbols || Object.keys(h.prices || {})).slice();
  for (const r of s.symbols || []) if (!syms.includes(r.symbol)) syms.push(r.symbol);
  if (sel.options.length !== syms.length || [...sel.options].some((o, i) => o.value !== syms[i])) {
    const cur = sel.value; sel.replaceChildren();
    for (const sym of syms) { const o = document.createElement("option"); o.value = o.textContent = sym; sel.appendChild(o); }
    if (syms.includes(cur)) sel.value = cur;
  }
  if (h.chart && !prefs.chart && syms.includes(h.chart)) sel.value = h.chart;  // (the server's pick until one is chosen)
  const sym = sel.value, pts = (h.prices || {})[sym] || [], eqPts = (h.equity || []).slice();
  const tNow = (v.now_ns || 0) / 1e9, lastEq = eqPts[eqPts.length - 1];
  if (lastEq && tNow > lastEq[0]) eqPts.push([tNow, lastEq[1]]);  // the equity holds until now
  const near = t => { let best = null; for (const p of pts) { if (p[0] <= t) best = p[1]; else break; } return best ?? (pts[0] || [0, NaN])[1]; };
  const casc = ((h.cascades || {})[sym] || []).map(c => ({t: c.ts_ns / 1e9, y: near(c.ts_ns / 1e9), color: "#ffca28",
    shape: /long|sell/i.test(c.dominant || "") ? "down" : "up"}));
  const fills = (h.fills || []).filter(f => f.symbol === sym).map(f => ({t: f.t, y: f.price, shape: "dot", color: f.side === "buy" ? "#66bb6a" : "#ef5350"}));
  // one time axis for both charts: from the first point either has to the view's time
  const times = eqPts.map(p => p[0]).concat(pts.map(p => p[0]), casc.map(m => m.t), fills.map(m => m.t)).filter(Number.isFinite);
  const range = times.length ? [Math.min(...times), Math.max(Math.max(...times), tNow)] : null;
  lcChart($("equity-chart"), {points: eqPts, color: "#66bb6a", empty: "no equity point yet", range, steps: true});
  const pc = $("price-chart");
  lcChart(pc, {points: pts, markers: casc.concat(fills), color: "#4fc3f7", empty: "no price yet", range});
  pc.dataset.cascades = String(casc.filter(m => Number.isFinite(m.y)).length);
  pc.dataset.fills = String(fills.length);
  const note = $("price-note");
  note.textContent = h.price_note ? h.price_note : h.price_bucket_s ? `every trade; per ${fmt(h.price_bucket_s, h.price_bucket_s < 1 ? 3 : 0)} s its first, low, high and last` : "";
}

function draw(v) {
  view = v;
  const s = v.snapshot || {};
  drawHeader(v, s); drawAccount(s); drawTables(v, s); drawFeeds(s); drawChecklist(v, s); drawCharts(v, s);
  $("controls").hidden = !v.control;
  document.body.dataset.updates = String(+(document.body.dataset.updates || 0) + 1);
}

function connect() {
  const ws = sock = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws");
  ws.onopen = () => { connects += 1; if (prefs.page || prefs.chart) ask({}); const st = $("status"); st.textContent = "connected"; st.className = "up"; st.dataset.connects = String(connects); };
  ws.onmessage = ev => { try { draw(JSON.parse(ev.data)); } catch (e) { console.error("liqcore view:", e); } };
  ws.onclose = () => { const st = $("status"); st.textContent = "disconnected: retrying…"; st.className = "down"; setTimeout(connect, 1000); };
  ws.onerror = () => ws.close();
}

async function control(path, body, question) {
  if (!window.confirm(question)) return;
  const r = await fetch(path, {method: "POST", headers: {"Content-Type": "application/json", "X-Liqcore-Control": "1"}, body: JSON.stringify(body)});
  $("control-result").textContent = r.ok ? JSON.stringify(await r.json()) : `failed: ${r.status}`;
}
$("kill-btn").addEventListener("click", () => {
  const on = !(view && view.snapshot && view.snapshot.killed);
  control("/api/kill", {on}, on ? "Turn the kill switch ON (no new entries)?" : "Turn the kill switch OFF (entries allowed again)?");
});
$("flatten-btn").addEventListener("click", () => control("/api/flatten", {}, "Flatten all: kill switch on, cancel every resting entry and close every position at market?"));
$("price-symbol").addEventListener("change", () => { ask({chart: $("price-symbol").value}); if (view) drawCharts(view, view.snapshot || {}); });
$("page-prev").addEventListener("click", () => ask({page: Math.max(0, prefs.page - 1)}));
$("page-next").addEventListener("click", () => ask({page: prefs.page + 1}));
connect();
