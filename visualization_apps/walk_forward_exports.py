"""What the run page's exports (``GET /api/runs/<id>/export.json`` and
``export.csv``, in `visualization_apps.api`) add for a walk-forward run.

* Export JSON gains ``walk_forward``: OUT.json's object once the run has finished
  (``folds``, ``stitched``, ``efficiency``, ... ``passed``, ``criteria``); before,
  ``{"finished": false, "windows": [...], "folds": [...]}`` with the folds finished
  so far.
* Export JSON's ``run`` gains ``walk_forward`` (the verdict,
  `walk_forward_store.verdicts`) and ``best_scope`` (``best`` is fold K's
  training-window search, "fold 5 of 5, its training window"); each ``elite``
  member gains its ``fold``.
* Export CSV gains a ``fold`` column after ``id``: the fold whose search evaluated
  the individual (fold k's ids start at ``(k - 1) * ID_STRIDE``,
  `visualization_apps.walk_forward_store`), then ``selected`` (true for the member
  each fold carried forward) and ``test_window`` (the fold's own test window,
  "first bar/last bar"): the ``test_`` columns of a walk-forward's rows are each
  fold's own test window, not one split of the run.

A plain run's exports are unchanged (no key, no column).
"""

from __future__ import annotations

from typing import Any

from visualization_apps import walk_forward_store as wf_store
from visualization_apps.storage import Store


def export_walk_forward(store: Store, run_id: int) -> dict[str, Any] | None:
    """The ``walk_forward`` object of a run's Export JSON; None for a run that is none."""
    found = wf_store.walk_forward(store, run_id)
    if found is None:
        if "walk_forward" not in (store.run_config(run_id) or {}):
            return None
        return {"finished": False, "windows": [], "folds": []}  # its process has not placed the folds yet
    if found["summary"] is not None:
        return found["summary"]
    return {"finished": False, "windows": found["windows"], "folds": found["folds"]}


def is_walk_forward(store: Store, run_id: int) -> bool:
    """Whether the run's configuration has a ``walk_forward`` section."""
    return "walk_forward" in (store.run_config(run_id) or {})


def fold_of(individual_id: int) -> int:
    """The fold (from 1) whose search evaluated the individual of this id."""
    return individual_id // wf_store.ID_STRIDE + 1


def selected_ids(store: Store, run_id: int) -> set[int]:
    """The run-wide ids (fold stride added) of the members the finished folds carried forward."""
    found = wf_store.walk_forward(store, run_id)
    folds = [] if found is None else found["folds"]
    return {(f["fold"] - 1) * wf_store.ID_STRIDE + f["selected_id"] for f in folds if f.get("selected_id") is not None}


def test_windows(store: Store, run_id: int) -> dict[int, str]:
    """Per fold, its test window as the CSV's ``test_window`` says it: "first bar/last bar" (ISO 8601 UTC)."""
    found = wf_store.walk_forward(store, run_id)
    windows = [] if found is None else found["windows"]
    return {w["fold"]: f"{w['test_start']}/{w['test_end']}" for w in windows}
