"""Gene labels a trader can read: each gene's name shortened to what tells it apart.

A gene is named by its dotted path in the configuration
(``strategy.signals.golden.params.fast``). Tables, charts, CSV headers and the run
form show its *label* instead, by this rule (``static/common.js``'s ``geneLabels``
implements the same rule; the two are tested against each other):

1. A name's *unique suffix* is its shortest run of last parts (whole parts, at
   least one) that no other name ends with; a name that another name ends with
   entirely keeps all its parts.
2. Of that suffix, the label keeps the first part, the last part, and each part in
   between that tells the gene apart from another gene ending with the same parts
   after it (the other gene has a different part there, or none). Parts in the
   middle that every such gene shares (``params``) are dropped; the order is kept.
3. Should two labels still coincide, each of those genes is labelled with its whole
   unique suffix instead (repeated until all labels differ; unique suffixes always do).

``strategy.signals.golden.params.fast`` and ``strategy.signals.death.params.fast``
read ``golden.fast`` and ``death.fast``; ``strategy.stop_loss`` reads ``stop_loss``;
``strategy.entry.weights.golden`` and ``strategy.exit.weights.golden`` read
``entry.golden`` and ``exit.golden``; a single gene reads its last part.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence


def _ends_with(parts: tuple[str, ...], tail: tuple[str, ...]) -> bool:
    return len(parts) >= len(tail) and parts[len(parts) - len(tail) :] == tail


def unique_suffix(name: str, names: Sequence[str]) -> tuple[str, ...]:
    """The shortest run of ``name``'s last dotted parts that no other of ``names``
    ends with (all its parts if there is none)."""
    parts = tuple(name.split("."))
    others = [tuple(n.split(".")) for n in names if n != name]
    for k in range(1, len(parts) + 1):
        tail = parts[-k:]
        if not any(_ends_with(other, tail) for other in others):
            return tail
    return parts


def _pruned(name: str, suffix: tuple[str, ...], names: Sequence[str]) -> tuple[str, ...]:
    """``suffix`` without the middle parts that tell ``name`` apart from no gene
    ending with the same parts after them (rule 2)."""
    others = [tuple(n.split(".")) for n in names if n != name]
    kept = [suffix[0]]
    for i in range(1, len(suffix) - 1):
        after = suffix[i + 1 :]
        rivals = [other for other in others if _ends_with(other, after)]
        position = len(after) + 1  # from the end
        if any(len(other) < position or other[-position] != suffix[i] for other in rivals):
            kept.append(suffix[i])
    if len(suffix) > 1:
        kept.append(suffix[-1])
    return tuple(kept)


def gene_labels(names: Sequence[str]) -> dict[str, str]:
    """Each of ``names`` (distinct dotted gene names) -> its label (module docstring's
    rule), in the order given; the labels are distinct."""
    if len(set(names)) != len(names):
        raise ValueError(f"gene names repeat: {sorted(n for n, c in Counter(names).items() if c > 1)}")
    suffixes = {name: unique_suffix(name, names) for name in names}
    labels = {name: ".".join(_pruned(name, suffixes[name], names)) for name in names}
    while True:
        counts = Counter(labels.values())
        clashing = [name for name in names if counts[labels[name]] > 1 and labels[name] != ".".join(suffixes[name])]
        if not clashing:
            return labels
        for name in clashing:
            labels[name] = ".".join(suffixes[name])
