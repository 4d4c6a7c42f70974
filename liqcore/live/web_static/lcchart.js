// liqcore's small canvas chart (written for this page; no external library): one line series over
// time, with optional markers, autoscaled axes and labels.  lcChart(canvas, {points: [[t_s, y]...],
// markers: [{t, y, shape: "up"|"down"|"dot", color}], color, yLabel}) draws and returns the number of
// points and markers drawn (also kept in the canvas's data-points / data-markers attributes).
"use strict";
function lcChart(canvas, opt) {
  const ctx = canvas.getContext("2d");
  const W = canvas.width, H = canvas.height, L = 70, R = 10, T = 10, B = 22;
  const pts = (opt.points || []).filter(p => Number.isFinite(p[0]) && Number.isFinite(p[1]));
  const marks = (opt.markers || []).filter(m => Number.isFinite(m.t) && Number.isFinite(m.y));
  ctx.clearRect(0, 0, W, H);
  ctx.font = "11px system-ui, sans-serif";
  ctx.fillStyle = "#8a96a3";
  if (!pts.length && !marks.length) {
    ctx.fillText(opt.empty || "no data yet", L, H / 2);
    canvas.dataset.points = "0"; canvas.dataset.markers = "0";
    return {points: 0, markers: 0};
  }
  const ts = pts.map(p => p[0]).concat(marks.map(m => m.t));
  const ys = pts.map(p => p[1]).concat(marks.map(m => m.y));
  let t0 = Math.min(...ts), t1 = Math.max(...ts), y0 = Math.min(...ys), y1 = Math.max(...ys);
  if (t1 === t0) { t0 -= 1; t1 += 1; }
  if (y1 === y0) { const d = Math.abs(y0) * 1e-3 || 1; y0 -= d; y1 += d; }
  const pad = (y1 - y0) * 0.06; y0 -= pad; y1 += pad;
  const x = t => L + (t - t0) / (t1 - t0) * (W - L - R);
  const y = v => T + (1 - (v - y0) / (y1 - y0)) * (H - T - B);
  ctx.strokeStyle = "#2a313a"; ctx.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {  // horizontal grid with the y labels
    const v = y0 + (y1 - y0) * i / 4, py = y(v);
    ctx.beginPath(); ctx.moveTo(L, py); ctx.lineTo(W - R, py); ctx.stroke();
    ctx.fillText(v.toPrecision(6), 4, py + 4);
  }
  for (let i = 0; i <= 4; i++) {  // time labels (UTC)
    const t = t0 + (t1 - t0) * i / 4;
    const s = new Date(t * 1000).toISOString().slice(11, 19);
    ctx.fillText(s, Math.min(x(t) - 20, W - R - 46), H - 6);
  }
  if (pts.length) {
    ctx.strokeStyle = opt.color || "#4fc3f7"; ctx.lineWidth = 1.5; ctx.beginPath();
    pts.forEach((p, i) => i ? ctx.lineTo(x(p[0]), y(p[1])) : ctx.moveTo(x(p[0]), y(p[1])));
    if (pts.length === 1) ctx.arc(x(pts[0][0]), y(pts[0][1]), 2, 0, 2 * Math.PI);
    ctx.stroke();
  }
  for (const m of marks) {
    const px = x(m.t), py = y(m.y);
    ctx.fillStyle = m.color || "#ffca28"; ctx.beginPath();
    if (m.shape === "up") { ctx.moveTo(px, py - 7); ctx.lineTo(px - 6, py + 5); ctx.lineTo(px + 6, py + 5); }
    else if (m.shape === "down") { ctx.moveTo(px, py + 7); ctx.lineTo(px - 6, py - 5); ctx.lineTo(px + 6, py - 5); }
    else ctx.arc(px, py, 4, 0, 2 * Math.PI);
    ctx.fill();
  }
  canvas.dataset.points = String(pts.length); canvas.dataset.markers = String(marks.length);
  return {points: pts.length, markers: marks.length};
}
