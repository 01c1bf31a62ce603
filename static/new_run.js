"use strict";
// The new-run form. Its fields build a run configuration; the API's validation
// errors ("dotted.path: reason") are shown beside the field of that path.

const EXAMPLE = {
  name: "SMA trend",
  strategy: {
    direction: "long",
    signals: {
      golden: { kind: "sma_cross_up", params: { fast: { min: 5, max: 50, type: "int" }, slow: { min: 60, max: 200, type: "int" } } },
      death: { kind: "sma_cross_down", params: { fast: 10, slow: 60 } },
    },
    entry: { weights: { golden: 1.0 }, threshold: 1.0 },
    exit: { weights: { death: 1.0 }, threshold: 1.0 },
    stop_loss: { min: 0.005, max: 0.05 },
  },
  execution: { fill: "next_open", commission: 0.0001, slippage: 0, position_fraction: 1 },
  objectives: [{ metric: "total_return_pct", goal: "max" }, { metric: "max_drawdown_pct", goal: "min" }],
  ga: { population: 32, generations: 10, seed: 7, elite: 4, min_trades: 1 },
  split: { test_fraction: 0.25 },
  workers: 2,
};

let KINDS = {};    // signal kind -> {doc, params: [[param name, integer?, description], ...]}
let METRICS = [];
let SCHEMA = null; // the configuration's JSON Schema, as served

// A schema node with its $ref (into the schema's $defs) followed.
function resolve(node) {
  while (node && node.$ref) node = node.$ref.split("/").slice(1).reduce((o, k) => o[k], SCHEMA);
  return node;
}

// The help text (the schema's description, units included) of a configuration path:
// that of the field, or of the nearest object holding it (a weight: the weights').
function help(path) {
  let node = SCHEMA, text = "";
  for (const key of path.split(".")) {
    node = resolve(node);
    if (node && !node.properties && (node.oneOf || node.anyOf)) node = resolve((node.oneOf || node.anyOf)[0]);
    if (!node) break;
    node = (node.properties && node.properties[key]) || node.items ||
      (typeof node.additionalProperties === "object" ? node.additionalProperties : undefined);
    if (node && node.description) text = node.description;
  }
  return text;
}

// A number input pair: value (or range min) and an optional "to" (range max);
// settings of the search itself (not genes) have no "to".
function numberField(path, label, value, integer, rangeable = true, description = help(path)) {
  const isRange = value !== null && typeof value === "object";
  const from = el("input", { type: "number", step: "any", "data-path": path, "data-integer": String(integer), class: "from" });
  const to = el("input", { type: "number", step: "any", class: "to", placeholder: "to (range)" });
  from.value = value === null || value === undefined ? "" : isRange ? value.min : value;
  to.value = isRange ? value.max : "";
  to.hidden = !rangeable;
  return el("label", { class: "number", title: description }, `${label} `, from, " ", to, el("span", { class: "field-error" }));
}

function readNumber(label) {
  const from = label.querySelector(".from"), to = label.querySelector(".to");
  if (from.value === "") return null;
  const integer = from.dataset.integer === "true";
  if (to.value === "") return Number(from.value);
  return { min: Number(from.value), max: Number(to.value), type: integer ? "int" : "float" };
}

function signalRow(name, spec) {
  const kind = el("select", { class: "kind", "data-path": `strategy.signals.${name}.kind`, title: "" },
    ...Object.keys(KINDS).map((k) => el("option", { value: k, text: k })));
  kind.value = spec.kind;
  const params = el("span", { class: "params" });
  const row = el("div", { class: "signal" },
    el("label", {}, "Name ", el("input", { class: "signal-name", value: name })), " ",
    el("label", {}, "Kind ", kind), " ",
    el("label", { title: help("strategy.signals.x.timeframe") }, "Timeframe ", el("input", { class: "timeframe", value: spec.timeframe || "", placeholder: "data's own", size: 6 })),
    params, el("button", { type: "button", class: "remove", text: "Remove" }), el("span", { class: "field-error" }));
  const fillParams = (values) => {
    kind.title = KINDS[kind.value].doc;
    params.replaceChildren(...KINDS[kind.value].params.map(([param, integer, description]) =>
      numberField(`strategy.signals.${name}.params.${param}`, param, values[param] ?? null, integer, true, description)));
  };
  fillParams(spec.params || {});
  kind.addEventListener("change", () => { fillParams({}); renderRules(); });
  row.querySelector(".signal-name").addEventListener("change", () => renderRules());
  row.querySelector(".remove").addEventListener("click", () => { row.remove(); renderRules(); });
  return row;
}

function signalNames() {
  return [...document.querySelectorAll("#signals .signal-name")].map((input) => input.value.trim()).filter(Boolean);
}

