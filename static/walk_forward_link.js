"use strict";
// The run page of a walk-forward: its link to the walk-forward page says the verdict
// ("walk-forward, 5 folds: passed"), and the "Is it real?" panel says, first, that a
// walk-forward is judged by its stitched out-of-sample figures (linked) and that the
// PBO below is its last fold's search only. Read again when the run's state changes.

async function showWalkForwardVerdict() {
  const [verdict] = await getJSON(`/api/walk-forward?runs=${RUN_ID}`);
  if (!verdict) return;
  const link = document.getElementById("walk-forward-link");
  link.textContent = `${verdict.label[0].toUpperCase()}${verdict.label.slice(1)}: folds and out-of-sample results`;
  link.dataset.passed = verdict.passed === null ? "" : String(verdict.passed);
  const panel = document.getElementById("robustness");
  let note = document.getElementById("wf-robustness");
  if (!note) {
    note = el("p", { id: "wf-robustness", class: "verdict" });
    panel.querySelector("h2").after(note);
  }
  const s = verdict.stitched;
  const pct = (v) => (v === null || v === undefined ? "–" : `${fmt(v)} %`);
  const page = el("a", { href: `/runs/${RUN_ID}/walk-forward`, text: verdict.label });
  note.dataset.level = verdict.passed === null ? "caution" : verdict.passed ? "robust" : "overfit";
  note.replaceChildren(page, verdict.finished
    ? `: out of sample (every fold's test window, stitched) net profit ${pct(s.total_return_pct)}, `
      + `max drawdown ${pct(s.max_drawdown_pct)}, Sharpe ${fmt(s.sharpe)}, efficiency ${fmt(verdict.efficiency)}. `
      + `The PBO and the charts below are the last fold's search only (its training window).`
    : `. The out-of-sample verdict comes once every fold has run; the PBO below is the last fold's search only.`);
}

getJSON(`/api/runs/${RUN_ID}/config`).then((config) => {
  if (!config || !config.walk_forward) return;
  document.getElementById("walk-forward-link").hidden = false;
  // run.js writes the run's state and generation into the page: read the verdict
  // again when they change (at most every 2 s; at once when the state changes).
  const state = document.getElementById("state");
  let seen = null, timer = null;
  const read = () => { timer = null; showWalkForwardVerdict().catch(() => {}); };
  const again = () => {
    if (state.textContent !== seen) { seen = state.textContent; clearTimeout(timer); read(); return; }
    if (timer === null) timer = setTimeout(read, 2000);
  };
  again();
  for (const id of ["state", "generation"]) {
    new MutationObserver(again).observe(document.getElementById(id), { childList: true, characterData: true, subtree: true });
  }
}).catch(() => {});
