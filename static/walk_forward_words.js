"use strict";
// The walk-forward page's words (loaded before walk_forward.js): where the run is
// or stopped, and why a figure is undefined ("–"), from the stored values only.

const LIVE_STATES = ["queued", "running", "stopping"];

// Where the run is, fold by fold: `current` the fold its last generation belongs to
// (null before any), `inFold` that fold's generations done, and each fold's state
// (done, running, stopped, interrupted, failed, pending). `perFold`: generations of a fold's search.
function foldProgress(run, wf, perFold) {
  const n = wf.windows.length;
  const done = wf.folds.length;
  const before = wf.folds.reduce((sum, f) => sum + (f.generations || 0), 0);
  const inFold = Math.max(0, run.generation - before);
  const live = LIVE_STATES.includes(run.state);
  let current = null;
  if (inFold > 0 && done < n) current = done + 1;
  else if (live && done < n) current = done + 1;  // its first generation is under way
  const states = wf.windows.map((w) => {
    if (w.fold <= done) return "done";
    if (w.fold !== current) return "pending";
    if (live) return "running";
    return run.state === "completed" ? "done" : run.state;
  });
  return { n, done, current, inFold, perFold, live, states };
}

// "running fold 3 of 5 (generation 2 of 4)", "stopped in fold 3 of 5, after its generation 2 of 4",
// "stopped after fold 2 of 5 (fold 3 not started)", "completed: all 5 folds".
function foldStateWords(run, p) {
  const of = `of ${p.n}`;
  if (run.state === "completed") return `completed: all ${p.n} folds`;
  if (run.state === "queued") return p.done || p.inFold ? `queued to resume in fold ${p.current || p.done + 1} ${of}` : "queued";
  if (p.live) {
    const at = p.current === null ? "" : ` (generation ${p.inFold} of ${p.perFold} done)`;
    return `${run.state === "stopping" ? "stopping in" : "running"} fold ${p.current || p.done + 1} ${of}${at}`;
  }
  if (p.inFold > 0 && p.current !== null) {
    return `${run.state} in fold ${p.current} ${of}, after its generation ${p.inFold} of ${p.perFold}`;
  }
  if (p.done === 0) return `${run.state} before fold 1's first generation finished`;
  return `${run.state} after fold ${p.done} ${of} (fold ${p.done + 1} not started)`;
}

// Why a Sharpe ratio is undefined on a window ("" when it is defined).
function sharpeWhy(stats, limits) {
  if (!stats || (stats.sharpe !== null && stats.sharpe !== undefined)) return "";
  const need = (limits && limits.min_return_periods) || 30;
  if (typeof stats.return_periods === "number" && stats.return_periods < need) {
    return `Sharpe undefined: the window has ${stats.return_periods} daily returns, fewer than the ${need} an annualized Sharpe ratio needs`;
  }
  return "Sharpe undefined: the window's returns do not vary (no trade: flat equity)";
}

// Why a finished fold has no selected member (its stored note, or the likeliest cause).
function emptyFoldWhy(fold, limits) {
  if (fold.note) return fold.note;
  const trades = limits && limits.min_trades;
  return `no member of fold ${fold.fold} was valid on its training window${trades ? ` (fewer than the minimum of ${trades} trades, failed, or an undefined objective)` : ""}: the fold trades nothing`;
}

// "3, 5 and 7" (folds).
function foldList(folds) {
  if (folds.length <= 1) return folds.join("");
  return `${folds.slice(0, -1).join(", ")} and ${folds[folds.length - 1]}`;
}

// The visible notes under the fold table: one per fold without a member, one per
// window kind (training, test) whose Sharpe is undefined somewhere.
function foldNotes(folds, limits) {
  const notes = folds.filter((f) => !f.params).map((f) => ({ key: `empty-${f.fold}`, text: `Fold ${f.fold}: ${emptyFoldWhy(f, limits)}.` }));
  for (const side of ["train", "test"]) {
    const undefinedIn = folds.filter((f) => f.params && f[side] && sharpeWhy(f[side], limits));
    if (!undefinedIn.length) continue;
    const few = undefinedIn.filter((f) => sharpeWhy(f[side], limits).includes("fewer than"));
    const need = (limits && limits.min_return_periods) || 30;
    const name = side === "train" ? "training" : "test";
    const text = few.length === undefinedIn.length
      ? `Sharpe "–" on the ${name} window of fold${undefinedIn.length > 1 ? "s" : ""} ${foldList(undefinedIn.map((f) => f.fold))}: `
        + `fewer than the ${need} daily returns an annualized Sharpe ratio needs (hover a cell for its count).`
      : `Sharpe "–" on the ${name} window of fold${undefinedIn.length > 1 ? "s" : ""} ${foldList(undefinedIn.map((f) => f.fold))}: `
        + `too few daily returns, or returns that do not vary (hover a cell for why).`;
    notes.push({ key: `sharpe-${side}`, text });
  }
  return notes;
}

const pctText = (value) => `${fmt(value, 3)} %`;

// The largest fold's share of the net profit in words (the stored share is kept as it is):
// "fold 2 made 140 % of the net profit; the others lost 40 %".
function shareWords(summary) {
  const profits = summary.fold_profits_pct || [];
  if (!profits.length) return "";
  const total = profits.reduce((a, b) => a + b, 0);
  const k = profits.indexOf(Math.max(...profits));
  const others = total - profits[k];
  if (!(total > 0)) {
    return `Largest fold's share undefined: the folds made no net profit together (${pctText(total)} of the start); `
      + `the best, fold ${k + 1}, made ${pctText(profits[k])}.`;
  }
  const share = (profits[k] / total) * 100;
  const rest = others < 0 ? `the others lost ${pctText((-others / total) * 100)}` : `the others made ${pctText((others / total) * 100)}`;
  const over = share > 100 ? " (a share above 1: the other folds lost money together)" : "";
  return `Fold ${k + 1} made ${pctText(share)} of the net profit; ${rest}${over}.`;
}