let ruleValues = {};
function renderRules(config) {
  if (config) ruleValues = { entry: config.entry, exit: config.exit, entry_short: config.entry_short, exit_short: config.exit_short };
  const names = signalNames();
  const box = document.getElementById("rules");
  box.replaceChildren(...["entry", "exit", "entry_short", "exit_short"].map((rule) => {
    const current = ruleValues[rule] || { weights: {}, threshold: rule === "entry" ? 1 : null };
    return el("div", { class: "rule", "data-rule": rule },
      el("b", { text: rule.replace("_", " ") }), " ",
      ...names.map((n) => numberField(`strategy.${rule}.weights.${n}`, `weight ${n}`, current.weights[n] ?? null, false)),
      numberField(`strategy.${rule}.threshold`, "threshold", current.threshold ?? null, false));
  }));
}

function readRule(rule) {
  const box = document.querySelector(`.rule[data-rule='${rule}']`);
  const weights = {};
  for (const label of box.querySelectorAll("label.number")) {
    const path = label.querySelector(".from").dataset.path;
    const value = readNumber(label);
    if (path.includes(".weights.") && value !== null) weights[path.split(".weights.")[1]] = value;
  }
  const threshold = readNumber(box.querySelector(`[data-path='strategy.${rule}.threshold']`).parentNode);
  if (!Object.keys(weights).length && rule !== "entry") return null;  // an optional rule left empty
  return { weights, threshold };
}

const RISK = [["strategy.stop_loss", "stop-loss (fraction)"], ["strategy.take_profit", "take-profit"],
  ["strategy.trailing_stop", "trailing stop"], ["strategy.trailing_activation", "trailing activation"],
  ["strategy.max_bars", "max bars in trade", true], ["execution.commission", "commission"],
  ["execution.slippage", "slippage"], ["execution.position_fraction", "position fraction"]];
const SEARCH = [["ga.population", "population", true], ["ga.generations", "generations", true], ["ga.seed", "seed", true],
  ["ga.elite", "elite", true], ["ga.min_trades", "min trades", true], ["ga.stall_generations", "stop after stalled generations", true],
  ["split.test_fraction", "test fraction (held out)"], ["workers", "workers (0 = one per CPU)", true]];

const NULLABLE = ["strategy.stop_loss", "strategy.take_profit", "strategy.trailing_stop", "strategy.max_bars"];

function get(config, path) { return path.split(".").reduce((o, k) => (o == null ? undefined : o[k]), config); }
function set(config, path, value) {
  const keys = path.split(".");
  let o = config;
  for (const k of keys.slice(0, -1)) o = o[k] ??= {};
  o[keys[keys.length - 1]] = value;
}

function fill(config) {
  document.getElementById("name").value = config.name || "";
  document.getElementById("timestamps").value = (config.data && config.data.timestamps) || "open";
  document.getElementById("timestamps-label").title = help("data.timestamps");
  document.getElementById("direction").value = (config.strategy && config.strategy.direction) || "long";
  const signals = (config.strategy && config.strategy.signals) || {};
  document.getElementById("signals").replaceChildren(...Object.entries(signals).map(([n, s]) => signalRow(n, s)));
  renderRules(config.strategy || {});
  document.getElementById("risk").replaceChildren(
    el("label", { title: help("execution.fill") }, "Fill ", el("select", { id: "fill", "data-path": "execution.fill" },
      el("option", { text: "next_open" }), el("option", { text: "close" }))),
    el("label", { title: help("strategy.end_of_day") }, "End of day exit ", el("input", { id: "end_of_day", type: "checkbox", "data-path": "strategy.end_of_day" })),
    ...RISK.map(([path, label, integer]) => numberField(path, label, get(config, path) ?? null, !!integer)));
  document.getElementById("fill").value = get(config, "execution.fill") || "next_open";
  document.getElementById("end_of_day").checked = !!get(config, "strategy.end_of_day");
  const objectives = config.objectives || [];
  const objectiveRow = (k) => el("div", { class: "objective" },
    el("label", { title: help("objectives.0.metric") }, `Objective ${k + 1} `, el("select", { class: "metric", "data-path": `objectives.${k}.metric` },
      ...(k > 0 ? [el("option", { value: "", text: "(none)" })] : []), ...METRICS.map((m) => el("option", { text: m })))),
    el("select", { class: "goal", "data-path": `objectives.${k}.goal` }, el("option", { text: "max" }), el("option", { text: "min" })),
    el("span", { class: "field-error" }));
  const rows = [objectiveRow(0), objectiveRow(1)];
  rows.forEach((row, k) => {
    row.querySelector(".metric").value = objectives[k] ? objectives[k].metric : "";
    row.querySelector(".goal").value = objectives[k] ? objectives[k].goal : "max";
  });
  document.getElementById("search").replaceChildren(...rows,
    ...SEARCH.map(([path, label, integer]) => numberField(path, label, get(config, path) ?? null, !!integer, false)));
  document.getElementById("config").value = JSON.stringify(config, null, 2);
}

