"use strict";
// The new-run form. Its fields build a run configuration over the one it was
// loaded with (keys the form has no field for are kept as they are); every field
// says its unit and what it means (the JSON Schema's descriptions). The API's
// validation errors ("dotted.path: reason") are shown beside the field of that
// path and listed next to the Start button, each a link to its field. The JSON
// view follows every edit; JSON the form cannot hold is not loaded into it.

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
  ga: { population: 32, generations: 10, seed: 7, elite: 4, min_trades: 10 },
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

// The schema node of a configuration path (null when the schema has no such field),
// and the help text of the path: that of the field, or of the nearest object
// holding it (a weight: the weights').
function schemaNode(path) {
  let node = SCHEMA, text = "";
  for (const key of path.split(".")) {
    node = resolve(node);
    if (node && !node.properties && (node.oneOf || node.anyOf)) node = resolve((node.oneOf || node.anyOf)[0]);
    if (!node) return { node: null, text };
    node = (node.properties && node.properties[key]) || node.items ||
      (typeof node.additionalProperties === "object" ? node.additionalProperties : undefined);
    if (node && node.description) text = node.description;
  }
  return { node: node || null, text };
}
// The form's own help for the fields it shows in percent (the schema speaks in fractions,
// as the API and the JSON view take them); else the schema's.
const PERCENT_HELP = {
  "execution.commission": "commission per side (paid on entry and again on exit), in percent of the traded notional: 0.1 = 0.1 %",
  "execution.slippage": "slippage per side (each fill), in percent of the price, always against the trader: 0.05 = 0.05 %",
};
function help(path) { return PERCENT_HELP[path] || schemaNode(path).text; }
function inSchema(path) { return schemaNode(path).node !== null; }

// Fields shown in percent (stored as fractions), and each field's unit.
const PERCENT = ["execution.commission", "execution.slippage"];
const UNITS = {
  "strategy.stop_loss": "fraction of the entry price", "strategy.take_profit": "fraction of the entry price",
  "strategy.trailing_stop": "fraction of the best price", "strategy.trailing_activation": "fraction of the entry price",
  "strategy.max_bars": "bars", "execution.commission": "% per side", "execution.slippage": "% per side",
  "execution.position_fraction": "fraction of equity", "ga.population": "individuals", "ga.generations": "generations",
  "ga.seed": "integer", "ga.elite": "individuals", "ga.elite_size": "individuals", "ga.min_trades": "trades",
  "ga.stall_generations": "generations", "split.test_fraction": "fraction of the bars", "workers": "processes",
};
function unitOf(path) {
  if (UNITS[path]) return UNITS[path];
  if (path.includes(".weights.")) return "weight ≥ 0";
  if (path.endsWith(".threshold")) return "score 0…1";
  return "";
}
const round = (x) => Number(x.toPrecision(12));
const shown = (path, v) => (PERCENT.includes(path) && typeof v === "number" ? round(v * 100) : v);
const stored = (path, v) => (PERCENT.includes(path) ? round(v / 100) : v);

// An API error of a percent field told in the percent the user typed: its numbers
// (fractions, as the API checks them) times 100, with "%"
// ("execution.commission: -0.01 must be at least 0" -> "...: -1 % must be at least 0 %").
function inPercent(detail) {
  const path = detail.split(":")[0];
  if (!PERCENT.some((p) => path === p || path.startsWith(`${p}.`))) return detail;
  const reason = detail.slice(path.length + 1).replace(/-?\d+(?:\.\d+)?(?:e[-+]?\d+)?/gi, (n) => `${round(Number(n) * 100)} %`);
  return `${path}:${reason}`;
}

// A number input pair: value (or range min) and an optional "to" (range max);
// settings of the search itself (not genes) have no "to". Its unit follows it,
// its help text is the line below.
function numberField(path, label, value, integer, rangeable = true, description = help(path)) {
  const isRange = value !== null && typeof value === "object";
  const id = `f-${path.replace(/[^A-Za-z0-9_-]/g, "-")}`;
  const from = el("input", { type: "number", step: "any", id, "data-path": path, "data-integer": String(integer), class: "from" });
  const to = el("input", { type: "number", step: "any", class: "to", placeholder: "to (range)", "aria-label": `${label} to` });
  from.value = value === null || value === undefined ? "" : shown(path, isRange ? value.min : value);
  to.value = isRange ? shown(path, value.max) : "";
  to.hidden = !rangeable;
  const unit = unitOf(path);
  return el("label", { class: "number", title: description }, `${label} `, from, " ", to,
    unit ? el("span", { class: "unit", text: unit }) : "", el("span", { class: "field-error" }),
    path.includes(".weights.") ? "" : el("small", { class: "help", text: description }));  // weights: the legend's hint
}

