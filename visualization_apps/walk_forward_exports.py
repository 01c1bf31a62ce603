"""What the run page's exports (``GET /api/runs/<id>/export.json`` and
``export.csv``, in `visualization_apps.api`) add for a walk-forward run.

* Export JSON gains ``walk_forward``: OUT.json's object once the run has finished
  (``folds``, ``stitched``, ``efficiency``, ... ``passed``, ``criteria``); before,
  ``{"finished": false, "windows": [...], "folds": [...]}`` with the folds finished
  so far.
* Export CSV gains a ``fold`` column after ``id``: the fold whose search evaluated
  the individual (fold k's ids start at ``(k - 1) * ID_STRIDE``,
  `visualization_apps.walk_forward_store`).

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
