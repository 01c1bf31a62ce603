"use strict";
// The new-run form's walk-forward section (loaded before new_run.js, which calls
// fillWalkForward when it fills the form and readWalkForward when it reads it).
// Ticked, the configuration gets a walk_forward section and loses its split.

const WF_DEFAULT = { folds: 5, mode: "rolling", train: 0.5, test: 0.1 };

// A window as typed: an integer is a bar count, a decimal a fraction, "90d" or "1.5d" a
// duration (<number><unit>, decimals allowed; the server checks it and names the units).
const WF_WINDOW_HELP = "a bar count (an integer, at least 2), a fraction of the bars in (0, 1), or a duration "
  + "<number><unit>, decimals allowed, the unit one of s, m, h, d, w: 90d, 1.5d, 36h";
function windowValue(text) {
  const value = text.trim();
  if (/^\d+$/.test(value)) return Number(value);
  if (/^\d*\.\d+$/.test(value)) return Number(value);
  return value;
}

function fillWalkForward(config) {
  const section = config.walk_forward || null;
  const values = { ...WF_DEFAULT, ...(section || {}) };
  document.getElementById("wf-on").checked = !!section;
  document.getElementById("wf-fields").hidden = !section;
  syncSplitField();
  document.getElementById("wf-folds").value = values.folds;
  document.getElementById("wf-mode").value = values.mode;
  document.getElementById("wf-train").value = String(values.train);
  document.getElementById("wf-test").value = String(values.test);
  const select = document.getElementById("wf-select");
  const metrics = (typeof METRICS !== "undefined" && METRICS.length) ? METRICS : [];
  select.replaceChildren(el("option", { value: "", text: "(the first objective)" }),
    ...metrics.map((m) => el("option", { text: m })));
  select.value = values.select || "";
  for (const id of ["wf-folds", "wf-mode", "wf-train", "wf-test", "wf-select"]) {
    const path = document.getElementById(id).dataset.path;
    if (typeof help === "function") document.getElementById(id).parentNode.title = help(path);
  }
  for (const id of ["wf-train", "wf-test"]) {  // the grammar in words, visible once under each window
    const label = document.getElementById(id).parentNode;
    if (!label.querySelector(".wf-window-help")) label.append(el("small", { class: "help wf-window-help", text: WF_WINDOW_HELP }));
  }
}

function readWalkForward(config) {
  if (!document.getElementById("wf-on").checked) {
    delete config.walk_forward;
    return;
  }
  const folds = document.getElementById("wf-folds").value.trim();
  const section = { ...(config.walk_forward || {}), folds: folds === "" ? WF_DEFAULT.folds : Number(folds),
    mode: document.getElementById("wf-mode").value,
    train: windowValue(document.getElementById("wf-train").value),
    test: windowValue(document.getElementById("wf-test").value) };
  const select = document.getElementById("wf-select").value;
  if (select) section.select = select;
  else delete section.select;
  config.walk_forward = section;
  delete config.split;  // each fold has its own test window
}

// The split's test fraction is dropped with walk-forward on (each fold has its own
// test window): disabled then, with the reason in one line under it.
const SPLIT_DROPPED = "not used with walk-forward on: each fold is judged on its own test window";
function syncSplitField() {
  const field = document.querySelector("[data-path='split.test_fraction']");
  if (!field) return;
  const on = document.getElementById("wf-on").checked;
  const label = field.closest("label") || field.parentNode;
  label.querySelectorAll("input").forEach((input) => { input.disabled = on; });
  let why = label.querySelector(".split-dropped");
  if (!why) {
    why = el("small", { class: "help split-dropped", text: SPLIT_DROPPED });
    label.append(why);
  }
  why.style.display = on ? "" : "none";  // (.help sets a display: the hidden attribute alone would not hide it)
  label.classList.toggle("disabled", on);
}

document.getElementById("wf-on").addEventListener("change", (event) => {
  document.getElementById("wf-fields").hidden = !event.target.checked;
  syncSplitField();
});
