"use strict";
// The run page of a walk-forward: its link to the walk-forward page says the verdict
// ("walk-forward, 5 folds: passed"), and the "Is it real?" panel says, first, that a
// walk-forward is judged by its stitched out-of-sample figures (linked) and what is
// the last fold's search only (the PBO, the elite and its deflated Sharpe ratios;
// the per-generation charts span every fold, their boundaries marked by run.js).
// The Elite heading says its fold. Read again when the run's state changes.

// "fold 5 of 5, its training window": the scope of the run's best and elite (the
// fold of its last stored generation), or null before the first.
function eliteScope(verdict) {
  return verdict.best_fold ? `fold ${verdict.best_fold} of ${verdict.folds}, its training window` : null;
}

function showEliteScope(verdict) {
  const scope = eliteScope(verdict);
  if (!scope) return;
  document.getElementById("elite-heading").textContent = `Elite (${scope})`;
  const made = `fold ${verdict.best_fold}'s search made on its training window`;
  if (document.getElementById("elite").dataset.scope !== made) setEliteScope(made);
}

async function showWalkForwardVerdict() {
  const [verdict] = await getJSON(`/api/walk-forward?runs=${RUN_ID}`);
  if (!verdict) return;
  showEliteScope(verdict);
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
      + `max drawdown ${pct(s.max_drawdown_pct)}, Sharpe ${fmt(s.sharpe)}, efficiency ${fmt(verdict.efficiency)}`
      + `${verdict.flat_note ? ` (${verdict.flat_note})` : ""}. ${lastFoldWords(verdict)}`
    : `. The out-of-sample verdict comes once every fold has run. ${lastFoldWords(verdict)}`);
}

// What on the run page is one fold's search only, and what spans every fold.
function lastFoldWords(verdict) {
  const fold = verdict.best_fold ? `fold ${verdict.best_fold}, its training window` : "its training window";
  return `The PBO below, the elite and its deflated Sharpe ratios are the last fold's search only (${fold}); `
    + `the per-generation charts span every fold's generations (fold boundaries marked).`;
}

configRead.then((config) => {  // run.js's read of the run's configuration
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
