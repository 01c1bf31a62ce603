"""A run's generations stored as the run process stores them, writing only the
individuals whose JSON changed (`Store.add_generation`), leave the database
exactly as writing every individual of every generation did."""

from __future__ import annotations

import json
import sqlite3

from optimizer.config import parse_config
from optimizer.prepare import prepare_run
from tests.conftest import EURUSD, sma_cross_config
from tests.test_api import run_config
from visualization_apps.storage import Store


def _doc() -> dict:
    doc = sma_cross_config({"min": 3, "max": 30, "type": "int"}, {"min": 31, "max": 150, "type": "int"},
                           stop_loss={"min": 0.002, "max": 0.05})  # fmt: skip
    doc["ga"] = {"population": 12, "generations": 14, "seed": 5}
    doc["split"] = {"test_fraction": 0.3}  # test statistics arrive for new elite members: their JSON changes
    doc["workers"] = 1
    return doc


def _generations(folder, *, resume: bool, stop_after: int | None):
    """The documents a run process stores, up to ``stop_after`` (or the end)."""
    with prepare_run(parse_config(_doc()), EURUSD, checkpoint_dir=folder, resume=resume,
                     executor="sequential") as run:  # fmt: skip
        for event in run.optimizer.generations():
            yield event.to_json(), run.optimizer.data_fingerprint
            if stop_after is not None and event.generation >= stop_after:
                return


def _rows(path) -> dict[str, list]:
    with sqlite3.connect(path) as db:
        return {
            "individuals": db.execute("SELECT run_id, id, full, stats FROM individuals ORDER BY id").fetchall(),
            "generations": db.execute("SELECT generation, summary FROM generations ORDER BY generation").fetchall(),
            "runs": db.execute("SELECT generation, evaluations, best, data_fingerprint FROM runs").fetchall(),
        }


def test_skipping_unchanged_individuals_stores_what_writing_all_of_them_stored(tmp_path):
    lean_path, full_path = tmp_path / "lean.sqlite", tmp_path / "full.sqlite"
    lean, full = Store(lean_path), Store(full_path)
    ids = lean.create_run(run_config(), "EURUSD-1h", {}), full.create_run(run_config(), "EURUSD-1h", {})
    skipped = 0
    # A run stopped after generation 6, then resumed in a "new process" (a new Store:
    # the resume's replayed generation is written whole) to its end.
    for resume, stop_after in ((False, 6), (True, None)):
        if resume:
            lean = Store(lean_path)
        for document, fingerprint in _generations(tmp_path / "checkpoint", resume=resume, stop_after=stop_after):
            stored = lean._stored.get(ids[0], {})
            skipped += sum(stored.get(ind["id"]) is ind for ind in document["individuals"])
            lean.add_generation(ids[0], document, fingerprint)
            # the reference: a store that has written nothing of the run before writes every individual
            Store(full_path).add_generation(ids[1], json.loads(json.dumps(document)), fingerprint)
    assert skipped > 100  # most of every generation is unchanged
    lean_rows, full_rows = _rows(lean_path), _rows(full_path)
    assert len(lean_rows["generations"]) == 14 and len(lean_rows["individuals"]) > 50
    assert lean_rows == full_rows
