"""Where a run was evaluated, in its provenance.

Each start of a run process (a first start or a resume) appends to the run's
``versions`` (its provenance: the package versions it was submitted with) the
entry ``evaluated_on``: a list, one object per start, of ``executor``
(``process``, ``sequential`` or ``dask``), ``workers``, for Dask ``scheduler`` and
``cores``, and ``started_at`` (ISO 8601 UTC). A run resumed on another cluster
than the one it started on says both.
"""

from __future__ import annotations

import json
import time
from typing import Any

from visualization_apps.storage import Store


def describe_executor(executor: Any) -> dict[str, Any]:
    """What `record_start` records of an executor: its own ``describe()`` (Dask),
    else its kind and worker count."""
    describe = getattr(executor, "describe", None)
    if describe is not None:
        return describe()
    kind = "sequential" if type(executor).__name__ == "SequentialExecutor" else "process"
    return {"executor": kind, "workers": int(getattr(executor, "workers", 1))}


def record_start(store: Store, run_id: int, where: dict[str, Any]) -> None:
    """Append ``where`` (with ``started_at``, now) to the run's ``versions.evaluated_on``."""
    entry = {**where, "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    with store.transaction() as db:
        row = db.execute("SELECT versions FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            return
        versions = json.loads(row["versions"] or "{}")
        versions["evaluated_on"] = [*versions.get("evaluated_on", []), entry]
        db.execute("UPDATE runs SET versions = ? WHERE id = ?", (json.dumps(versions), run_id))
