"""The run process's loop for a walk-forward (`visualization_apps.runner` dispatches
to it when the configuration has a ``walk_forward`` section).

As for a run: each generation of each fold is committed to SQLite first
(`walk_forward_store.add_fold_generation`, numbered over all folds), then told
to the server. A resume replays each fold's last checkpointed generation: those
already stored are skipped (the live pages would get old generations again). The fold windows are stored when it starts, each fold's result as
the fold ends, the summary when the last one has.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from optimizer.walk_forward import PreparedWalkForward
from optimizer.walk_forward.results import FoldResult
from visualization_apps import walk_forward_store as wf_store
from visualization_apps.storage import Store


def drive_walk_forward(
    prepared: PreparedWalkForward,
    store: Store,
    run_id: int,
    should_stop: Callable[[], bool],
    published: Callable[[int], None],
    check_server: Callable[[], None],
) -> bool:
    """Run (or go on with) the walk-forward of run ``run_id``; whether it finished.
    ``published(generation)`` tells the server a generation is committed;
    ``check_server()`` runs before each write (it ends the process when the server
    has gone)."""
    walk = prepared.walk_forward
    times = walk.market.candles.time
    per_fold = walk.config.ga.generations if walk.config.genes else 1
    wf_store.start(store, run_id, [window.to_dict(times) for window in walk.windows], per_fold * len(walk.windows))
    fingerprint = walk.market.fingerprint()

    def fold_ended(result: FoldResult) -> None:
        check_server()
        wf_store.add_fold(store, run_id, result.to_dict(times))

    for step in walk.run(should_stop, fold_ended):
        if step.event.replay and wf_store.has_generation(store, run_id, step.done):
            continue  # a resume reads each fold back: what is stored already is not told again
        before = (sum(r.evaluations for r in walk.results), sum(r.failed_evaluations for r in walk.results))
        document = wf_store.tag_fold(
            step.event.to_json(), step.fold, step.folds, step.done - step.event.generation, total=step.total,
            eta_seconds=step.eta_seconds, evaluations=before,
        )  # fmt: skip
        document["completed_at"] = time.time()  # wall clock: the start of generation-to-browser latency
        check_server()
        wf_store.add_fold_generation(store, run_id, document, fingerprint)
        published(document["generation"])
    if walk.finished:
        check_server()
        wf_store.finish(store, run_id, walk.summary())
    return walk.finished