function readNumber(label) {
  const from = label.querySelector(".from"), to = label.querySelector(".to");
  if (from.value === "") return null;
  const path = from.dataset.path;
  const integer = from.dataset.integer === "true";
  if (to.value === "") return stored(path, Number(from.value));
  return { min: stored(path, Number(from.value)), max: stored(path, Number(to.value)), type: integer ? "int" : "float" };
}

function signalRow(name, spec) {
  const kind = el("select", { class: "kind", "data-path": `strategy.signals.${name}.kind`, title: "" },
    ...Object.keys(KINDS).map((k) => el("option", { value: k, text: k })));
  kind.value = KINDS[spec.kind] ? spec.kind : Object.keys(KINDS)[0];  // an unknown kind: Load JSON reports it
  const params = el("span", { class: "params" });
  const kindHelp = el("small", { class: "help" });
  const row = el("div", { class: "signal" },
    el("label", {}, "Name ", el("input", { class: "signal-name", value: name })), " ",
    el("label", {}, "Kind ", kind), " ",
    el("label", { title: help("strategy.signals.x.timeframe") }, "Timeframe ",
      el("input", { class: "timeframe", "data-path": `strategy.signals.${name}.timeframe`, value: spec.timeframe || "", placeholder: "data's own", size: 6 }),
      el("span", { class: "unit", text: "bar size, e.g. 4h" })),
    el("button", { type: "button", class: "remove", text: "Remove" }), el("span", { class: "field-error" }), kindHelp, params);
  const fillParams = (values) => {
    kind.title = KINDS[kind.value].doc;
    kindHelp.textContent = KINDS[kind.value].doc;
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

const RISK = [["strategy.stop_loss", "stop-loss"], ["strategy.take_profit", "take-profit"],
  ["strategy.trailing_stop", "trailing stop"], ["strategy.trailing_activation", "trailing activation"],
  ["strategy.max_bars", "max bars in trade", true], ["execution.commission", "commission"],
  ["execution.slippage", "slippage"], ["execution.position_fraction", "position fraction"]];
const SEARCH = [["ga.population", "population", true], ["ga.generations", "generations", true], ["ga.seed", "seed", true],
  ["ga.elite", "elite", true], ["ga.elite_size", "elite size", true], ["ga.min_trades", "min trades", true],
  ["ga.stall_generations", "stop after stalled generations", true],
  ["split.test_fraction", "test fraction (held out)"], ["workers", "workers (0 = one per CPU)", true]];

const NULLABLE = ["strategy.stop_loss", "strategy.take_profit", "strategy.trailing_stop", "strategy.max_bars"];

let BASE = {};  // the configuration the form was loaded with: keys without a field are kept from it

function get(config, path) { return path.split(".").reduce((o, k) => (o == null ? undefined : o[k]), config); }
function set(config, path, value) {
  const keys = path.split(".");
  let o = config;
  for (const k of keys.slice(0, -1)) o = (o[k] !== null && typeof o[k] === "object") ? o[k] : (o[k] = {});
  o[keys[keys.length - 1]] = value;
}
function unset(config, path) {
  const keys = path.split(".");
  const parent = keys.length > 1 ? get(config, keys.slice(0, -1).join(".")) : config;
  if (parent && typeof parent === "object") delete parent[keys[keys.length - 1]];
}

function helpLine(path) { return el("small", { class: "help", text: help(path) }); }

function fill(config) {
  BASE = structuredClone(config);
  document.getElementById("name").value = config.name || "";
  const dataset = config.data && config.data.dataset;
  const select = document.getElementById("dataset");
  if (dataset && [...select.options].some((o) => o.value === dataset)) select.value = dataset;
  document.getElementById("timestamps").value = (config.data && config.data.timestamps) || "open";
  document.getElementById("timestamps-label").title = help("data.timestamps");
  document.getElementById("direction").value = (config.strategy && config.strategy.direction) || "long";
  const signals = (config.strategy && config.strategy.signals) || {};
  document.getElementById("signals").replaceChildren(...Object.entries(signals).map(([n, s]) => signalRow(n, s)));
  renderRules(config.strategy || {});
  document.getElementById("risk").replaceChildren(
    el("label", { title: help("execution.fill") }, "Fill ", el("select", { id: "fill", "data-path": "execution.fill" },
      el("option", { text: "next_open" }), el("option", { text: "close" })), helpLine("execution.fill")),
    el("label", { title: help("strategy.end_of_day") }, "End of day exit ",
      el("input", { id: "end_of_day", type: "checkbox", "data-path": "strategy.end_of_day" }), helpLine("strategy.end_of_day")),
    ...RISK.map(([path, label, integer]) => numberField(path, label, get(config, path) ?? null, !!integer)));
  document.getElementById("fill").value = get(config, "execution.fill") || "next_open";
  document.getElementById("end_of_day").checked = !!get(config, "strategy.end_of_day");
  const objectives = config.objectives || [];
  const objectiveRow = (k) => el("div", { class: "objective" },
    el("label", { title: help("objectives.0.metric") }, `Objective ${k + 1} `, el("select", { class: "metric", "data-path": `objectives.${k}.metric` },
      ...(k > 0 ? [el("option", { value: "", text: "(none)" })] : []), ...METRICS.map((m) => el("option", { text: m })))),
    el("select", { class: "goal", "data-path": `objectives.${k}.goal`, "aria-label": `objective ${k + 1} goal` },
      el("option", { text: "max" }), el("option", { text: "min" })),
    el("span", { class: "field-error" }),
    k === 0 ? el("small", { class: "help", text: `${help("objectives")}; the elite is ordered by the first` }) : "");
  const rows = [objectiveRow(0), objectiveRow(1)];
  rows.forEach((row, k) => {
    row.querySelector(".metric").value = objectives[k] ? objectives[k].metric : "";
    row.querySelector(".goal").value = objectives[k] ? objectives[k].goal : "max";
  });
  document.getElementById("search").replaceChildren(...rows,
    ...SEARCH.filter(([path]) => inSchema(path))
      .map(([path, label, integer]) => numberField(path, label, get(config, path) ?? null, !!integer, false)));
  fillWalkForward(config);  // walk_forward_form.js
  document.getElementById("config").value = JSON.stringify(config, null, 2);
}

// The configuration the form holds: BASE with every field's value written over it.
function read() {
  const config = structuredClone(BASE);
  config.name = document.getElementById("name").value;
  config.data = { dataset: document.getElementById("dataset").value, timestamps: document.getElementById("timestamps").value };
  const signals = {};
  const baseSignals = get(BASE, "strategy.signals") || {};
  for (const row of document.querySelectorAll("#signals .signal")) {
    const name = row.querySelector(".signal-name").value.trim();
    const params = {};
    for (const label of row.querySelectorAll("label.number")) {
      params[label.querySelector(".from").dataset.path.split(".params.")[1]] = readNumber(label);
    }
    const spec = { ...(baseSignals[name] || {}), kind: row.querySelector(".kind").value, params };
    const timeframe = row.querySelector(".timeframe").value.trim();
    if (timeframe) spec.timeframe = timeframe;
    else delete spec.timeframe;
    signals[name] = spec;
  }
  config.strategy = { ...(config.strategy || {}), direction: document.getElementById("direction").value, signals,
                      end_of_day: document.getElementById("end_of_day").checked };
  for (const rule of ["entry", "exit", "entry_short", "exit_short"]) {
    const value = readRule(rule);
    if (value) config.strategy[rule] = value;
    else delete config.strategy[rule];
  }
  config.execution = { ...(config.execution || {}), fill: document.getElementById("fill").value };
  for (const label of document.querySelectorAll("#risk label.number, #search label.number")) {
    const path = label.querySelector(".from").dataset.path;
    const value = readNumber(label);
    if (value !== null) set(config, path, value);
    else if (NULLABLE.includes(path)) set(config, path, null);  // an empty field turns the stop off
    else unset(config, path);  // its default
  }
  if (config.split && !Object.keys(config.split).length) delete config.split;
  config.objectives = [...document.querySelectorAll(".objective")]
    .map((row) => ({ metric: row.querySelector(".metric").value, goal: row.querySelector(".goal").value }))
    .filter((o) => o.metric);
  readWalkForward(config);  // walk_forward_form.js
  return config;
}

function syncJSON() {
  document.getElementById("config").value = JSON.stringify(read(), null, 2);
  scheduleEstimate();
}

// The run's size and time as the server estimates them (POST /api/runs/estimate:
// the submission's own checks, nothing stored), shown by Start; asked at most
// every half second while the form changes.
let estimateTimer = null;
function scheduleEstimate() {
  clearTimeout(estimateTimer);
  estimateTimer = setTimeout(showEstimate, 500);
}
async function showEstimate() {
  const line = document.getElementById("estimate");
  try {
    const { evaluations, workers, seconds, mode, note } = await postJSON("/api/runs/estimate", read());
    line.textContent = `${evaluations.toLocaleString()} evaluation${evaluations === 1 ? "" : "s"} on ${workers} ` +
      `worker${workers === 1 ? "" : "s"}${mode === "dask" ? " of the Dask cluster" : ""}: ` +
      `about ${fmtDuration(seconds)} (a rough estimate${note ? `; ${note}` : ""})`;
    line.dataset.state = "ok";
    listEstimateErrors([]);
  } catch (error) {
    line.textContent = `No estimate yet: ${error.details && error.details.length ? error.details.length + " problem(s) to fix" : error.message}`;
    line.dataset.state = "invalid";
    listEstimateErrors(error.details || []);
  }
}

// The estimate's problems listed at once (linked to their fields) as Start lists
// its own; cleared when the estimate is valid again. A refused load's list (Start
// held) stays until the form is edited.
let estimateListed = false;
function listEstimateErrors(details) {
  if (document.getElementById("start").disabled || (!details.length && !estimateListed)) return;
  showErrors(details.map(inPercent));
  estimateListed = details.length > 0;
}

// The form field of an error's path: the field of the path, else of its nearest
// parent that has one (an error on a range's "max" goes to the range's field).
function fieldOf(path) {
  const keys = path.split(".");
  for (let n = keys.length; n > 0; n--) {
    const field = document.querySelector(`[data-path='${CSS.escape(keys.slice(0, n).join("."))}']`);
    if (field) return field;
  }
  return null;
}

// Errors beside their fields, and all of them listed next to the Start button,
// each a link that focuses its field.
function showErrors(details) {
  document.querySelectorAll(".field-error").forEach((span) => { span.textContent = ""; });
  document.querySelectorAll("[aria-invalid]").forEach((node) => node.removeAttribute("aria-invalid"));
  const items = [];
  for (const detail of details) {
    const path = detail.split(":")[0];
    const field = path.includes(" ") ? null : fieldOf(path);
    const host = field && (field.closest("label.number, .signal, .objective") || field.parentNode);
    const span = host && host.querySelector(".field-error");
    if (span) span.textContent = [span.textContent, detail.slice(path.length + 1).trim()].filter(Boolean).join("; ");
    if (!field) { items.push(el("li", { text: detail })); continue; }
    field.setAttribute("aria-invalid", "true");
    const link = el("a", { href: `#${field.id || ""}`, class: "error-link", "data-path": path, text: detail });
    link.addEventListener("click", (event) => {
      event.preventDefault();
      const details = field.closest("details");
      if (details) details.open = true;
      field.scrollIntoView({ block: "center" });
      field.focus();
    });
    items.push(el("li", {}, link));
  }
  const summary = document.getElementById("errors");
  summary.replaceChildren(...(items.length ? [el("li", { class: "count", text: `${items.length} problem${items.length > 1 ? "s" : ""} to fix before starting:` })] : []), ...items);
  summary.hidden = items.length === 0;
}

function barSize(seconds) {
  for (const [unit, size] of [["d", 86400], ["h", 3600], ["m", 60]]) {
    if (seconds >= size && seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
}

async function loadDatasets(selected) {
  const datasets = await getJSON("/api/datasets");
  const select = document.getElementById("dataset");
  select.replaceChildren(...datasets.map((d) => el("option", { value: d.id,
    text: `${d.name} · ${barSize(d.bar_seconds)} bars · ${d.first_time.slice(0, 10)} to ${d.last_time.slice(0, 10)} · ${d.rows} rows` })));
  if (selected) select.value = selected;
}

document.getElementById("upload").addEventListener("change", async (event) => {
  const file = event.target.files[0];
  const out = document.getElementById("upload-error");
  const notes = document.getElementById("upload-warnings");
  out.hidden = true;
  notes.replaceChildren();
  if (!file) return;
  const form = new FormData();
  form.append("file", file);
  const response = await fetch("/api/datasets", { method: "POST", body: form });
  const body = await response.json();
  if (!response.ok) { out.textContent = [body.error, ...(body.details || [])].join("; "); out.hidden = false; return; }
  const messages = [...body.warnings];
  if (body.existing) messages.unshift(`the same candles are already stored as “${body.dataset.name}” (${body.id}); that dataset is selected`);
  notes.replaceChildren(...messages.map((m) => el("li", { text: m })));
  await loadDatasets(body.id);
  syncJSON();
});

document.getElementById("add-signal").addEventListener("click", () => {
  const name = `signal${document.querySelectorAll("#signals .signal").length + 1}`;
  document.getElementById("signals").append(signalRow(name, { kind: Object.keys(KINDS)[0], params: {} }));
  renderRules();
  syncJSON();
});

// A configuration's leaves by dotted path (a range's min, max and type are leaves).
function leaves(value, prefix = "", out = {}) {
  if (value !== null && typeof value === "object" && Object.keys(value).length) {
    for (const [key, inner] of Object.entries(value)) leaves(inner, prefix ? `${prefix}.${key}` : key, out);
  } else out[prefix] = value;
  return out;
}

// A null the schema defaults to (no stall limit, the data's own timeframe, no short
// rule): the form holds it as an empty or absent field, which means the same.
function nullByDefault(path) {
  const node = resolve(schemaNode(path).node);
  return !!node && Object.hasOwn(node, "default") && node.default === null;
}
function held(path, value, holds) {
  return JSON.stringify(holds) === JSON.stringify(value) || (value === null && holds === undefined && nullByDefault(path));
}

function describe(value) {
  return value === undefined ? "nothing" : JSON.stringify(value);
}

// Loads the JSON into the fields only if they hold it exactly: otherwise the form
// stays as it was and each value it would have changed or dropped is an error.
document.getElementById("apply-json").addEventListener("click", () => {
  let config;
  try { config = JSON.parse(document.getElementById("config").value); }
  catch (error) { showErrors([`configuration: not valid JSON: ${error.message}`]); return; }
  if (config === null || typeof config !== "object" || Array.isArray(config)) {
    showErrors(["configuration: must be a JSON object"]);
    return;
  }
  const before = read(), text = document.getElementById("config").value;
  let problems;
  try {
    fill(config);
    const holds = leaves(read());
    problems = Object.entries(leaves(config)).filter(([path, value]) => !held(path, value, holds[path]))
      .map(([path, value]) => `${path}: ${describe(value)} cannot be held by the form (it would become ${describe(holds[path])}); fix it in the JSON`);
  } catch (error) {
    problems = [`configuration: cannot be shown in the form: ${error.message}`];
  }
  if (problems.length) {
    fill(before);
    document.getElementById("config").value = text;  // as written, to be fixed
    showErrors(problems);
    holdStart();
    return;
  }
  showErrors([]);
  releaseStart();
  syncJSON();
});

// After a refused load the JSON box shows what the form does not hold: Start waits
// (disabled, its title says why) until the form is edited or a load succeeds, so it
// never starts something other than what the user sees.
const HELD = "the JSON below was not loaded (see the problems listed): the form still holds its earlier values. " +
  "Fix the JSON and load it, or edit the form, to start";
function holdStart() {
  const start = document.getElementById("start");
  start.disabled = true;
  start.title = HELD;
  start.dataset.held = "true";
}
function releaseStart() {
  const start = document.getElementById("start");
  if (start.dataset.held !== "true") return;
  delete start.dataset.held;
  start.disabled = false;
  start.removeAttribute("title");
}

const formNode = document.getElementById("new-run");
const edited = () => { releaseStart(); syncJSON(); };
formNode.addEventListener("input", edited);
formNode.addEventListener("change", edited);
formNode.addEventListener("click", (event) => {
  if (event.target.closest("button.remove")) edited();
  else if (event.target.closest("#add-signal")) releaseStart();  // its own listener syncs the JSON
});

formNode.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (document.getElementById("start").disabled) return;  // held after a refused load, or still loading
  const config = read();
  document.getElementById("config").value = JSON.stringify(config, null, 2);
  try {
    const { id } = await postJSON("/api/runs", config);
    window.location = `/runs/${id}`;
  } catch (error) {
    showErrors(error.details && error.details.length ? error.details.map(inPercent) : [error.message]);
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
  if (!config.data || !config.data.dataset) syncJSON();  // the example: with the selected dataset
  const start = document.getElementById("start");  // disabled until the form knows the signal kinds
  start.disabled = false;
  start.removeAttribute("title");
  document.body.dataset.ready = "true";
  showEstimate();
}

main();
