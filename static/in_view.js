"use strict";
// Which of a page's charts are on screen, for pages that redraw while a run is watched
// (static/run.js): a chart off screen is not redrawn with every generation, only once it
// scrolls into view (or when the run ends). Drawing a Plotly chart the reader cannot see
// took most of the browser's CPU while a run was watched, CPU taken from the run's workers.
//
// A chart counts as in view when more than its top margin shows (IN_VIEW_INSET px of it:
// the strip above a chart's plot area holds its title only) or before the observer has
// first reported on it (the first draw draws everything); one that scrolls in is drawn
// at once.

const IN_VIEW_INSET = 50;  // px
const inView = new Map();  // element id -> whether more than IN_VIEW_INSET px of it is on screen

// Observe the elements of `ids`; `cameIntoView()` is called when one of them came into view.
function watchInView(ids, cameIntoView) {
  const observer = new IntersectionObserver((entries) => {
    let came = false;
    for (const entry of entries) {
      if (entry.isIntersecting && inView.get(entry.target.id) === false) came = true;
      inView.set(entry.target.id, entry.isIntersecting);
    }
    if (came) cameIntoView();
  }, { rootMargin: `-${IN_VIEW_INSET}px 0px` });
  for (const id of ids) observer.observe(document.getElementById(id));
}

// Whether the element `id` is in view (true until the observer has reported on it).
function isInView(id) {
  return inView.get(id) !== false;
}
