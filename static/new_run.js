"use strict";
// The new-run form: a dataset, an upload, and the configuration as JSON.

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
    take_profit: null,
  },
  execution: { fill: "next_open", commission: 0.0001 },
  objectives: [{ metric: "total_return_pct", goal: "max" }, { metric: "max_drawdown_pct", goal: "min" }],
  ga: { population: 32, generations: 10, seed: 7 },
  split: { test_fraction: 0.25 },
  workers: 2,
};

const select = document.getElementById("dataset");
const textarea = document.getElementById("config");
const errors = document.getElementById("errors");

async function loadDatasets(selected) {
  const datasets = await getJSON("/api/datasets");
  select.replaceChildren(...datasets.map((d) => el("option", { value: d.id, text: `${d.name} (${d.rows} bars)` })));
  if (selected) select.value = selected;
}

function showErrors(messages) {
  errors.replaceChildren(...messages.map((m) => el("li", { text: m })));
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
  if (!response.ok) {
    out.textContent = [body.error, ...(body.details || [])].join("; ");
    out.hidden = false;
    return;
  }
  await loadDatasets(body.id);
});

document.getElementById("new-run").addEventListener("submit", async (event) => {
  event.preventDefault();
  let config;
  try {
    config = JSON.parse(textarea.value);
  } catch (error) {
    showErrors([`configuration: not valid JSON: ${error.message}`]);
    return;
  }
  config.data = { dataset: select.value };
  try {
    const { id } = await postJSON("/api/runs", config);
    window.location = `/runs/${id}`;
  } catch (error) {
    showErrors(error.details.length ? error.details : [error.message]);
  }
});

const params = new URLSearchParams(window.location.search);
textarea.value = JSON.stringify(EXAMPLE, null, 2);
loadDatasets();
if ((params.get("from") || "").startsWith("/api/")) {  // ?from=/api/...: a saved run config or an elite
  getJSON(params.get("from")).then((config) => {
    const dataset = config.data && config.data.dataset;
    delete config.data;
    textarea.value = JSON.stringify(config, null, 2);
    if (dataset) loadDatasets(dataset);
  });
}
