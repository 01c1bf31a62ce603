"""Walk-forward optimization (docs/OPTIMIZER.md, "Walk-forward"): the genetic
search re-run fold by fold, each fold's selection judged on the test window that
follows its training window, the test windows stitched into one out-of-sample curve.

* `optimizer.walk_forward.windows`: where the folds fall on the bars;
* `optimizer.walk_forward.loop`: the loop (`WalkForward`), one `Optimizer` per fold;
* `optimizer.walk_forward.results`: stitching, efficiency, t-statistic, criteria;
* `optimizer.walk_forward.prepare`: a walk-forward set up from a configuration and a file;
* `optimizer.walk_forward.command`: ``python -m optimizer run`` of a walk-forward.
"""

from optimizer.walk_forward.loop import FoldEvent, WalkForward, fold_config, fold_seed, has_fold_checkpoint
from optimizer.walk_forward.prepare import PreparedWalkForward, fold_spec, prepare_walk_forward, windows_of
from optimizer.walk_forward.windows import FoldWindow, fold_windows

__all__ = [
    "FoldEvent", "FoldWindow", "PreparedWalkForward", "WalkForward", "fold_config", "fold_seed", "fold_spec",
    "fold_windows", "has_fold_checkpoint", "prepare_walk_forward", "windows_of",
]  # fmt: skip
