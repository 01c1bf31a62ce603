"use strict";
// The run page's first reads, started before Plotly.js is parsed (its script tag follows
// this one's): the network and the server's time overlap the parse of 1.5 MB of script
// instead of following it. None waits for another: the page's HTML says the last
// generation stored when it was served (`data-generation`), whose population the page
// reads; the elite and the robustness answer [] and null before there are any.
// run.js takes them for its first catch-up (`takeFirstReads`); the provenance block
// (run_provenance.js) and the walk-forward link (walk_forward_link.js) use the reads of
// the run's status and configuration.

// The "Is it real?" panel's read: the run's robustness with its per-split arrays binned
// on the server as the panel draws them (a few kB instead of 0.8 MB of arrays).
const ROBUSTNESS_READ = `/api/runs/${RUN_ID}/robustness?bins=40`;
const statusRead = getJSON(`/api/runs/${RUN_ID}?fields=summary`);
const configRead = getJSON(`/api/runs/${RUN_ID}/config`);
const labelsRead = getJSON(`/api/runs/${RUN_ID}/labels`);
const STORED_GENERATION = Number(PAGE.generation || 0);
let firstReads = {
  status: statusRead,
  summaries: getJSON(`/api/runs/${RUN_ID}/generations?after=0&fields=summary`),  // light: quartiles, no population
  populationGeneration: STORED_GENERATION,  // the histograms' population: the last generation's, whole
  population: STORED_GENERATION > 0
    ? getJSON(`/api/runs/${RUN_ID}/generations?after=${STORED_GENERATION - 1}&fields=population`) : null,
  elite: STORED_GENERATION > 0 ? getJSON(`/api/runs/${RUN_ID}/elite?fields=summary`) : null,
  robustness: STORED_GENERATION > 0 ? getJSON(ROBUSTNESS_READ) : null,  // null before the run's end
};
// Handled here so that a failed read is not reported unhandled before run.js awaits it (and reports it).
for (const read of [configRead, labelsRead, ...Object.values(firstReads)]) if (read instanceof Promise) read.catch(() => {});

// The first reads, the first time (null after: a later catch-up reads what is current).
function takeFirstReads() {
  const reads = firstReads;
  firstReads = null;
  return reads;
}
