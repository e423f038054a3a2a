"""The page of ``bp.viz.view``: HTML, CSS and plain JavaScript, no network resource.

``viewer.py`` replaces ``/*DATA*/null`` with the graph as JSON (nodes with their position,
value, δ, backward formula, check, note and the step from which δ is shown; the steps; the
page's words in the chosen language) and ``<!--TITLE-->`` with the title. The script
draws the graph as SVG and moves a highlight along the steps: forward through the ops, then
backward through the ops and on to the parameters.
"""

PAGE = r"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title><!--TITLE--></title>
<style>
body{font-family:sans-serif;margin:0;display:flex;height:100vh}
#graph{flex:1;overflow:auto;border-right:1px solid #ccc}
#side{width:460px;overflow:auto;padding:10px 14px;font-size:14px}
#controls button{font-size:15px;margin-right:6px;padding:4px 10px}
#step-title{font-weight:bold;margin:10px 0 4px}
pre{background:#f6f6f6;padding:6px;white-space:pre-wrap;font-size:12px;margin:4px 0}
.node rect{stroke:#555;stroke-width:1;rx:6}
.node.op rect{fill:#dde8f8}.node.param rect{fill:#f8e8c8}.node.input rect{fill:#eeeeee}
.node text{font-size:12px;text-anchor:middle;pointer-events:none}
.node{cursor:pointer}
.node.current rect{stroke:#e0a000;stroke-width:4}
.node.source rect{stroke:#2a7;stroke-width:3}
.node.receives rect{stroke:#d22;stroke-width:3}
.edge{fill:none;stroke:#999;stroke-width:1.2}
.edge.forward-flow{stroke:#2a7;stroke-width:3}
.edge.delta-flow{stroke:#d22;stroke-width:3;stroke-dasharray:6 3}
h4{margin:10px 0 2px}
table.grid{border-collapse:collapse;font-family:monospace;font-size:12px;margin:4px 0}
table.grid td{border:1px solid #ccc;padding:1px 5px;text-align:right}
.summary{font-family:monospace;font-size:12px;color:#444}
#note{color:#7a4a00;margin:6px 0}
</style></head>
<body>
<div id="graph"><svg id="svg" xmlns="http://www.w3.org/2000/svg"></svg></div>
<div id="side">
  <div id="controls">
    <button id="prev" type="button" data-t="back"></button>
    <button id="next" type="button" data-t="step"></button>
    <button id="reset" type="button" data-t="reset"></button>
  </div>
  <div id="step-title"></div>
  <div id="explain"></div>
  <h4 data-t="node"></h4><div id="node-label"></div><div id="note"></div>
  <h4 data-t="value"></h4><div id="value-values"></div>
  <h4 data-t="delta"></h4><div id="delta-values"></div>
  <h4 data-t="inputs"></h4><div id="inputs"></div>
  <h4 data-t="formula"></h4><pre id="doc"></pre>
  <h4 data-t="check"></h4><div id="check"></div>
</div>
<script>
"use strict";
const DATA = /*DATA*/null;
const W = 160, H = 46;
const byId = new Map(DATA.nodes.map(n => [n.id, n]));
const svg = document.getElementById("svg");
const NS = "http://www.w3.org/2000/svg";
let step = -1;

function T(key, vars) {
  let t = DATA.text[key] || key;
  for (const [k, v] of Object.entries(vars || {})) t = t.split("{" + k + "}").join(v);
  return t;
}
function shapeText(s) { return s.shape.length ? "(" + s.shape.join(", ") + ")" : T("scalar"); }
function num(v) { return Number(v).toPrecision(6); }
function esc(t) { return String(t).replace(/&/g, "&amp;").replace(/</g, "&lt;"); }
// A tensor as a grid: one table row per row of its last two axes (small tensors), else a summary.
function arrayHtml(s) {
  if (!s) return "—";
  const stats = T("stats", {norm: num(s.norm), mean: num(s.mean), min: num(s.min), max: num(s.max)});
  const head = "<div class='summary'>" + esc(shapeText(s) + "  " + stats) + "</div>";
  if (!s.complete) return head + "<div class='summary'>" + s.values.map(num).join(" ") + " …</div>";
  const last = s.shape.length ? s.shape[s.shape.length - 1] : 1;
  const rows = [];
  for (let i = 0; i < s.values.length; i += last) {
    rows.push("<tr>" + s.values.slice(i, i + last).map(v => "<td>" + num(v) + "</td>").join("") + "</tr>");
  }
  return head + "<table class='grid'>" + rows.join("") + "</table>";
}

function draw() {
  let width = 0, height = 0;
  const edges = document.createElementNS(NS, "g");
  const boxes = document.createElementNS(NS, "g");
  for (const n of DATA.nodes) {
    width = Math.max(width, n.x + W + 20); height = Math.max(height, n.y + H + 20);
    for (const i of n.inputs) {
      const a = byId.get(i), p = document.createElementNS(NS, "path");
      const x1 = a.x + W / 2, y1 = a.y + H, x2 = n.x + W / 2, y2 = n.y, m = (y1 + y2) / 2;
      p.setAttribute("d", `M${x1},${y1} C${x1},${m} ${x2},${m} ${x2},${y2}`);
      p.setAttribute("class", "edge"); p.dataset.from = i; p.dataset.to = n.id;
      edges.appendChild(p);
    }
    const g = document.createElementNS(NS, "g");
    g.setAttribute("class", "node " + n.kind); g.dataset.id = n.id;
    g.setAttribute("transform", `translate(${n.x},${n.y})`);
    const r = document.createElementNS(NS, "rect");
    r.setAttribute("width", W); r.setAttribute("height", H); r.setAttribute("rx", 6);
    const t1 = document.createElementNS(NS, "text"), t2 = document.createElementNS(NS, "text");
    t1.setAttribute("x", W / 2); t1.setAttribute("y", 19); t1.textContent = n.label;
    t2.setAttribute("x", W / 2); t2.setAttribute("y", 36); t2.textContent = shapeText(n.value);
    g.append(r, t1, t2);
    g.addEventListener("click", () => show(n, null));
    boxes.appendChild(g);
  }
  svg.setAttribute("width", width); svg.setAttribute("height", height);
  svg.append(edges, boxes);
}

function clearMarks() {
  for (const el of svg.querySelectorAll(".current,.source,.receives,.forward-flow,.delta-flow")) {
    el.classList.remove("current", "source", "receives", "forward-flow", "delta-flow");
  }
}

function nodeEl(id) { return svg.querySelector(`.node[data-id="${id}"]`); }

function reached(n) { return n.delta && n.reached !== null && step >= n.reached; }

function show(n, phase) {
  document.getElementById("node-label").textContent =
    T("node_label", {label: n.label, kind: T("kind_" + n.kind), id: n.id});
  document.getElementById("note").textContent = n.note || "";
  document.getElementById("value-values").innerHTML = arrayHtml(n.value);
  document.getElementById("delta-values").innerHTML =
    !n.delta ? esc(T("no_grad")) : reached(n) ? arrayHtml(n.delta) : esc(T("not_yet"));
  const users = i => DATA.nodes.filter(m => m.inputs.includes(i)).length;
  document.getElementById("inputs").innerHTML = n.inputs.map(i => {
    const a = byId.get(i);
    const flows = phase === "backward" && a.delta;
    const share = flows ? "<div>" + esc(T("receives")) + (users(i) > 1 ? " " + esc(T("total")) : "") + "</div>" +
      arrayHtml(a.delta) : "";
    return "<div><b>" + esc(a.label) + "</b> " + esc(shapeText(a.value)) + "</div>" + share;
  }).join("") || "—";
  document.getElementById("doc").textContent = n.doc || (n.kind === "param" ? T("param") : T("input"));
  document.getElementById("check").textContent = n.check || (n.kind === "op" ? T("too_large") : "—");
}

function render() {
  clearMarks();
  svg.dataset.current = "";
  const title = document.getElementById("step-title"), words = document.getElementById("explain");
  if (step < 0) {
    title.textContent = T("start", {steps: DATA.steps.length, loss: num(DATA.loss)});
    words.textContent = T("start_words");
    return;
  }
  const s = DATA.steps[step], n = byId.get(s.node);
  svg.dataset.current = n.id;
  nodeEl(n.id).classList.add("current");
  title.textContent = T("step_title", {k: step + 1, n: DATA.steps.length, phase: T(s.phase), label: n.label});
  for (const i of n.inputs) {
    const e = svg.querySelector(`.edge[data-from="${i}"][data-to="${n.id}"]`);
    if (s.phase === "forward") { nodeEl(i).classList.add("source"); e.classList.add("forward-flow"); }
    else if (byId.get(i).delta) { nodeEl(i).classList.add("receives"); e.classList.add("delta-flow"); }
  }
  words.textContent = T(s.phase === "forward" ? "forward_words" : n.kind === "param" ? "param_words" : "backward_words",
    {label: n.label});
  show(n, s.phase);
  nodeEl(n.id).scrollIntoView({block: "nearest", inline: "nearest"});
}

document.getElementById("next").addEventListener("click", () => {
  if (step < DATA.steps.length - 1) step++;
  render();
});
document.getElementById("prev").addEventListener("click", () => { if (step > -1) step--; render(); });
document.getElementById("reset").addEventListener("click", () => { step = -1; render(); });
document.addEventListener("keydown", e => {
  if (e.key === "ArrowRight") document.getElementById("next").click();
  if (e.key === "ArrowLeft") document.getElementById("prev").click();
});
for (const el of document.querySelectorAll("[data-t]")) el.textContent = T(el.dataset.t);
draw();
render();
</script>
</body></html>
"""
