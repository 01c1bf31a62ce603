"""The reads that stay small, as a part of `visualization_apps.storage.Store`:
individuals without their series, pages of them by cursor, light generation
summaries, the run's robustness. SQLite cuts the series and arrays out
(``json_remove``, ``->``) before Python parses anything."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from typing import Any

SERIES_FIELDS = ("trades", "pnl_history", "equity", "winning_trades_distribution", "losing_trades_distribution")
"""What an individual's summary leaves out: its series (here and in its ``test``)."""
_WITHOUT_SERIES = "json_remove(stats, " + ", ".join(
    f"'$.{prefix}{key}'" for prefix in ("", "test.") for key in SERIES_FIELDS
) + ")"  # fmt: skip
ROBUSTNESS_SERIES = ("mc_fan", "neighbour_values")
"""What an elite member's summary leaves out of its ``robustness`` (the individual page's charts)."""
_WITHOUT_SERIES = f"json_remove({_WITHOUT_SERIES}, " + ", ".join(f"'$.robustness.{k}'" for k in ROBUSTNESS_SERIES) + ")"
GENERATION_HEAVY_KEYS = ("population", "pareto_front", "population_params")
"""What a generation's light summary leaves out (``population_quantiles`` stands for them)."""
RUN_ROBUSTNESS_ARRAYS = ("logits", "is_sharpe", "oos_sharpe")
"""What a light generation summary leaves out of the run's ``robustness`` (one value per CSCV
split: 12,870 each with 16 blocks); GET /api/runs/<id>/robustness serves them."""
_LIGHT_GENERATION = "json_remove(summary, '$.population', '$.pareto_front', " + ", ".join(
    f"'$.robustness.{k}'" for k in RUN_ROBUSTNESS_ARRAYS
) + ")"  # fmt: skip


