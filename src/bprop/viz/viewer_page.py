"""The page of ``bp.viz.view``: HTML, CSS and plain JavaScript, no network resource.

``viewer.py`` replaces ``/*DATA*/null`` with the graph as JSON (nodes with their position,
value, δ, docstring and check; the steps) and ``<!--TITLE-->`` with the title. The script
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
</style></head>
<body>
<div id="graph"><svg id="svg" xmlns="http://www.w3.org/2000/svg"></svg></div>
<div id="side">
  <div id="controls">
    <button id="prev" type="button">◀ back</button>
    <button id="next" type="button">step ▶</button>
    <button id="reset" type="button">reset</button>
  </div>
  <div id="step-title"></div>
  <div id="explain"></div>
  <h4>node</h4><div id="node-label"></div>
  <h4>value</h4><pre id="value-values"></pre>
  <h4>δ = ∂C/∂(this tensor)</h4><pre id="delta-values"></pre>
  <h4>inputs</h4><pre id="inputs"></pre>
  <h4>the op and its backward formula</h4><pre id="doc"></pre>
  <h4>finite-difference check of this op alone</h4><div id="check"></div>
</div>
<script>
"use strict";
const DATA = /*DATA*/null;
const W = 160, H = 46;
const byId = new Map(DATA.nodes.map(n => [n.id, n]));
const svg = document.getElementById("svg");
const NS = "http://www.w3.org/2000/svg";
let step = -1;

function shapeText(s) { return s.shape.length ? "(" + s.shape.join(", ") + ")" : "scalar"; }
function num(v) { return Number(v).toPrecision(6); }
function arrayText(s) {
  if (!s) return "—";
  const head = shapeText(s) + "  ‖·‖ = " + num(s.norm) + "  mean " + num(s.mean) +
    "  min " + num(s.min) + "  max " + num(s.max);
  if (!s.complete) return head + "\nfirst values: " + s.values.map(num).join(" ") + " …";
  const last = s.shape.length ? s.shape[s.shape.length - 1] : 1;
  const rows = [];
  for (let i = 0; i < s.values.length; i += last) rows.push(s.values.slice(i, i + last).map(num).join(" "));
  return head + "\n" + rows.join("\n");
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

function show(n, phase) {
  document.getElementById("node-label").textContent = n.label + "  (" + n.kind + ", node " + n.id + ")";
  document.getElementById("value-values").textContent = arrayText(n.value);
  document.getElementById("delta-values").textContent = n.delta ? arrayText(n.delta) : "no gradient flows here";
  document.getElementById("inputs").textContent = n.inputs.map(i => {
    const a = byId.get(i);
    const flows = phase === "backward" && a.delta;
    return a.label + " " + shapeText(a.value) + (flows ? "  receives δ, ‖δ‖ = " + num(a.delta.norm) : "");
  }).join("\n") || "—";
  document.getElementById("doc").textContent = n.doc || (n.kind === "param" ?
    "a parameter: its δ is the gradient .grad that the optimizer uses" : "an input: no gradient is needed");
  document.getElementById("check").textContent = n.check || (n.kind === "op" ? "inputs too large for the check" : "—");
}

function render() {
  clearMarks();
  svg.dataset.current = "";
  const title = document.getElementById("step-title"), words = document.getElementById("explain");
  if (step < 0) {
    title.textContent = "Start: " + DATA.steps.length + " steps, loss C = " + num(DATA.loss);
    words.textContent = "Press step ▶ to run the forward pass op by op, then backprop δ one node at a time.";
    return;
  }
  const s = DATA.steps[step], n = byId.get(s.node);
  svg.dataset.current = n.id;
  nodeEl(n.id).classList.add("current");
  title.textContent = `Step ${step + 1} of ${DATA.steps.length}: ${s.phase}, ${n.label}`;
  for (const i of n.inputs) {
    const e = svg.querySelector(`.edge[data-from="${i}"][data-to="${n.id}"]`);
    if (s.phase === "forward") { nodeEl(i).classList.add("source"); e.classList.add("forward-flow"); }
    else if (byId.get(i).delta) { nodeEl(i).classList.add("receives"); e.classList.add("delta-flow"); }
  }
  words.textContent = s.phase === "forward"
    ? "Forward: " + n.label + " computes its output from the green inputs."
    : n.kind === "param"
      ? "δ has arrived at the parameter " + n.label + ": this is its .grad."
      : "Backward: δ at the output of " + n.label + " flows by its backward formula to the red inputs.";
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
draw();
render();
</script>
</body></html>
"""
