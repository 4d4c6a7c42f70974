// liqcore's small canvas chart (written for this page; no external library): one line series over
// time, with optional markers, autoscaled axes and labels.  lcChart(canvas, {points: [[t_s, y]...],
// markers: [{t, y, shape: "up"|"down"|"dot", color}], color, range: [t0_s, t1_s], steps}) draws and returns the
// number of points and markers drawn (also kept in the canvas's data-points / data-markers attributes).
// ``steps`` draws each level held until the next point (a balance); ``range`` fixes the time axis (charts that share it line up); the y labels sit on round steps with as
// many decimals as the step needs, so no two read the same (data-ylabels); the points drawn are kept in
// ``canvas.lcPoints``.
"use strict";
function lcStep(span, n) {  // a round step (1, 2 or 5 times a power of ten) giving about n intervals over span
  const raw = span / n, p = Math.pow(10, Math.floor(Math.log10(raw))), f = raw / p;
  return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
}
function lcTimeLabel(t, span) {  // UTC; with milliseconds when the axis spans a few seconds only
  const iso = new Date(t * 1000).toISOString();
  return span < 8 ? iso.slice(11, 23) : span < 3 * 86400 ? iso.slice(11, 19) : iso.slice(5, 16).replace("T", " ");
}
function lcChart(canvas, opt) {
  const ctx = canvas.getContext("2d");
  const W = canvas.width, H = canvas.height, L = 78, R = 10, T = 10, B = 22;
  const pts = (opt.points || []).filter(p => Number.isFinite(p[0]) && Number.isFinite(p[1]));
  const marks = (opt.markers || []).filter(m => Number.isFinite(m.t) && Number.isFinite(m.y));
  canvas.lcPoints = pts;
  ctx.clearRect(0, 0, W, H);
  ctx.font = "11px system-ui, sans-serif";
  ctx.fillStyle = "#8a96a3";
  if (!pts.length && !marks.length) {
    ctx.fillText(opt.empty || "no data yet", L, H / 2);
    canvas.dataset.points = "0"; canvas.dataset.markers = "0"; canvas.dataset.ylabels = "[]";
    return {points: 0, markers: 0};
  }
  const ts = pts.map(p => p[0]).concat(marks.map(m => m.t));
  const ys = pts.map(p => p[1]).concat(marks.map(m => m.y));
  let [t0, t1] = opt.range && Number.isFinite(opt.range[0]) && Number.isFinite(opt.range[1])
    ? opt.range : [Math.min(...ts), Math.max(...ts)];
  let y0 = Math.min(...ys), y1 = Math.max(...ys);
  if (t1 <= t0) { t0 -= 1; t1 = t0 + 2; }
  if (y1 === y0) { const d = Math.abs(y0) * 1e-4 || 1; y0 -= d; y1 += d; }
  const pad = (y1 - y0) * 0.06; y0 -= pad; y1 += pad;
  canvas.dataset.t0 = String(t0); canvas.dataset.t1 = String(t1);
  const x = t => L + (t - t0) / (t1 - t0) * (W - L - R);
  const y = v => T + (1 - (v - y0) / (y1 - y0)) * (H - T - B);
  ctx.strokeStyle = "#2a313a"; ctx.lineWidth = 1;
  const step = lcStep(y1 - y0, 4), dec = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  const labels = [];
  for (let v = Math.ceil(y0 / step) * step; v <= y1; v += step) {  // horizontal grid on round steps
    const py = y(v), s = v.toLocaleString("en-US", {minimumFractionDigits: dec, maximumFractionDigits: dec});
    ctx.beginPath(); ctx.moveTo(L, py); ctx.lineTo(W - R, py); ctx.stroke();
    ctx.fillText(s, 4, py + 4); labels.push(s);
  }
  canvas.dataset.ylabels = JSON.stringify(labels);
  const span = t1 - t0;
  for (let i = 0; i <= 4; i++) {  // time labels (UTC)
    const t = t0 + span * i / 4, s = lcTimeLabel(t, span);
    const w = ctx.measureText(s).width;
    ctx.fillText(s, Math.max(L - w / 2, Math.min(x(t) - w / 2, W - R - w)), H - 6);
  }
  ctx.save(); ctx.beginPath(); ctx.rect(L, 0, W - L - R, H); ctx.clip();
  if (pts.length) {
    ctx.strokeStyle = opt.color || "#4fc3f7"; ctx.lineWidth = 1.5; ctx.beginPath();
    pts.forEach((p, i) => {
      if (!i) return ctx.moveTo(x(p[0]), y(p[1]));
      if (opt.steps) ctx.lineTo(x(p[0]), y(pts[i - 1][1]));  // a level held until the next point
      ctx.lineTo(x(p[0]), y(p[1]));
    });
    if (pts.length === 1) ctx.arc(x(pts[0][0]), y(pts[0][1]), 2, 0, 2 * Math.PI);
    ctx.stroke();
  }
  for (const m of marks) {
    const px = x(m.t), py = y(m.y);
    ctx.fillStyle = m.color || "#ffca28"; ctx.beginPath();
    if (m.shape === "up") { ctx.moveTo(px, py - 7); ctx.lineTo(px - 6, py + 5); ctx.lineTo(px + 6, py + 5); }
    else if (m.shape === "down") { ctx.moveTo(px, py + 7); ctx.lineTo(px - 6, py - 5); ctx.lineTo(px + 6, py - 5); }
    else { ctx.arc(px, py, 4, 0, 2 * Math.PI); ctx.strokeStyle = "#111418"; ctx.lineWidth = 1; ctx.stroke(); }
    ctx.fill();
  }
  ctx.restore();
  canvas.dataset.points = String(pts.length); canvas.dataset.markers = String(marks.length);
  return {points: pts.length, markers: marks.length};
}
