"use strict";
// The run page of a walk-forward links to its walk-forward page (folds, stitched results).
getJSON(`/api/runs/${RUN_ID}/config`).then((config) => {
  if (config && config.walk_forward) document.getElementById("walk-forward-link").hidden = false;
}).catch(() => {});
