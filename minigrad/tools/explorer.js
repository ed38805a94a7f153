// minigrad explore: the page's script (minigrad/exploring.py embeds it).
// It reads the JSON in #mg-data and the SVG that graphviz laid out, and
// writes every name and number with textContent: nothing from the data is
// ever parsed as HTML.  window.explorer is its handle (docs/explore.md).
(function () {
  "use strict";

  const data = JSON.parse(document.getElementById("mg-data").textContent);
  const nodes = data.nodes;
  // "reverse": the forward pass, then backward; "forward": forward mode's sweep (values and tangents);
  // "both": forward mode's sweep, then backward, the two results side by side.
  const mode = data.mode || "reverse";
  const tangents = data.tangents || {};
  let weight = data.weight;
  const graphBox = document.getElementById("mg-graph");
  const svg = graphBox.querySelector("svg");
  const stepPanel = document.getElementById("mg-step-panel");
  const explainPanel = document.getElementById("mg-explain-panel");
  const status = document.getElementById("mg-status");

  // -- the steps: 0 is the start, then the forward pass, then the backward pass --

  const steps = [{ phase: "forward", node: null, number: 0 }];
  data.forward.forEach((id, k) => steps.push({ phase: "forward", node: id, number: k + 1 }));
  if (mode !== "forward") {
    data.backward.forEach((entry, k) => steps.push({ phase: "backward", node: entry.node, number: k + 1, entry }));
  }
  const total = steps.length - 1;
  const backwardStart = data.forward.length + 1;

  // When each node is computed (leaves: from the start) and when each gradient contribution arrives.
  const computedAt = nodes.map(() => 0);
  data.forward.forEach((id, k) => { computedAt[id] = k + 1; });
  const gradEvents = nodes.map(() => []);
  const backwardOf = {};
  data.backward.forEach((entry) => { backwardOf[entry.node] = entry; });
  (mode === "forward" ? [] : data.backward).forEach((entry, k) => {
    const step = backwardStart + k;
    if (entry.node === data.root) {
      gradEvents[entry.node].push({ step, count: 1, of: 1, complete: true, value: entry.grad });
    }
    entry.edges.forEach((edge) => {
      if (!edge.constant) {
        gradEvents[edge.parent].push({ step, count: edge.count, of: edge.of, complete: edge.complete,
                                       value: edge.sum });
      }
    });
  });

  // -- the SVG's parts --------------------------------------------------------

  const valueGroups = {}, opGroups = {}, edgeGroups = {};
  const gradTexts = {}, gradOriginals = {};
  if (svg) {
    svg.querySelectorAll("g[data-node]").forEach((g) => {
      const id = g.getAttribute("data-node");
      valueGroups[id] = g;
      gradTexts[id] = Array.from(g.querySelectorAll("text.mg-grad"));
      gradOriginals[id] = gradTexts[id].map((text) => text.textContent);
    });
    svg.querySelectorAll("g[data-op]").forEach((g) => { opGroups[g.getAttribute("data-op")] = g; });
    svg.querySelectorAll("g[data-from]").forEach((g) => {
      const key = g.getAttribute("data-from") + ">" + g.getAttribute("data-to");
      (edgeGroups[key] = edgeGroups[key] || []).push(g);
    });
  }

  function edgesInto(id) {
    // The edges that carry node id's inputs into its op, and the op's result out to it.
    const found = [];
    nodes[id].parents.forEach((parent) => {
      found.push(...(edgeGroups["node" + parent + ">node" + id + "_op"] || []));
    });
    found.push(...(edgeGroups["node" + id + "_op>node" + id] || []));
    return found;
  }

  // -- small DOM helpers: text only ----------------------------------------------

  function el(tag, className, ...children) {
    const element = document.createElement(tag);
    if (className) element.className = className;
    children.forEach((child) => {
      if (child === null || child === undefined) return;
      element.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return element;
  }

  function row(cells, className) {
    const tr = el("tr", className);
    cells.forEach((cell) => tr.appendChild(el("td", null, cell)));
    return tr;
  }

  function gradientOf(id) {
    return "∂" + data.lossName + "/∂" + nodes[id].name;
  }

  function isScalar(value) {
    return value && value.shape.length === 0;
  }

  function operand(value) {
    // A number as the right-hand side of × or +: a negative one in parentheses.
    return el("span", "mg-number", isScalar(value) && value.text.startsWith("-") ? "(" + value.text + ")" : value.text);
  }

  // -- state -------------------------------------------------------------------

  let current = 0;
  let selected = null;   // {param: id, element: k}
  let zoom = 1;

  function state() {
    const step = steps[current];
    const found = { mode, step: current, total, phase: step.phase,
                    node: step.node === null ? null : nodes[step.node].name };
    if (mode !== "reverse") {
      found.weight = weight;
      found.forwardResult = forwardResult();
      found.reverseResult = reverseResult();
    }
    return found;
  }

  // -- forward mode: the chosen weight's tangents, and the two results ------------------------

  function tangentOf(id) {
    // The tangent ẋ = ∂x/∂weight of node id (null: the weight does not reach it, so it is 0).
    const entry = tangents[weight];
    return entry ? entry.values[id] : null;
  }

  function number(value) {
    return typeof value === "number" ? value : Number(value);
  }

  function forwardResult() {
    // The loss's tangent once the forward sweep has reached the loss.
    const entry = tangents[weight];
    return entry && computedAt[data.root] <= current ? number(entry.loss) : null;
  }

  function gradientArrives(id) {
    const events = gradEvents[id].filter((event) => event.complete);
    return events.length ? events[events.length - 1].step : Infinity;
  }

  function reverseResult() {
    // The weight's gradient once the backward pass has completed it.
    const entry = tangents[weight];
    return entry && mode === "both" && gradientArrives(entry.param) <= current ? number(entry.reverse) : null;
  }

  function compact(value) {
    // A short text for a number or a small array (the graph's boxes and the sweep table).
    if (value === null) return "0";
    if (isScalar(value)) return value.short;
    if (!value.data) return value.text;
    const flat = [value.data].flat(8);
    const text = "[" + flat.map((x) => (typeof x === "number" ? Number(x.toPrecision(3)) : x)).join(", ") + "]";
    return text.length > 40 ? text.slice(0, 39) + "…" : text;
  }

  function go(step) {
    current = Math.max(0, Math.min(total, step));
    paintAll();
    return state();
  }

  // -- drawing the graph's state -------------------------------------------------

  function setHidden(texts, hidden) {
    texts.forEach((text) => text.classList.toggle("mg-hidden", hidden));
  }

  function paintGraph() {
    if (!svg) return;
    const step = steps[current];
    svg.querySelectorAll(".mg-current, .mg-feeding, .mg-flow-forward, .mg-flow-backward, .mg-fresh")
      .forEach((element) => element.classList.remove("mg-current", "mg-feeding", "mg-flow-forward",
                                                      "mg-flow-backward", "mg-fresh"));
    nodes.forEach((node, id) => {
      const group = valueGroups[id];
      const op = opGroups[id];
      const future = computedAt[id] > current;
      if (group) {
        group.classList.toggle("mg-future", future);
        setHidden(Array.from(group.querySelectorAll("text.mg-data")), future);
      }
      if (op) {
        op.classList.toggle("mg-future", future);
        setHidden(Array.from(op.querySelectorAll("text.mg-annotation")), future);
      }
      edgesInto(id).forEach((edge) => edge.classList.toggle("mg-future", future));
      paintGrad(id);
    });
    svg.querySelectorAll(".mg-weight").forEach((element) => element.classList.remove("mg-weight"));
    if (mode !== "reverse" && tangents[weight] && valueGroups[tangents[weight].param]) {
      valueGroups[tangents[weight].param].classList.add("mg-weight");
    }
    if (step.node === null) return;
    const id = step.node;
    [valueGroups[id], opGroups[id]].forEach((group) => group && group.classList.add("mg-current"));
    edgesInto(id).forEach((edge) => edge.classList.add(step.phase === "forward" ? "mg-flow-forward"
                                                                                  : "mg-flow-backward"));
    nodes[id].parents.forEach((parent) => {
      const group = valueGroups[parent];
      if (group && (step.phase === "forward" || nodes[parent].kind !== "constant")) {
        group.classList.add("mg-feeding");
      }
    });
    reveal([valueGroups[id], opGroups[id]].concat(nodes[id].parents.map((parent) => valueGroups[parent])));
  }

  function paintTangent(id, texts) {
    texts.forEach((text) => text.classList.remove("mg-partial", "mg-tangent", "mg-tangent-zero"));
    if (computedAt[id] > current) {
      setHidden(texts, true);
      return;
    }
    const value = tangentOf(id);
    setHidden(texts, false);
    texts[0].textContent = "ẋ " + compact(value);
    setHidden(texts.slice(1), true);
    texts[0].classList.add(value === null ? "mg-tangent-zero" : "mg-tangent");
    if (computedAt[id] === current && current > 0) texts[0].classList.add("mg-fresh-forward");
  }

  function paintGrad(id) {
    const texts = gradTexts[id];
    if (!texts || texts.length === 0) return;
    texts.forEach((text) => text.classList.remove("mg-tangent", "mg-tangent-zero", "mg-fresh-forward"));
    if (mode !== "reverse" && current < backwardStart) {
      paintTangent(id, texts);
      return;
    }
    if (!isScalar(nodes[id].value)) texts.forEach((text, k) => { text.textContent = gradOriginals[id][k]; });
    let event = null;
    gradEvents[id].forEach((candidate) => { if (candidate.step <= current) event = candidate; });
    texts.forEach((text) => text.classList.remove("mg-partial"));
    if (event === null) {
      setHidden(texts, true);
      return;
    }
    setHidden(texts, false);
    if (isScalar(nodes[id].value)) {
      texts[0].textContent = "grad " + event.value.short;
    } else if (event.complete) {
      texts.forEach((text, k) => { text.textContent = gradOriginals[id][k]; });
    } else {
      texts[0].textContent = "grad … " + event.count + " of " + event.of;
      setHidden(texts.slice(1), true);
    }
    texts.forEach((text) => text.classList.toggle("mg-partial", !event.complete));
    if (event.step === current) texts.forEach((text) => text.classList.add("mg-fresh"));
  }

  function paintSelection() {
    if (!svg) return;
    svg.querySelectorAll(".mg-path").forEach((element) => element.classList.remove("mg-path"));
    const entry = selectedEntry();
    if (!entry) return;
    valueGroups[selected.param] && valueGroups[selected.param].classList.add("mg-path");
    if (!entry.nodes) return;
    entry.nodes.forEach((id) => valueGroups[id] && valueGroups[id].classList.add("mg-path"));
    entry.edges.forEach(([parent, child]) => {
      (edgeGroups["node" + parent + ">node" + child + "_op"] || []).forEach((edge) => edge.classList.add("mg-path"));
      (edgeGroups["node" + child + "_op>node" + child] || []).forEach((edge) => edge.classList.add("mg-path"));
      opGroups[child] && opGroups[child].classList.add("mg-path");
    });
  }

  function reveal(elements) {
    // Scroll so that the current node, its op and its inputs are in view: centred when they
    // are not (the current node wins when they do not all fit).
    const boxes = elements.filter(Boolean).map((element) => element.getBoundingClientRect());
    if (boxes.length === 0) return;
    const view = graphBox.getBoundingClientRect();
    const margin = 24;
    const span = (low, high, viewLow, viewHigh, own) => {
      const lowest = Math.min(...boxes.map(low)), highest = Math.max(...boxes.map(high));
      if (lowest >= viewLow + margin && highest <= viewHigh - margin) return 0;
      if (highest - lowest > viewHigh - viewLow - 2 * margin) return (low(own) + high(own) - viewLow - viewHigh) / 2;
      return (lowest + highest - viewLow - viewHigh) / 2;
    };
    graphBox.scrollLeft += span((box) => box.left, (box) => box.right, view.left, view.right, boxes[0]);
    graphBox.scrollTop += span((box) => box.top, (box) => box.bottom, view.top, view.bottom, boxes[0]);
  }

  // -- the step panel --------------------------------------------------------------

  function paintStep() {
    const step = steps[current];
    stepPanel.replaceChildren();
    document.getElementById("mg-reset").disabled = document.getElementById("mg-back").disabled = current === 0;
    document.getElementById("mg-step").disabled = document.getElementById("mg-end").disabled = current === total;
    if (data.summary !== null) {
      status.textContent = "summary only";
      return;
    }
    const phaseName = step.node === null ? "start" : step.phase;
    const where = step.node === null ? "step 0 of " + total
      : "step " + current + " of " + total + " · " + step.phase + " " + step.number + " of "
        + (step.phase === "forward" ? data.forward.length : data.backward.length);
    stepPanel.appendChild(el("div", "mg-where", el("span", "mg-badge mg-badge-" + phaseName, phaseName), " " + where));
    status.textContent = where;
    if (step.node === null) {
      paintStart();
    } else if (step.phase === "forward") {
      paintForward(step.node);
      if (mode !== "reverse") paintTangentStep(step.node);
    } else {
      paintBackward(step);
    }
  }

  function paintStart() {
    const parameters = nodes.filter((node) => node.kind === "parameter").length;
    const constants = nodes.filter((node) => node.kind === "constant").length;
    stepPanel.appendChild(el("h2", null, "Before the forward pass"));
    stepPanel.appendChild(el("p", null, "The leaves hold their values: " + parameters + " parameter"
      + (parameters === 1 ? "" : "s") + " (blue) and " + constants + " constant" + (constants === 1 ? "" : "s")
      + " (dashed). Nothing else is computed yet."));
    stepPanel.appendChild(el("p", null, "Step (→) through the forward pass, " + data.forward.length
      + " ops, then the backward pass, " + data.backward.length + " nodes in the order the engine hands their "
      + "gradients on. Click a blue parameter to see every chain-rule path to it."));
  }

  function opLine(node) {
    return el("div", "mg-op", "op ", el("code", null, node.label), "  ", el("span", "mg-formula", node.formula));
  }

  function paintForward(id) {
    const node = nodes[id];
    stepPanel.appendChild(el("h2", null, node.name));
    stepPanel.appendChild(opLine(node));
    const table = el("table", "mg-table");
    table.appendChild(row(["input", "", "value"], "mg-head"));
    node.parents.forEach((parent, position) => {
      const label = node.arguments[position];
      table.appendChild(row([nodes[parent].name, label === null ? "" : label,
                             el("span", "mg-number", nodes[parent].value.text)]));
    });
    table.appendChild(row([el("b", null, node.name), "result", el("span", "mg-number mg-result", node.value.text)],
                          "mg-result-row"));
    node.annotations.forEach(([label, value]) => {
      table.appendChild(row([label, "kept for backward", el("span", "mg-number", value.text)]));
    });
    stepPanel.appendChild(table);
  }

  function paintTangentStep(id) {
    // ẋ_y = Σ_k ∂y/∂x_k · ẋ_k: the op's forward-mode rule, with its numbers where they are scalars.
    const node = nodes[id];
    const entry = backwardOf[id];
    const card = el("div", "mg-tangent-card");
    card.appendChild(el("div", "mg-line", "forward mode: ", el("span", "mg-math", "ẋ = ∂" + node.name + "/∂" + weight),
                        " = Σ ", el("span", "mg-math", "∂" + node.name + "/∂x · ẋ"), " over its inputs x"));
    (entry ? entry.edges : []).forEach((edge) => {
      const parent = nodes[edge.parent];
      const carried = tangentOf(edge.parent);
      const line = el("div", "mg-line", el("span", "mg-math", "∂" + node.name + "/∂" + parent.name), " = ",
                      el("span", "mg-formula", edge.formula));
      if (edge.local && edge.local.text !== edge.formula) line.append(" = ", el("span", "mg-number", edge.local.text));
      line.append("  × ẋ ", el("span", "mg-number", compact(carried)));
      if (carried === null) line.classList.add("mg-muted");
      card.appendChild(line);
    });
    card.appendChild(el("div", "mg-line", el("b", null, "ẋ " + node.name + " = "),
                        el("span", "mg-number mg-result mg-tangent-value", compact(tangentOf(id)))));
    stepPanel.appendChild(card);
  }

  function cell(text, className) {
    return el("td", className || null, text);
  }

  function paintSweeps() {
    const box = document.getElementById("mg-sweeps");
    if (!box || mode === "reverse") return;
    box.replaceChildren();
    const entry = tangents[weight];
    if (!entry) return;
    const title = el("h2", null, "∂" + data.lossName + "/∂" + weight + ", forward and reverse");
    box.appendChild(title);
    const chooser = el("div", "mg-elements mg-weights", "weight w: ");
    Object.keys(tangents).forEach((name) => {
      const button = el("button", name === weight ? "mg-chosen" : null, name);
      button.type = "button";
      button.addEventListener("click", () => select(name));
      chooser.appendChild(button);
    });
    box.appendChild(chooser);
    const forward = forwardResult(), reverse = reverseResult();
    const results = el("div", "mg-results");
    results.appendChild(el("div", "mg-result-box mg-result-forward",
      el("div", "mg-result-title", "forward mode: ẋ of " + data.lossName),
      el("div", "mg-number mg-big mg-forward-result", forward === null ? "…" : forward.toPrecision(12)),
      el("div", "mg-muted", forward === null ? "after the forward sweep, step " + computedAt[data.root]
                                             : "one forward sweep, seeded ẋ = 1 at " + weight)));
    results.appendChild(el("div", "mg-result-box mg-result-reverse",
      el("div", "mg-result-title", "reverse mode: grad of " + weight),
      el("div", "mg-number mg-big mg-reverse-result", reverse === null ? "…" : reverse.toPrecision(12)),
      el("div", "mg-muted", mode === "forward" ? "explore(loss, mode=\"both\") steps through it"
        : reverse === null ? "after the backward pass reaches " + weight + ", step " + gradientArrives(entry.param)
          : "one backward sweep, seeded 1 at " + data.lossName)));
    box.appendChild(results);
    if (forward !== null && reverse !== null) {
      box.appendChild(el("div", "mg-agree", "the same number (difference " + Math.abs(forward - reverse).toExponential(1)
                                            + "): Eq. 6.30's ∂" + data.lossName + "/∂" + weight));
    }
    const table = el("table", "mg-table mg-sweep-table");
    const head = el("tr", "mg-head");
    head.append(cell("node"), cell("ẋ = ∂x/∂" + weight + " (forward)"),
                cell("∂" + data.lossName + "/∂x (reverse)"));
    table.appendChild(head);
    const step = steps[current];
    [entry.param].concat(data.forward).forEach((id) => {
      const tr = el("tr", step.node === id ? "mg-row-current" : null);
      tr.setAttribute("data-row", String(id));
      const tangent = computedAt[id] <= current ? compact(tangentOf(id)) : "";
      const arrived = mode === "both" && gradientArrives(id) <= current;
      const events = gradEvents[id];
      tr.append(cell(nodes[id].name), cell(tangent, "mg-number mg-tangent-cell"),
                cell(arrived ? compact(events[events.length - 1].value) : "", "mg-number mg-grad-cell"));
      table.appendChild(tr);
    });
    const scroller = el("div", "mg-sweep-scroll", table);
    box.appendChild(scroller);
    const ledger = data.ledger;
    const costs = el("table", "mg-table mg-ledger");
    costs.appendChild(row(["cost of the whole gradient (" + ledger.parameters + " parameters)", "forward mode",
                           "reverse mode"], "mg-head"));
    costs.appendChild(row(["sweeps", ledger.forwardSweeps + " (one per parameter)",
                           ledger.reverseSweeps + " (after the forward pass)"]));
    costs.appendChild(row(["multiplications", String(ledger.forwardMultiplications),
                           String(ledger.reverseMultiplications)]));
    costs.appendChild(row(["this weight alone", entry.multiplications + " multiplications, 1 sweep", "—"]));
    box.appendChild(costs);
    const currentRow = table.querySelector("tr.mg-row-current");
    if (currentRow) {
      const top = currentRow.offsetTop, bottom = top + currentRow.offsetHeight;
      if (top < scroller.scrollTop + 24 || bottom > scroller.scrollTop + scroller.clientHeight) {
        scroller.scrollTop = top - scroller.clientHeight / 2;
      }
    }
  }

  function paintBackward(step) {
    const entry = step.entry;
    const node = nodes[entry.node];
    stepPanel.appendChild(el("h2", null, node.name));
    stepPanel.appendChild(opLine(node));
    const incoming = el("div", "mg-incoming");
    if (entry.node === data.root) {
      incoming.append("seed ", el("span", "mg-math", entry.gradName), " = ",
                      el("span", "mg-number mg-result", entry.grad.text));
    } else {
      incoming.append("incoming gradient ", el("span", "mg-math", entry.gradName), " = ",
                      el("span", "mg-number mg-result", entry.grad.text));
    }
    stepPanel.appendChild(incoming);
    stepPanel.appendChild(el("h3", null, "handed to each input"));
    entry.edges.forEach((edge) => stepPanel.appendChild(edgeCard(entry, node, edge)));
    if (current === total) {
      stepPanel.appendChild(el("p", "mg-done", "Backward pass complete: every node that needs a gradient has one."));
    }
  }

  function edgeCard(entry, node, edge) {
    const parent = nodes[edge.parent];
    const card = el("div", "mg-edge" + (edge.constant ? " mg-edge-constant" : ""));
    const label = node.arguments[edge.position];
    card.appendChild(el("div", "mg-edge-title", el("b", null, parent.name),
                        label === null ? "" : "  (" + label + ")"));
    const local = el("div", "mg-line", "local ", el("span", "mg-math", "∂" + node.name + "/∂" + parent.name),
                     " = ", el("span", "mg-formula", edge.formula));
    if (edge.local && edge.local.text !== edge.formula) local.append(" = ", el("span", "mg-number", edge.local.text));
    if (edge.equation) local.append("  ", el("span", "mg-eq", "Eq. " + edge.equation));
    card.appendChild(local);
    if (edge.constant) {
      card.appendChild(el("div", "mg-line mg-muted", "a constant: it needs no gradient"));
      return card;
    }
    const handed = el("div", "mg-line", "handed on ");
    if (edge.local && isScalar(entry.grad)) {
      handed.append(el("span", "mg-number", entry.grad.text), " × ", operand(edge.local), " = ");
    }
    handed.append(el("span", "mg-number mg-result", edge.handed.text));
    card.appendChild(handed);
    const sum = el("div", "mg-line", el("span", "mg-math", gradientOf(edge.parent)), " ");
    if (edge.previous) {
      sum.append("= ", el("span", "mg-number", edge.previous.text), " + ", operand(edge.handed),
                 " = ", el("span", "mg-number mg-result mg-sum", edge.sum.text));
    } else {
      sum.append("= ", el("span", "mg-number mg-result mg-sum", edge.sum.text));
    }
    const progress = "contribution " + edge.count + " of " + edge.of + (edge.complete ? ": complete" : "");
    sum.append(" ", el("span", edge.complete ? "mg-complete" : "mg-pending", progress));
    card.appendChild(sum);
    if (edge.complete && edge.heldGrad && edge.heldGrad.text !== edge.sum.text) {
      card.appendChild(el("div", "mg-line mg-muted", ".grad holds " + edge.heldGrad.text
                                                     + " (accumulated over earlier backward passes)"));
    }
    return card;
  }

  // -- the chain rule for a clicked parameter -----------------------------------------

  function selectedEntry() {
    if (selected === null) return null;
    return data.explanations[String(selected.param)].elements[selected.element] || null;
  }

  function paintExplanation() {
    explainPanel.replaceChildren();
    const entry = selectedEntry();
    if (!entry) return;
    const info = data.explanations[String(selected.param)];
    const close = el("button", "mg-clear", "×");
    close.type = "button";
    close.title = "Clear (Esc)";
    close.addEventListener("click", () => select(null));
    explainPanel.appendChild(el("h2", null, "Chain rule: ", el("span", "mg-math", "∂" + data.lossName + "/∂"
                                                                           + entry.name), close));
    if (info.elements.length > 1) {
      const chooser = el("div", "mg-elements");
      info.elements.forEach((element, k) => {
        const button = el("button", k === selected.element ? "mg-chosen" : null, element.name);
        button.type = "button";
        button.addEventListener("click", () => {
          selected = { param: selected.param, element: k };
          pickWeight(selected.param, k);
          paintAll();
        });
        chooser.appendChild(button);
      });
      if (info.more > 0) chooser.appendChild(el("span", "mg-muted", " and " + info.more + " more (use explain)"));
      explainPanel.appendChild(chooser);
    }
    if (entry.error) {
      explainPanel.appendChild(el("p", "mg-muted", entry.error));
      return;
    }
    explainPanel.appendChild(el("p", "mg-muted", entry.paths.length + " path" + (entry.paths.length === 1 ? "" : "s")
      + " from the loss; each factor is one local derivative, identity factors (add, …) folded in."));
    entry.paths.forEach((path, number) => {
      explainPanel.appendChild(el("div", "mg-path-title", "path " + (number + 1) + ": " + path.steps));
      const table = el("table", "mg-table mg-factors");
      path.factors.forEach((factor) => {
        const what = el("div", "mg-factor-source", factor.ops);
        if (factor.equation) what.append("  ", el("span", "mg-eq", "Eq. " + factor.equation));
        const left = el("div", null, el("span", "mg-math", factor.derivative), " = ",
                        el("span", "mg-formula", factor.formula));
        table.appendChild(row([el("div", null, left, what), el("span", "mg-number", factor.text)]));
      });
      table.appendChild(row(["product", el("span", "mg-number mg-result", path.productText)], "mg-result-row"));
      explainPanel.appendChild(table);
    });
    const sums = el("table", "mg-table mg-sums");
    sums.appendChild(row(["sum over " + entry.paths.length + " path" + (entry.paths.length === 1 ? "" : "s"),
                          el("span", "mg-number mg-result mg-total", entry.totalText)]));
    sums.appendChild(row([entry.name + ".grad (backward)", el("span", "mg-number mg-grad-value", entry.gradText)]));
    sums.appendChild(row(["difference", el("span", entry.agrees ? "mg-complete" : "mg-pending",
                                            entry.difference + (entry.agrees ? "  agrees" : "  DIFFERS"))]));
    explainPanel.appendChild(sums);
  }

  function select(name) {
    // Select a parameter (or one element of a tensor parameter, "v[1,0]") by name; null clears.
    if (name === null || name === undefined) {
      selected = null;
      paintAll();
      return true;
    }
    if (mode !== "reverse" && tangents[name]) weight = name;
    for (const key of Object.keys(data.explanations)) {
      const info = data.explanations[key];
      for (let k = 0; k < info.elements.length; k++) {
        if (info.elements[k].name === name || (k === 0 && nodes[Number(key)].name === name)) {
          selected = { param: Number(key), element: k };
          pickWeight(Number(key), k);
          paintAll();
          reveal([valueGroups[key]]);
          return true;
        }
      }
    }
    return false;
  }

  // -- zoom ------------------------------------------------------------------------------

  function naturalSize() {
    const box = svg.viewBox.baseVal;
    return { width: box.width * 4 / 3, height: box.height * 4 / 3 };  // graphviz's points as CSS pixels
  }

  function setZoom(scale) {
    if (!svg) return;
    // The floor is 0.2, or lower where that is what fits a large graph whole.
    zoom = Math.max(Math.min(0.2, fitZoom()), Math.min(3, scale));
    const size = naturalSize();
    svg.setAttribute("width", Math.floor(size.width * zoom) + "px");
    svg.setAttribute("height", Math.floor(size.height * zoom) + "px");
  }

  function fitZoom() {
    // The graph box's content area (its padding taken off) over the graph's natural size, measured with
    // the graph out of the way: the scroll bars of a graph drawn too large would take their width off.
    const style = getComputedStyle(graphBox);
    const display = svg.style.display;
    svg.style.display = "none";
    const width = graphBox.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    const height = graphBox.clientHeight - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom);
    svg.style.display = display;
    const size = naturalSize();
    return Math.max(0.01, Math.min(width / size.width, height / size.height));
  }

  // The page opens with the whole graph in view (never enlarged past 1:1), and keeps it so when the
  // window is resized, until the reader zooms in or out; "fit" goes back to that.
  let fitted = true;

  function fitGraph() {
    fitted = true;
    setZoom(Math.min(1, fitZoom()));
  }

  // -- wiring ----------------------------------------------------------------------------

  function paintAll() {
    paintGraph();
    paintSelection();
    paintSweeps();
    paintStep();
    paintExplanation();
  }

  function pickWeight(param, element) {
    // In forward mode the clicked parameter (element) becomes the weight w whose tangents are shown.
    if (mode === "reverse") return;
    const info = data.explanations[String(param)];
    const name = info && info.elements[element] ? info.elements[element].name : null;
    if (name !== null && tangents[name]) {
      weight = name;
      return;
    }
    const found = Object.keys(tangents).find((key) => tangents[key].param === param);
    if (found) weight = found;
  }

  const explorer = Object.freeze({
    step: () => go(current + 1),
    back: () => go(current - 1),
    reset: () => go(0),
    end: () => go(total),
    state,
    select,
  });
  window.explorer = explorer;

  document.getElementById("mg-step").addEventListener("click", explorer.step);
  document.getElementById("mg-back").addEventListener("click", explorer.back);
  document.getElementById("mg-reset").addEventListener("click", explorer.reset);
  document.getElementById("mg-end").addEventListener("click", explorer.end);
  document.getElementById("mg-zoom-in").addEventListener("click", () => { fitted = false; setZoom(zoom * 1.25); });
  document.getElementById("mg-zoom-out").addEventListener("click", () => { fitted = false; setZoom(zoom / 1.25); });
  document.getElementById("mg-zoom-fit").addEventListener("click", fitGraph);
  window.addEventListener("resize", () => { if (fitted) fitGraph(); });
  document.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const action = { ArrowRight: explorer.step, ArrowLeft: explorer.back, Home: explorer.reset,
                     End: explorer.end, Escape: () => select(null) }[event.key];
    if (action) {
      event.preventDefault();
      action();
    }
  });
  if (svg) {
    svg.addEventListener("click", (event) => {
      const group = event.target.closest("g[data-node]");
      if (group && group.getAttribute("data-kind") === "parameter") {
        const id = Number(group.getAttribute("data-node"));
        selected = { param: id, element: 0 };
        pickWeight(id, 0);
        paintAll();
      }
    });
    fitGraph();
  }
  if (data.summary !== null) {
    const note = document.getElementById("mg-note");
    note.textContent = data.summary;
    note.hidden = false;
  }
  paintAll();
})();
