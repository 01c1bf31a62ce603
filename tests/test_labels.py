"""Gene labels (optimizer/labels.py) and their JavaScript twin in static/common.js."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from optimizer.labels import gene_labels, unique_suffix
from tests.conftest import ROOT

S = "strategy.signals"
CASES = [
    # two signals of the same kind: "params" in the middle tells nothing apart
    ([f"{S}.golden.params.fast", f"{S}.death.params.fast"], ["golden.fast", "death.fast"]),
    ([f"{S}.golden.params.fast", f"{S}.golden.params.slow", "strategy.stop_loss"], ["fast", "slow", "stop_loss"]),
    ([f"{S}.up.params.fast"], ["fast"]),
    (["strategy.entry.weights.golden", "strategy.exit.weights.golden"], ["entry.golden", "exit.golden"]),
    ([f"{S}.golden.params.fast", f"{S}.death.params.fast", f"{S}.golden.params.slow", "strategy.stop_loss",
      "strategy.entry.weights.golden", "strategy.entry.threshold"],
     ["golden.fast", "death.fast", "slow", "stop_loss", "golden", "threshold"]),
    # a middle part that does tell genes apart is kept
    (["a.b.c", "x.b.c", "a.c"], ["a.b.c", "x.b.c", "a.c"]),
    (["a.p.q.c", "a.r.q.c", "b.r.q.c"], ["p.c", "a.r.c", "b.r.c"]),
    # a name another ends with entirely keeps all its parts
    (["fast", "golden.fast"], ["fast", "golden.fast"]),
    ([], []),
]  # fmt: skip


@pytest.mark.parametrize(("names", "expected"), CASES)
def test_labels_are_the_shortest_unique_suffix_without_the_parts_that_tell_nothing_apart(names, expected):
    labels = gene_labels(names)
    assert list(labels) == names  # in the order given
    assert list(labels.values()) == expected
    assert len(set(labels.values())) == len(names)


def test_unique_suffix_is_the_shortest_tail_no_other_name_ends_with():
    names = [f"{S}.golden.params.fast", f"{S}.death.params.fast", "strategy.stop_loss"]
    assert unique_suffix(names[0], names) == ("golden", "params", "fast")
    assert unique_suffix(names[2], names) == ("stop_loss",)
    assert unique_suffix("b", ["a.b", "b"]) == ("b",)  # "a.b" ends with all of it


def test_repeated_names_are_refused():
    with pytest.raises(ValueError, match="repeat"):
        gene_labels(["a.b", "a.b"])


def _generated_names() -> list[list[str]]:
    """Many name sets, including clashes the pruning has to undo (rule 3)."""
    import random

    rng = random.Random(3)
    words = ["a", "b", "params", "fast", "x"]
    out = []
    for _ in range(300):
        names = {".".join(rng.choice(words) for _ in range(rng.randint(1, 5))) for _ in range(rng.randint(1, 6))}
        out.append(sorted(names))
    return out


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_the_javascript_rule_gives_the_same_labels():
    """common.js's geneLabels, run by Node on the same names, answers what gene_labels does."""
    sets = [names for names, _ in CASES] + _generated_names()
    for names in sets:
        assert len(set(gene_labels(names).values())) == len(names), names
    script = (
        "const vm = require('vm'); const fs = require('fs');"
        "const context = {document: {currentScript: {dataset: {runStates: '{}'}}}};"
        f"vm.createContext(context); vm.runInContext(fs.readFileSync({json.dumps(str(ROOT / 'static/common.js'))}, 'utf8'), context);"
        "const sets = JSON.parse(fs.readFileSync(0, 'utf8'));"
        "context.sets = sets; process.stdout.write(JSON.stringify(vm.runInContext('sets.map(geneLabels)', context)));"
    )  # fmt: skip
    done = subprocess.run(["node", "-e", script], input=json.dumps(sets), capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == [gene_labels(names) for names in sets]
