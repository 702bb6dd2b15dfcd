"""The training view's player: its styles and its JavaScript (no libraries, no network).

The script reads the JSON of ``page.payload``, builds the panels and redraws them for the
current frame: the network (SVG: neurons with their activation maps, weights as edges, biases
as rings; wide layers as summaries), the decision surface (canvas) or the first layer's
filters, the loss and accuracy curves and the gradient norms (SVG). Sizes come from the
window, so the page fits any screen; text is at least 14 px.
"""

CSS = r"""
html,body{margin:0;height:100%;background:#f6f6f4;color:#1d1d1d;
  font:16px/1.35 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
#app{box-sizing:border-box;height:100vh;padding:10px;display:grid;gap:10px;
  grid-template-columns:minmax(0,1.3fr) minmax(0,1fr);
  grid-template-rows:auto minmax(0,1.15fr) minmax(0,1fr)}
header{grid-column:1/3;display:flex;align-items:center;gap:10px;flex-wrap:wrap}
header h1{font-size:22px;margin:0 12px 0 0;font-weight:650}
button{font:inherit;font-size:18px;min-width:44px;padding:4px 10px;border:1px solid #bbb;
  border-radius:6px;background:#fff;cursor:pointer}
button:hover{background:#eef}
#slider{flex:1;min-width:200px}
#counter{font-variant-numeric:tabular-nums;min-width:300px}
select{font:inherit}
.panel{background:#fff;border:1px solid #d9d9d6;border-radius:8px;padding:8px 12px;
  display:flex;flex-direction:column;min-height:0;min-width:0;box-sizing:border-box}
.panel h2{font-size:18px;margin:0 0 4px;font-weight:620;white-space:nowrap;overflow:hidden;
  text-overflow:ellipsis}
.fill{flex:1;min-height:0;position:relative}
.fill>svg,.fill>canvas{position:absolute;left:0;top:0}
#netp{grid-row:2/4}
#netp h2{white-space:normal}
#side{grid-row:2}
#curves{grid-row:3;display:grid;grid-template-columns:1fr 1fr;gap:10px;min-height:0}
#notes{margin:6px 0 0;padding-left:20px;font-size:14px;color:#444;max-height:22%;overflow:auto}
.sub{font-size:15px;color:#555}
text{font-family:inherit}
#cards{display:flex;flex-wrap:wrap;gap:8px;overflow:auto;align-content:flex-start}
.card{border:1px solid #ddd;border-radius:6px;padding:8px 10px;font-size:15px;width:300px}
.card b{font-size:17px}
"""