function read() {
  const config = { name: document.getElementById("name").value, data: { dataset: document.getElementById("dataset").value,
                                                                         timestamps: document.getElementById("timestamps").value } };
  const signals = {};
  for (const row of document.querySelectorAll("#signals .signal")) {
    const name = row.querySelector(".signal-name").value.trim();
    const params = {};
    for (const label of row.querySelectorAll("label.number")) {
      params[label.querySelector(".from").dataset.path.split(".params.")[1]] = readNumber(label);
    }
    const spec = { kind: row.querySelector(".kind").value, params };
    const timeframe = row.querySelector(".timeframe").value.trim();
    if (timeframe) spec.timeframe = timeframe;
    signals[name] = spec;
  }
  config.strategy = { direction: document.getElementById("direction").value, signals,
                      end_of_day: document.getElementById("end_of_day").checked };
  for (const rule of ["entry", "exit", "entry_short", "exit_short"]) {
    const value = readRule(rule);
    if (value) config.strategy[rule] = value;
  }
  config.execution = { fill: document.getElementById("fill").value };
  for (const label of document.querySelectorAll("#risk label.number, #search label.number")) {
    const path = label.querySelector(".from").dataset.path;
    const value = readNumber(label);
    if (value !== null) set(config, path, value);
    else if (NULLABLE.includes(path)) set(config, path, null);  // an empty field turns the stop off
  }
  config.objectives = [...document.querySelectorAll(".objective")]
    .map((row) => ({ metric: row.querySelector(".metric").value, goal: row.querySelector(".goal").value }))
    .filter((o) => o.metric);
  return config;
}

function showErrors(details) {
  document.querySelectorAll(".field-error").forEach((span) => { span.textContent = ""; });
  const general = [];
  for (const detail of details) {
    const path = detail.split(":")[0];
    const field = document.querySelector(`[data-path='${CSS.escape(path)}']`);
    const host = field && (field.closest("label.number, .signal, .objective") || field.parentNode);
    const span = host && host.querySelector(".field-error");
    if (span) span.textContent = detail.slice(path.length + 1).trim();
    else general.push(detail);
  }
  document.getElementById("errors").replaceChildren(...general.map((m) => el("li", { text: m })));
}

async function loadDatasets(selected) {
  const datasets = await getJSON("/api/datasets");
  const select = document.getElementById("dataset");
  select.replaceChildren(...datasets.map((d) => el("option", { value: d.id, text: `${d.name} (${d.rows} bars)` })));
  if (selected) select.value = selected;
}

document.getElementById("upload").addEventListener("change", async (event) => {
  const file = event.target.files[0];
  const out = document.getElementById("upload-error");
  out.hidden = true;
  if (!file) return;
  const form = new FormData();
  form.append("file", file);
  const response = await fetch("/api/datasets", { method: "POST", body: form });
  const body = await response.json();
  if (!response.ok) { out.textContent = [body.error, ...(body.details || [])].join("; "); out.hidden = false; return; }
  await loadDatasets(body.id);
});

document.getElementById("add-signal").addEventListener("click", () => {
  const name = `signal${document.querySelectorAll("#signals .signal").length + 1}`;
  document.getElementById("signals").append(signalRow(name, { kind: Object.keys(KINDS)[0], params: {} }));
  renderRules();
});

document.getElementById("apply-json").addEventListener("click", () => {
  try { fill(JSON.parse(document.getElementById("config").value)); showErrors([]); }
  catch (error) { showErrors([`configuration: not valid JSON: ${error.message}`]); }
});

document.getElementById("new-run").addEventListener("submit", async (event) => {
  event.preventDefault();
  const config = read();
  document.getElementById("config").value = JSON.stringify(config, null, 2);
  try {
    const { id } = await postJSON("/api/runs", config);
    window.location = `/runs/${id}`;
  } catch (error) {
    showErrors(error.details.length ? error.details : [error.message]);
  }
});

async function main() {
  SCHEMA = await getJSON("/api/schema/config");
  const strategy = resolve(SCHEMA.properties.strategy);
  for (const ref of strategy.properties.signals.additionalProperties.oneOf) {
    const kind = resolve(ref);
    KINDS[kind.properties.kind.const] = {
      doc: kind.description || "",
      params: Object.entries(resolve(kind.properties.params).properties || {})
        .map(([name, spec]) => [name, resolve(spec.oneOf ? spec.oneOf[0] : spec).type === "integer", spec.description || ""]),
    };
  }
  METRICS = resolve(resolve(SCHEMA.properties.objectives).items).properties.metric.enum;
  const source = new URLSearchParams(window.location.search).get("from") || "";
  let config = EXAMPLE, dataset = null;
  if (source.startsWith("/api/")) {  // a saved run's config or an elite's
    config = await getJSON(source);
    dataset = config.data && config.data.dataset;
  }
  await loadDatasets(dataset);
  fill(config);
  const start = document.getElementById("start");  // disabled until the form knows the signal kinds
  start.disabled = false;
  start.removeAttribute("title");
  document.body.dataset.ready = "true";
}

main();