class SummaryReads:
    """The small reads of `Store` (which gives ``_connect`` and ``generations_after``)."""

    def _connect(self) -> Iterator[sqlite3.Connection]:  # pragma: no cover - Store's
        raise NotImplementedError

    def generations_after(self, run_id: int, after: int) -> list[dict[str, Any]]:  # pragma: no cover - Store's
        raise NotImplementedError

    def individual_summaries(self, run_id: int, ids: list[int]) -> list[dict[str, Any]]:
        """The statistics of ``ids`` without their series (`SERIES_FIELDS`, also in
        ``test``), in that order (missing ids left out). SQLite cuts the series out,
        so the large JSON is never parsed here."""
        if not ids:
            return []
        found: dict[int, dict[str, Any]] = {}
        with self._connect() as db:
            for start in range(0, len(ids), 500):  # bounded statements
                chunk = ids[start : start + 500]
                rows = db.execute(
                    f"SELECT id, {_WITHOUT_SERIES} AS stats FROM individuals "
                    f"WHERE run_id = ? AND id IN ({','.join('?' * len(chunk))})",
                    (run_id, *chunk),
                ).fetchall()
                found.update((row["id"], json.loads(row["stats"])) for row in rows)
        return [found[i] for i in ids if i in found]

    def individuals_page(self, run_id: int, after: int, limit: int) -> list[dict[str, Any]]:
        """At most ``limit`` individuals' summaries (as `individual_summaries`) with
        an id above ``after``, by id: a cursor read."""
        with self._connect() as db:
            rows = db.execute(
                f"SELECT {_WITHOUT_SERIES} AS stats FROM individuals WHERE run_id = ? AND id > ? ORDER BY id LIMIT ?",
                (run_id, after, limit),
            ).fetchall()
        return [json.loads(row["stats"]) for row in rows]

    def generation_texts_after(self, run_id: int, after: int) -> list[tuple[int, str]]:
        """As `generations_after`, unparsed: (generation, its summary's stored JSON
        text), in order (the Socket.IO catch-up sends the text as it is)."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT generation, summary FROM generations WHERE run_id = ? AND generation > ? ORDER BY generation",
                (run_id, after),
            ).fetchall()
        return [(row["generation"], row["summary"]) for row in rows]

    def generation_summaries_after(self, run_id: int, after: int, params: bool = False) -> list[dict[str, Any]]:
        """As `generations_after`, light: without the population's ids, first front
        and parameters (`GENERATION_HEAVY_KEYS`) and without the per-split arrays of
        the run's ``robustness`` (`RUN_ROBUSTNESS_ARRAYS`; its figures stay);
        ``population_quantiles`` (gene -> `quantiles` of the population's values,
        stored with the generation) stands for the parameters, or with ``params``
        the parameters themselves (``population_params``) stay. SQLite cuts the large
        arrays out before Python parses the rest. A generation stored before its
        quartiles were (an older database) has them computed here."""
        source = _LIGHT_GENERATION if params else f"json_remove({_LIGHT_GENERATION}, '$.population_params')"
        with self._connect() as db:
            rows = db.execute(
                f"SELECT {source} AS summary, summary -> '$.population_quantiles' IS NULL AS older "
                "FROM generations WHERE run_id = ? AND generation > ? ORDER BY generation",
                (run_id, after),
            ).fetchall()
            out = []
            for row in rows:
                light = json.loads(row["summary"])
                if params:
                    light.pop("population_quantiles", None)
                elif row["older"]:
                    light["population_quantiles"] = population_quantiles(json.loads(db.execute(
                        "SELECT summary -> '$.population_params' FROM generations WHERE run_id = ? AND generation = ?",
                        (run_id, light["generation"]),
                    ).fetchone()[0] or "{}"))  # fmt: skip
                out.append(light)
        return out

    def run_robustness(self, run_id: int, light: bool = False) -> dict[str, Any] | None:
        """The run's ``robustness`` as its last generation stored it (None before the
        run's end, or with robustness off), read without the rest of that summary;
        ``light``: without its per-split arrays (`RUN_ROBUSTNESS_ARRAYS`)."""
        text = self.run_robustness_json(run_id, light)
        return None if text is None else json.loads(text)

    def run_robustness_json(self, run_id: int, light: bool = False) -> str | None:
        """`run_robustness` as the JSON text SQLite holds (None for none): served as
        it is, the 0.8 MB of per-split arrays are neither parsed nor encoded again."""
        source = _LIGHT_GENERATION if light else "summary"
        with self._connect() as db:
            row = db.execute(
                f"SELECT {source} -> '$.robustness' AS robustness FROM generations WHERE run_id = ? "
                "ORDER BY generation DESC LIMIT 1",
                (run_id,),
            ).fetchone()
        return None if row is None else row["robustness"]

    def run_seconds(self, run_id: int) -> float | None:
        """The wall seconds the run's generations took, summed (their ``elapsed_seconds``,
        which a resume carries on; the last generation's includes the end-of-run
        robustness analysis), None before its first generation. A walk-forward's folds
        each start at 0: the sum of each fold's last. Reads one value per fold."""
        with self._connect() as db:
            row = db.execute(
                "SELECT summary ->> '$.elapsed_seconds' AS seconds, summary ->> '$.fold' AS fold FROM generations "
                "WHERE run_id = ? ORDER BY generation DESC LIMIT 1",
                (run_id,),
            ).fetchone()
            if row is None or row["fold"] is None:
                return None if row is None else row["seconds"]
            rows = db.execute(
                "SELECT g.summary ->> '$.elapsed_seconds' AS seconds FROM generations g JOIN (SELECT max(generation) "
                "AS generation FROM generations WHERE run_id = ? GROUP BY fold) last USING (generation) "
                "WHERE g.run_id = ?",
                (run_id, run_id),
            ).fetchall()  # fmt: skip
        return sum(r["seconds"] or 0.0 for r in rows)

    def overall_rate(self, run_id: int, evaluations: int) -> float | None:
        """The whole run's evaluations per wall second: ``evaluations`` over the
        seconds its generations took (`run_seconds`, the end-of-run analysis
        included); None without any time."""
        seconds = self.run_seconds(run_id)
        return evaluations / seconds if seconds else None


QUANTILES = (0.0, 0.25, 0.5, 0.75, 1.0)


def population_quantiles(params: dict[str, list[float]]) -> dict[str, list[float] | None]:
    """Gene -> `quantiles` of the population's values (``population_params``)."""
    return {gene: quantiles(values) for gene, values in params.items()}


def quantiles(values: list[float]) -> list[float] | None:
    """The min, lower quartile, median, upper quartile and max of ``values``
    (linear interpolation between the sorted values, numpy's default; None for no
    values). ``static/run.js``'s ``quantiles`` computes the same for live events."""
    ordered = sorted(v for v in values if v is not None)
    if not ordered:
        return None
    out = []
    for q in QUANTILES:
        position = q * (len(ordered) - 1)
        low = int(position)
        high = min(low + 1, len(ordered) - 1)
        out.append(ordered[low] + (ordered[high] - ordered[low]) * (position - low))
    return out
