"""How a run that evaluated to its end really ended: a run none of whose
evaluations succeeded has failed, with the error most of them gave."""

from __future__ import annotations

from collections import Counter

from visualization_apps.storage import Store


def every_evaluation_failed(store: Store, run_id: int) -> str | None:
    """The run's error when each of its evaluations failed (``"all 120 evaluations
    failed; the most common error (120 times): ..."``), else None."""
    record = store.run(run_id)
    if record is None or not record["evaluations"] or record["failed_evaluations"] < record["evaluations"]:
        return None
    errors = Counter(ind.get("error") or "unknown error" for ind in store.all_individuals(run_id) if ind.get("failed"))
    if not errors:
        return f"all {record['evaluations']} evaluations failed"
    error, times = errors.most_common(1)[0]
    return f"all {record['evaluations']} evaluations failed; the most common error ({times} times): {error}"
