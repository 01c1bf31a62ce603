"""Train/test split: where the held-out test period of a run starts."""

from __future__ import annotations

import numpy as np
import pandas as pd

from optimizer.config import RunConfig
from optimizer.data import MarketData
from optimizer.errors import ConfigError

MIN_BARS = 2


def holdout_start(config: RunConfig, market: MarketData) -> int | None:
    """The index of the first test bar, or None without a split.

    ``split.test_fraction`` holds out that fraction of the bars (the last ones);
    ``split.test_from`` holds out the bars opening at or after that date (ISO 8601,
    naive = UTC). Each side must keep at least 2 bars.
    """
    split = config.split
    if split is None:
        return None
    n = len(market)
    if split.test_fraction is not None:
        start = n - round(n * split.test_fraction)
        field = "split.test_fraction"
    else:
        field = "split.test_from"
        try:
            stamp = pd.Timestamp(split.test_from)
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"{field}: {split.test_from!r} is not an ISO 8601 date") from exc
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
        start = int(np.searchsorted(market.candles.time, stamp.as_unit("ns").value, side="left"))
    if start < MIN_BARS or n - start < MIN_BARS:
        raise ConfigError(
            f"{field}: leaves {start} training and {n - start} test bars of {n}; each needs at least {MIN_BARS}"
        )
    return start
