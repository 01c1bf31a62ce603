"""The JSON Schema (draft 2020-12) of a run configuration, generated from the
declared model (`optimizer.config_model`) that `parse_config` validates with, so
the two cannot drift: bounds, defaults, required fields and each field's
``description`` (with its unit) come from the same declarations.

`parse_config` also checks what a JSON Schema cannot say well: rule weights
naming declared signals, ``ga.elite`` within the population, timeframes and
dates that parse.
"""

from __future__ import annotations

from typing import Any

from optimizer.config_model import settings_model

DRAFT = "https://json-schema.org/draft/2020-12/schema"


def config_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a run configuration, with the signal
    kinds registered now; shared definitions are under ``$defs``."""
    return {"$schema": DRAFT, **settings_model().model_json_schema()}
