"""Comparing runs: what the compare page shows of 2 to 4 runs, read in one answer.

Per run: its status, objectives, the population's best and mean of each objective
per generation, and the last elite without series (best first: its first member is
the run's best by the first objective, with training and test statistics). Across
the runs: the configuration keys (dotted) whose values differ. A walk-forward run
also has ``walk_forward``: its verdict (`walk_forward_store.verdicts`: the stitched
out-of-sample statistics, ``passed``, ``label``), which the page shows instead of
its last fold's best member; None for a plain run.
"""

from __future__ import annotations

from typing import Any

from visualization_apps import walk_forward_store as wf_store
from visualization_apps.storage import Store

MIN_RUNS, MAX_RUNS = 2, 4
IGNORED_KEYS = ("name",)
"""Configuration keys left out of the difference (a name says nothing of the run)."""


def flatten(document: Any, prefix: str = "") -> dict[str, Any]:
    """A configuration as dotted keys -> leaf values (``objectives.0.metric``); a
    range ``{"min", "max", ...}`` is one leaf, as is an empty object or list."""
    is_range = isinstance(document, dict) and "min" in document and "max" in document
    if isinstance(document, dict) and document and not is_range:
        items = document.items()
    elif isinstance(document, list) and document:
        items = ((str(k), v) for k, v in enumerate(document))
    else:
        return {prefix: document}
    out: dict[str, Any] = {}
    for key, value in items:
        out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


def config_diff(configs: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """The dotted keys whose values are not the same in every configuration, each
    with its value per configuration (None where it is null or absent), in key order.

    Null and absent are the same (the normalized configuration writes every default,
    null included): ``strategy.entry_short`` null in a long-only run and absent from
    a ``direction: both`` run (whose rule is flattened to ``entry_short.weights...``)
    is no difference; only the rule's own keys are."""
    flat = [flatten(config) for config in configs]
    keys = sorted({key for f in flat for key in f} - set(IGNORED_KEYS))
    out = {}
    for key in keys:
        values = [f.get(key) for f in flat]
        if any(v != values[0] for v in values[1:]):
            out[key] = values
    return out


def comparison(store: Store, run_ids: list[int]) -> dict[str, Any]:
    """What the compare page shows of these runs (which must exist)."""
    runs = []
    configs = []
    verdicts = wf_store.verdicts(store, run_ids)
    for run_id in run_ids:
        config = store.run_config(run_id) or {}
        configs.append(config)
        runs.append({
            "run": store.run(run_id),
            "objectives": config.get("objectives", []),
            "history": store.objective_history(run_id),
            "elite": store.elite_summaries(run_id),
            "walk_forward": verdicts.get(run_id),
        })  # fmt: skip
    return {"runs": runs, "config_diff": config_diff(configs)}