JS = r"""
(function(){
"use strict";
const D = JSON.parse(document.getElementById("mg-watch-data").textContent);
const NS = "http://www.w3.org/2000/svg";
const POS = [33,102,172], NEG = [230,97,1], MID = [247,247,247];
const PALETTE = [[31,119,180],[255,127,14],[44,160,44],[214,39,40],[148,103,189],
                 [140,86,75],[227,119,194],[127,127,127],[188,189,34],[23,190,207]];

function bytes(s){ const b = atob(s), u = new Uint8Array(b.length);
  for (let i = 0; i < b.length; i++) u[i] = b.charCodeAt(i); return u; }
function f4(s){ return new Float32Array(bytes(s).buffer); }
function u4(s){ return new Uint32Array(bytes(s).buffer); }
function i4(s){ return new Int32Array(bytes(s).buffer); }
function mix(a, b, t){ return [a[0]+(b[0]-a[0])*t, a[1]+(b[1]-a[1])*t, a[2]+(b[2]-a[2])*t]; }
// diverging colour for v in [-1, 1]: orange below 0, blue above
function div(v){ v = Math.max(-1, Math.min(1, v)); return v >= 0 ? mix(MID, POS, v) : mix(MID, NEG, -v); }
function rgb(c){ return "rgb(" + c.map(Math.round).join(",") + ")"; }
function fmt(x){ if (x === null || x === undefined || !isFinite(x)) return "n/a";
  const a = Math.abs(x); if (a !== 0 && (a < 1e-3 || a >= 1e4)) return x.toExponential(2);
  return x.toPrecision(3); }
function el(tag, attrs, parent){ const e = document.createElementNS(NS, tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]); if (parent) parent.appendChild(e); return e; }
function h(tag, attrs, parent, text){ const e = document.createElement(tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]); if (text !== undefined) e.textContent = text;
  if (parent) parent.appendChild(e); return e; }
function text(parent, x, y, s, attrs){ const t = el("text", Object.assign({x: x, y: y,
  "font-size": 15}, attrs || {}), parent); t.textContent = s; return t; }

// ---------------------------------------------------------------- the data, decoded
const L = D.layers.length, G = D.grid ? D.grid.n : 0, chain = D.chain;
const hist = {step: i4(D.history.step), loss: f4(D.history.loss), gn: f4(D.history.gnorm)};
const frames = D.frames.map(function(f){
  const o = {step: f.step, loss: f.loss, acc: f.acc, final: !!f.final, gn: f4(f.gn),
             hist: u4(f.hist), hr: f.hr, mabs: f.mabs};
  if (chain){ o.w = f.w.map(function(w){ return w ? f4(w) : null; }); o.b = f.b.map(function(b){ return b ? f4(b) : null; });
    o.maps = f.maps.map(function(m){ return m ? bytes(m) : null; }); o.mr = f.mr; }
  if (f.surf) { o.surf = bytes(f.surf); o.sr = f.sr; }
  if (f.surfc) { o.surfc = bytes(f.surfc); o.surfp = bytes(f.surfp); }
  if (f.filt) { o.filt = bytes(f.filt); o.fr = f.fr; }
  return o; });
const pts = D.points ? {x: f4(D.points.x), t: D.points.t ? f4(D.points.t) : null} : null;
// edge and ring widths are scaled by the largest |w| and |b| of the whole run, so growth shows
let wmax = 1e-12, bmax = 1e-12, mmax = 1e-12;
frames.forEach(function(f){ for (const m of f.mabs) mmax = Math.max(mmax, m); });
if (chain) frames.forEach(function(f){ f.w.forEach(function(w){ if (w) for (const v of w) wmax = Math.max(wmax, Math.abs(v)); });
  f.b.forEach(function(b){ if (b) for (const v of b) bmax = Math.max(bmax, Math.abs(v)); }); });

// ---------------------------------------------------------------- the page
const app = h("div", {id: "app"}, document.body);
const head = h("header", {}, app);
h("h1", {}, head, D.title);
const buttons = {};
[["first", "|◀", "first frame (Home)"], ["prev", "◀", "previous frame (←)"],
 ["play", "play", "play / pause (space)"], ["next", "▶", "next frame (→)"],
 ["last", "▶|", "last frame (End)"]].forEach(function(b){
  buttons[b[0]] = h("button", {id: b[0], title: b[2], type: "button"}, head, b[1]); });
const slider = h("input", {id: "slider", type: "range", min: 0, max: frames.length - 1, value: 0}, head);
const counter = h("span", {id: "counter"}, head);
const speed = h("select", {id: "speed", title: "frames per second"}, head);
[2, 5, 10, 20].forEach(function(v){ const o = h("option", {value: v}, speed, v + " frames/s");
  if (v === 5) o.selected = true; });

const netp = h("section", {id: "netp", "class": "panel"}, app);
const netTitle = h("h2", {}, netp, "");
const netBox = h("div", {"class": "fill", id: "netbox"}, netp);
const notes = h("ul", {id: "notes"}, netp);
D.notes.concat([D.precision]).forEach(function(n){ h("li", {}, notes, n); });
if (D.live) h("li", {}, notes, "Live view: the latest frame while training runs; " +
  "view.finish() or view.save() replaces it with the player of every frame.");

const side = h("section", {id: "side", "class": "panel"}, app);
const sideTitle = h("h2", {}, side, "");
const sideSub = h("div", {"class": "sub"}, side, "");
const sideBox = h("div", {"class": "fill", id: "sidebox"}, side);
const curves = h("div", {id: "curves"}, app);
const lossp = h("section", {"class": "panel"}, curves);
const lossTitle = h("h2", {}, lossp, "loss");
const lossBox = h("div", {"class": "fill"}, lossp);
const gradp = h("section", {"class": "panel"}, curves);
h("h2", {title: "the norm of each layer's weight gradient, log scale"}, gradp,
  "gradient flow ‖∂loss/∂W‖ (log scale)");
const gradBox = h("div", {"class": "fill"}, gradp);

function box(b){ return [b.clientWidth, b.clientHeight]; }
function svgIn(b, id){ b.textContent = ""; const s = box(b);
  return el("svg", {id: id, width: s[0], height: s[1], viewBox: "0 0 " + s[0] + " " + s[1]}, b); }

// ---------------------------------------------------------------- pictures
const scratch = document.createElement("canvas");
function mapCanvas(values, n, colour){   // values: n*n numbers, drawn on the scratch canvas
  scratch.width = n; scratch.height = n;
  const ctx = scratch.getContext("2d"), img = ctx.createImageData(n, n);
  for (let i = 0; i < n * n; i++){ const c = colour(values[i], i);
    img.data[4*i] = c[0]; img.data[4*i+1] = c[1]; img.data[4*i+2] = c[2]; img.data[4*i+3] = 255; }
  ctx.putImageData(img, 0, 0); return scratch;
}
function mapImage(values, n, colour){ return mapCanvas(values, n, colour).toDataURL(); }
// how a layer's activations are coloured: its natural range, else ±max|a| of the layer
function actScale(act, lo, hi){
  if (act === "Sigmoid") return {c: 0.5, s: 0.5, label: "0 … 1"};
  if (act === "Tanh") return {c: 0, s: 1, label: "−1 … 1"};
  let m = 1e-12; for (let i = 0; i < lo.length; i++) m = Math.max(m, Math.abs(lo[i]), Math.abs(hi[i]));
  return {c: 0, s: m, label: "±" + fmt(m)};
}
function unitValues(f, l, j){   // the dequantised map of unit j of chain layer l
  const codes = f.maps[l], lo = f.mr[l][0][j], hi = f.mr[l][1][j], out = new Float32Array(G * G);
  for (let i = 0; i < G * G; i++) out[i] = lo + codes[j * G * G + i] * (hi - lo) / 255;
  return out;
}
function inputValues(k){        // feature k over the plane, for the input neurons
  const e = D.grid.extent, out = new Float32Array(G * G), c = [(e[0]+e[1])/2, (e[2]+e[3])/2],
        s = [(e[1]-e[0])/2, (e[3]-e[2])/2];
  for (let r = 0; r < G; r++) for (let q = 0; q < G; q++){
    const x = e[0] + (q + 0.5) * (e[1] - e[0]) / G, y = e[3] - (r + 0.5) * (e[3] - e[2]) / G;
    out[r * G + q] = ((k === 0 ? x : y) - c[k]) / s[k]; }
  return out;
}
function histogram(parent, x, y, w, hgt, f, layer){
  const counts = f.hist.subarray(layer * 20, layer * 20 + 20); let m = 1;
  for (const c of counts) m = Math.max(m, c);
  el("rect", {x: x, y: y, width: w, height: hgt, fill: "#fafafa", stroke: "#bbb"}, parent);
  for (let i = 0; i < 20; i++){ const bh = (hgt - 4) * counts[i] / m, bw = w / 20;
    el("rect", {x: x + i * bw + 0.5, y: y + hgt - 2 - bh, width: Math.max(bw - 1, 0.5), height: bh,
      fill: rgb(div((i + 0.5) / 10 - 1)), stroke: "#777", "stroke-width": 0.4}, parent); }
}

function drawNetwork(f){
  const svg = svgIn(netBox, "net"), W = +svg.getAttribute("width"), H = +svg.getAttribute("height");
  const widths = chain.widths, K = widths.length, top = 16, bottom = 64;
  const colGap = W / K, xs = widths.map(function(_, i){ return colGap * (i + 0.5); });
  const drawn = widths.map(function(n){ return n <= chain.max_units; });
  const rMax = Math.min(colGap * 0.2, 56);
  const pos = widths.map(function(n, i){
    if (!drawn[i]) return null;
    const gap = (H - top - bottom) / n, r = Math.min(rMax, gap * 0.4);
    const ys = []; for (let j = 0; j < n; j++) ys.push(top + gap * (j + 0.5));
    return {ys: ys, r: r}; });
  const boxW = Math.min(colGap * 0.7, 240), boxH = Math.min(H - top - bottom, 200),
        boxY = (H - bottom + top) / 2 - boxH / 2;
  function span(i){   // where a band meets column i: [x, y top, y bottom], facing the band
    const p = pos[i];
    if (!p) return [xs[i], boxY - 40, boxY + boxH + 40];
    return [xs[i], p.ys[0] - p.r, p.ys[p.ys.length - 1] + p.r];
  }
  const defs = el("defs", {}, svg), edges = el("g", {id: "edges"}, svg), nodes = el("g", {id: "neurons"}, svg);
  for (let l = 0; l < K - 1; l++){
    const w = f.w[l], a = pos[l], b = pos[l + 1], nin = widths[l], nout = widths[l + 1];
    if (a && b){
      for (let j = 0; j < nout; j++) for (let k = 0; k < nin; k++){
        const v = w[j * nin + k];
        el("line", {"class": "edge", x1: xs[l] + a.r, y1: a.ys[k], x2: xs[l + 1] - b.r, y2: b.ys[j],
          stroke: rgb(v >= 0 ? POS : NEG), "stroke-width": (0.6 + 9 * Math.abs(v) / wmax).toFixed(2),
          "stroke-opacity": 0.85, "data-w": v, "data-l": l, "data-j": j, "data-k": k}, edges); }
    } else {   // a wide layer: one band, its opacity the layer's mean |w|
      const li = chain.layer[l], m = f.mabs[li], ea = span(l), eb = span(l + 1);
      el("polygon", {"class": "band", points: [ea[0], ea[1], eb[0], eb[1], eb[0], eb[2], ea[0],
        ea[2]].join(" "), fill: "#7f9fae", "fill-opacity": (0.1 + 0.5 * m / mmax).toFixed(3),
        "data-mabs": m}, edges);
    }
  }
  for (let i = 0; i < K; i++){
    // narrow columns (deep networks) get short labels: the layer's name, its activation
    const narrow = colGap < 170, p = pos[i];
    const label = i === 0 ? (narrow ? "input" : "input (" + widths[0] + ")") : narrow ?
      chain.names[i - 1] : chain.names[i - 1] + ": Linear " + widths[i - 1] + "→" + widths[i];
    const act = i === 0 ? "" : chain.acts[i - 1] === "none" ? (narrow ? "–" : "no activation") :
      narrow ? chain.acts[i - 1].slice(0, 7) : chain.acts[i - 1];
    text(svg, xs[i], H - bottom + 26, label, {"text-anchor": "middle", "font-size": narrow ? 14 : 16});
    text(svg, xs[i], H - bottom + 48, act, {"text-anchor": "middle", "font-size": 14, fill: "#555"});
    if (!p){
      const g = el("g", {"class": "summary"}, nodes), x0 = xs[i] - boxW / 2;
      if (i === 0){
        el("rect", {x: x0, y: boxY + boxH / 2 - 40, width: boxW, height: 80, rx: 10, fill: "#fff", stroke: "#889"}, g);
        text(g, xs[i], boxY + boxH / 2 + 6, widths[0] + " inputs" + (D.filters ? " (" + D.filters.shape.join("×") + ")" : ""),
          {"text-anchor": "middle", "font-size": 16});
        continue;
      }
      const li = chain.layer[i - 1];
      el("rect", {x: x0 - 8, y: boxY - 40, width: boxW + 16, height: boxH + 80, rx: 10, fill: "#fff", stroke: "#889"}, g);
      text(g, xs[i], boxY - 16, widths[i] + " units", {"text-anchor": "middle", "font-size": 16});
      histogram(g, x0, boxY, boxW, boxH, f, li);
      text(g, xs[i], boxY + boxH + 26, "weights: mean |w| " + fmt(f.mabs[li]), {"text-anchor": "middle"});
      continue;
    }
    for (let j = 0; j < widths[i]; j++){
      const g = el("g", {"class": "neuron", "data-col": i, "data-unit": j}, nodes), y = p.ys[j];
      let url = null, ring = "#444", rw = 1.5;
      if (D.grid && i === 0 && widths[0] === 2){
        url = mapImage(inputValues(j), G, function(v){ return div(v); });
      } else if (D.grid && i > 0 && f.maps[i - 1]){
        const sc = actScale(chain.acts[i - 1], f.mr[i - 1][0], f.mr[i - 1][1]);
        url = mapImage(unitValues(f, i - 1, j), G, function(v){ return div((v - sc.c) / sc.s); });
      }
      if (i > 0 && f.b[i - 1]){ const b = f.b[i - 1][j];
        ring = rgb(b >= 0 ? POS : NEG); rw = 1.5 + 7 * Math.abs(b) / bmax; g.setAttribute("data-b", b); }
      el("circle", {cx: xs[i], cy: y, r: p.r, fill: "#fff"}, g);
      if (url){ const id = "clip-" + i + "-" + j;
        el("circle", {cx: xs[i], cy: y, r: p.r}, el("clipPath", {id: id}, defs));
        el("image", {href: url, x: xs[i] - p.r, y: y - p.r, width: 2 * p.r, height: 2 * p.r,
          "clip-path": "url(#" + id + ")", preserveAspectRatio: "none"}, g); }
      el("circle", {"class": "ring", cx: xs[i], cy: y, r: p.r, fill: "none", stroke: ring,
        "stroke-width": rw.toFixed(2)}, g);
      if (!url) text(g, xs[i], y + 5, i === 0 ? "x" + (j + 1) : i === K - 1 ? String(j) : "",
        {"text-anchor": "middle"});
    }
  }
}

function drawCards(f){
  netBox.textContent = ""; const cards = h("div", {id: "cards"}, netBox);
  cards.style.position = "absolute"; cards.style.inset = "0";
  D.layers.forEach(function(layer, li){
    const c = h("div", {"class": "card"}, cards);
    h("b", {}, c, layer.name); h("div", {}, c, layer.kind + " · " + layer.params + " parameters");
    h("div", {}, c, layer.shapes.map(function(s){ return "(" + s.join("×") + ")"; }).join(" "));
    const s = el("svg", {width: 280, height: 90, "class": "hist"}, c);
    histogram(s, 0, 0, 280, 90, f, li);
    h("div", {}, c, "±" + fmt(f.hr[li]) + " · mean |w| " + fmt(f.mabs[li]));
    h("div", {}, c, "‖grad‖ " + fmt(f.gn[li]));
  });
}

function drawSurface(f){
  const [W, H] = box(sideBox), side = Math.max(50, Math.min(W, H) - 44);
  sideBox.textContent = "";
  const cv = h("canvas", {id: "surface", width: side, height: side}, sideBox);
  cv.style.left = ((W - side) / 2) + "px";
  const ctx = cv.getContext("2d"), e = D.grid.extent, out = D.output;
  let colour = null, legend = "";
  if (f.surfc){ const C = out.classes;
    colour = function(_, i){ const p = f.surfp[i] / 255, t = Math.max(0, (p - 1 / C) / (1 - 1 / C));
      return mix(MID, PALETTE[f.surfc[i] % 10], 0.25 + 0.6 * t); };
    legend = "colour: the predicted class, paler where the model is unsure";
  } else if (f.surf){
    const lo = f.sr[0], hi = f.sr[1], val = function(i){ return lo + f.surf[i] * (hi - lo) / 255; };
    if (out.prob) { colour = function(_, i){ return div((val(i) - 0.5) * 2); }; legend = "colour: the output, 0 (orange) … 1 (blue)"; }
    else if (out.kind === "binary") { colour = function(_, i){ return div(2 / (1 + Math.exp(-val(i))) - 1); };
      legend = "colour: sigmoid of the output (a logit), 0 … 1"; }
    else { const m = Math.max(Math.abs(lo), Math.abs(hi), 1e-12);
      colour = function(_, i){ return div(val(i) / m); }; legend = "colour: the output, ±" + fmt(m); }
  }
  if (colour){ ctx.imageSmoothingEnabled = true;   // paler than the points drawn on it
    const pale = function(v, i){ return mix([255, 255, 255], colour(v, i), 0.6); };
    ctx.drawImage(mapCanvas(new Float32Array(G * G), G, pale), 0, 0, side, side); }
  points(ctx, side, e);
  sideSub.textContent = legend + (pts ? "; dots: the training points" : "");
  const ax = h("div", {"class": "sub"}, sideBox, "x₁ " + fmt(e[0]) + " … " + fmt(e[1]) + ",  x₂ " + fmt(e[2]) + " … " + fmt(e[3]));
  ax.style.position = "absolute"; ax.style.bottom = "0"; ax.style.left = ((W - side) / 2) + "px";
}
function points(ctx, side, e){
  if (!pts) return;
  const n = pts.x.length / 2;
  for (let i = 0; i < n; i++){
    const px = (pts.x[2*i] - e[0]) / (e[1] - e[0]) * side, py = (e[3] - pts.x[2*i+1]) / (e[3] - e[2]) * side;
    let c = [60, 60, 60];
    if (pts.t){ const t = pts.t[i];
      if (D.output.kind === "classes") c = PALETTE[t % 10];
      else if (D.output.kind === "binary") c = t > 0.5 ? POS : NEG;
      else c = div(t); }
    const r = n > 100 ? Math.max(4, side / 90) : Math.max(7, side / 50);
    ctx.beginPath(); ctx.arc(px, py, r, 0, 2 * Math.PI);
    ctx.fillStyle = rgb(c); ctx.fill(); ctx.lineWidth = 1.5; ctx.strokeStyle = "#fff"; ctx.stroke(); }
}

function drawFilters(f){
  const [W, H] = box(sideBox), shape = D.filters.shape, n = f.fr.length;
  const cols = Math.ceil(Math.sqrt(n * W / Math.max(H, 1))), rows = Math.ceil(n / cols);
  const tile = Math.floor(Math.min(W / cols, H / rows)) - 6;
  sideBox.textContent = "";
  const cv = h("canvas", {id: "filters", width: cols * (tile + 6), height: rows * (tile + 6)}, sideBox);
  const ctx = cv.getContext("2d"), size = shape[0] * shape[1];
  ctx.imageSmoothingEnabled = false;
  for (let k = 0; k < n; k++){
    const vals = new Float32Array(size);
    for (let i = 0; i < size; i++) vals[i] = f.filt[k * size + i] / 127.5 - 1;
    scratch.width = shape[1]; scratch.height = shape[0];
    const c2 = scratch.getContext("2d"), img = c2.createImageData(shape[1], shape[0]);
    for (let i = 0; i < size; i++){ const c = div(vals[i]);
      img.data[4*i] = c[0]; img.data[4*i+1] = c[1]; img.data[4*i+2] = c[2]; img.data[4*i+3] = 255; }
    c2.putImageData(img, 0, 0);
    ctx.drawImage(scratch, (k % cols) * (tile + 6) + 3, Math.floor(k / cols) * (tile + 6) + 3, tile, tile);
  }
  sideSub.textContent = "each tile: one unit's weights, blue positive, orange negative, scaled to its own max |w|";
}

function drawLoss(i){
  const f = frames[i], n = hist.step.length, left = 80, right = D.output.kind === "binary" ||
    D.output.kind === "classes" ? 58 : 14, top = 10, bottom = 30;
  let lo = Infinity, hi = -Infinity;
  for (const v of hist.loss) if (isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  if (!isFinite(lo)) { lo = 0; hi = 1; }
  const logy = lo > 0 && hi / lo > 20, tr = logy ? Math.log10 : function(v){ return v; };
  let title = "loss " + fmt(f.loss);
  if (right > 20) title += " · accuracy " + (f.acc === null ? "n/a" : (100 * f.acc).toFixed(1) + "%");
  lossTitle.textContent = title;    // first: the title's height decides the chart's
  const svg = svgIn(lossBox, "losscurve"), W = +svg.getAttribute("width"), H = +svg.getAttribute("height");
  let a = tr(lo), b = tr(hi); if (b - a < 1e-12) { a -= 0.5; b += 0.5; }
  const last = Math.max(hist.step[n - 1], 1);
  const X = function(s){ return left + (W - left - right) * s / last; };
  const Y = function(v){ return top + (H - top - bottom) * (1 - (tr(v) - a) / (b - a)); };
  el("rect", {x: left, y: top, width: W - left - right, height: H - top - bottom, fill: "none", stroke: "#ccc"}, svg);
  let before = [], after = [];
  for (let k = 0; k < n; k++){ if (!isFinite(hist.loss[k])) continue;
    const p = X(hist.step[k]).toFixed(1) + "," + Y(hist.loss[k]).toFixed(1);
    (hist.step[k] <= f.step ? before : after).push(p); }
  if (before.length && after.length) after.unshift(before[before.length - 1]);
  el("polyline", {points: after.join(" "), fill: "none", stroke: "#bbb", "stroke-width": 1.5}, svg);
  el("polyline", {id: "lossline", points: before.join(" "), fill: "none", stroke: "#1d1d1d", "stroke-width": 2.2}, svg);
  text(svg, left - 6, top + 12, fmt(hi), {"text-anchor": "end"});
  text(svg, left - 6, H - bottom, fmt(lo), {"text-anchor": "end"});
  if (logy) text(svg, left - 6, (top + H - bottom) / 2, "log", {"text-anchor": "end", fill: "#666"});
  const words = W - right - left > 150;   // as in gradHistory
  text(svg, left, H - 8, words ? "step 0" : "0", {});
  text(svg, W - right, H - 8, (words ? "step " : "") + last, {"text-anchor": "end"});
  if (!words && W - right - left > 110)
    text(svg, (left + W - right) / 2, H - 8, "step", {"text-anchor": "middle", fill: "#666"});
  el("line", {x1: X(f.step), x2: X(f.step), y1: top, y2: H - bottom, stroke: "#c33", "stroke-dasharray": "4 3"}, svg);
  if (f.loss !== null) el("circle", {cx: X(f.step), cy: Y(f.loss), r: 5, fill: "#c33"}, svg);
  if (right > 20){
    const A = function(v){ return top + (H - top - bottom) * (1 - v); }, p = [];
    frames.forEach(function(g){ if (g.acc !== null && g.step <= f.step) p.push(X(g.step).toFixed(1) + "," + A(g.acc).toFixed(1)); });
    el("polyline", {id: "accline", points: p.join(" "), fill: "none", stroke: "#2a9d3a", "stroke-width": 2.2}, svg);
    text(svg, W - right + 6, top + 12, "100%", {fill: "#2a9d3a"});
    text(svg, W - right + 6, H - bottom, "0%", {fill: "#2a9d3a"});
  }
}

function drawGrads(i){
  const svg = svgIn(gradBox, "grads"), W = +svg.getAttribute("width"), H = +svg.getAttribute("height");
  const f = frames[i], names = D.layers.map(function(l){ return l.name; });
  let lo = Infinity, hi = -Infinity;
  for (const v of hist.gn) if (isFinite(v) && v > 0) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  for (const v of f.gn) if (isFinite(v) && v > 0) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  if (!isFinite(lo)) { lo = 1e-8; hi = 1; }
  let a = Math.floor(Math.log10(lo)), b = Math.ceil(Math.log10(hi)); if (b <= a) b = a + 1;
  const rowH = Math.max(16, Math.min(48, (H - 34) / L)), fs = rowH >= 24 ? 16 : 14, right = 86;
  // labels "name · kind", or the names alone when that does not fit in half the width
  let labels = names.map(function(n, k){ return n + " · " + D.layers[k].kind; });
  const chars = function(ls){ return Math.max.apply(null, ls.map(function(l){ return l.length; })); };
  if (chars(labels) * fs * 0.56 > W * 0.5) labels = names;
  const left = Math.min(W * 0.5, 14 + chars(labels) * fs * 0.56);
  const X = function(v){ return left + (W - left - right) * (Math.log10(v) - a) / (b - a); };
  for (let k = 0; k < L; k++){
    const y = 4 + k * rowH, v = f.gn[k];
    text(svg, left - 8, y + rowH * 0.5 + fs * 0.35, labels[k], {"text-anchor": "end", "font-size": fs});
    if (isFinite(v) && v > 0)
      el("rect", {"class": "gbar", x: left, y: y + 3, width: Math.max(1, X(v) - left), height: rowH - 6,
        fill: "#4a78b5", "data-v": v}, svg);
    text(svg, isFinite(v) && v > 0 ? X(v) + 6 : left + 6, y + rowH * 0.5 + fs * 0.35,
      isFinite(v) ? fmt(v) : "no gradient", {"font-size": fs});
  }
  const y = Math.min(4 + L * rowH + 20, H - 4), every = Math.max(1, Math.ceil((b - a) * 56 / (W - left - right)));
  el("line", {x1: left, x2: W - right, y1: y - 16, y2: y - 16, stroke: "#999"}, svg);
  for (let e = a; e <= b; e += every) text(svg, X(Math.pow(10, e)), y, "1e" + e,
    {"text-anchor": "middle", "font-size": 14, fill: "#555"});
  // below the bars, when there is room and the side panel does not show it: the history
  if (H - y > 150 && (D.grid || D.filters)) gradHistory(svg, 0, y + 12, W, H - y - 12, f, 110);
}

function drawGradHistory(f){
  sideSub.textContent = "‖∂loss/∂W‖ of each layer at every recorded step; dashed: this frame";
  const svg = svgIn(sideBox, "gradhistory");
  gradHistory(svg, 0, 0, +svg.getAttribute("width"), +svg.getAttribute("height"), f, 170);
}
function gradHistory(svg, x0, y0, W, H, f, right){   // one line per layer, log scale
  const n = hist.step.length, left = x0 + 70, top = y0 + 10, bottom = 30, rx = x0 + W - right;
  let lo = Infinity, hi = -Infinity;
  for (const v of hist.gn) if (isFinite(v) && v > 0) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  if (!isFinite(lo)) return;
  let a = Math.floor(Math.log10(lo)), b = Math.ceil(Math.log10(hi)); if (b <= a) b = a + 1;
  const last = Math.max(hist.step[n - 1], 1), y1 = y0 + H - bottom;
  const X = function(s){ return left + (rx - left) * s / last; };
  const Y = function(v){ return top + (y1 - top) * (1 - (Math.log10(v) - a) / (b - a)); };
  el("rect", {x: left, y: top, width: rx - left, height: y1 - top, fill: "none", stroke: "#ccc"}, svg);
  for (let k = 0; k < L; k++){
    const p = []; for (let t = 0; t < n; t++){ const v = hist.gn[t * L + k];
      if (isFinite(v) && v > 0) p.push(X(hist.step[t]).toFixed(1) + "," + Y(v).toFixed(1)); }
    const c = rgb(PALETTE[k % 10]);
    el("polyline", {"class": "gline", points: p.join(" "), fill: "none", stroke: c, "stroke-width": 2}, svg);
    if (k < Math.floor((y1 - top) / 20)) text(svg, rx + 10, top + 14 + 20 * k, D.layers[k].name, {fill: c, "font-size": 14});
  }
  el("line", {x1: X(f.step), x2: X(f.step), y1: top, y2: y1, stroke: "#c33", "stroke-dasharray": "4 3"}, svg);
  text(svg, left - 6, top + 12, "1e" + b, {"text-anchor": "end", "font-size": 14});
  text(svg, left - 6, y1, "1e" + a, {"text-anchor": "end", "font-size": 14});
  const words = rx - left > 150;   // a narrow plot: the bare numbers, so the two do not overlap
  text(svg, left, y1 + 22, words ? "step 0" : "0", {});
  text(svg, rx, y1 + 22, (words ? "step " : "") + last, {"text-anchor": "end"});
  if (!words && rx - left > 110)
    text(svg, (left + rx) / 2, y1 + 22, "step", {"text-anchor": "middle", fill: "#666"});
}

// ---------------------------------------------------------------- the player
let cur = 0, timer = null;
function show(i){
  cur = Math.max(0, Math.min(frames.length - 1, i)); const f = frames[cur];
  slider.value = cur;
  counter.textContent = "frame " + (cur + 1) + " / " + frames.length + " · step " + f.step +
    (f.final ? " (end)" : "") + (D.live ? " · live" : "");
  netTitle.textContent = chain ? "the network: edges are weights (thickness |w|; blue +, orange −), rings are biases" +
    (D.grid ? ", each neuron shows its activation over the input plane" : "") :
    "the layers: weight histograms and mean |w|";
  if (chain) drawNetwork(f); else drawCards(f);
  if (D.grid){ sideTitle.textContent = "decision surface: the output over the input plane"; drawSurface(f); }
  else if (D.filters){ sideTitle.textContent = "first layer's filters (" + D.filters.shape.join("×") + ")"; drawFilters(f); }
  else { sideTitle.textContent = "gradient norms over training (log scale)"; drawGradHistory(f); }
  drawLoss(cur); drawGrads(cur);
}
function play(on){
  if (timer) { clearInterval(timer); timer = null; }
  if (on){ if (cur >= frames.length - 1) show(0);
    timer = setInterval(function(){ if (cur >= frames.length - 1) play(false); else show(cur + 1); }, 1000 / +speed.value); }
  buttons.play.textContent = timer ? "pause" : "play"; document.body.dataset.playing = timer ? "1" : "0";
}
buttons.first.onclick = function(){ play(false); show(0); };
buttons.prev.onclick = function(){ play(false); show(cur - 1); };
buttons.next.onclick = function(){ play(false); show(cur + 1); };
buttons.last.onclick = function(){ play(false); show(frames.length - 1); };
buttons.play.onclick = function(){ play(!timer); };
slider.oninput = function(){ play(false); show(+slider.value); };
speed.onchange = function(){ if (timer) play(true); };
document.addEventListener("keydown", function(ev){
  if (ev.target === speed) return;
  const k = ev.key;
  if (k === " ") { ev.preventDefault(); play(!timer); }
  else if (k === "ArrowRight") { ev.preventDefault(); play(false); show(cur + 1); }
  else if (k === "ArrowLeft") { ev.preventDefault(); play(false); show(cur - 1); }
  else if (k === "Home") { play(false); show(0); }
  else if (k === "End") { play(false); show(frames.length - 1); }
});
let pending = null;
window.addEventListener("resize", function(){ clearTimeout(pending); pending = setTimeout(function(){ show(cur); }, 80); });
window.mgWatch = {frames: frames, show: show, current: function(){ return cur; }};
show(D.live ? frames.length - 1 : 0);
})();
"""
