"""A fold without a selected member says why in words (its ``note``), and a fold
that has one carries no note."""

from __future__ import annotations

from tests.test_walk_forward import _doc, _walk


def test_a_fold_whose_members_all_trade_too_little_says_so():
    doc = _doc(2)
    doc["ga"]["min_trades"] = 10**6  # no individual trades that often
    walk, _ = _walk(doc)
    folds = walk.summary()["folds"]
    assert [f["params"] for f in folds] == [None, None]
    assert [f["note"] for f in folds] == [
        f"no member of fold {k} met the minimum of 1000000 trades (ga.min_trades) on its training window: the "
        "fold trades nothing" for k in (1, 2)]  # fmt: skip


def test_a_fold_with_a_selected_member_has_no_note():
    walk, _ = _walk(_doc(2))
    folds = walk.summary()["folds"]
    assert all(f["params"] is not None and "note" not in f for f in folds)
