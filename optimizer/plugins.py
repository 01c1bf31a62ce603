"""Plugins: Python modules that register extra signal kinds.

``OPTIMIZER_PLUGINS`` (comma-separated module names, importable on the path) is
read by the command line, the dashboard and every worker process, so a custom
signal kind validates and evaluates the same everywhere. A plugin module calls
`optimizer.signals.register_signal_kind` when imported.
"""

from __future__ import annotations

import importlib
import logging
import os

from optimizer.errors import ConfigError

log = logging.getLogger(__name__)

ENV = "OPTIMIZER_PLUGINS"
_loaded: set[str] = set()


def load_plugins() -> list[str]:
    """Import the modules named in ``OPTIMIZER_PLUGINS`` (once each); their names."""
    names = [name.strip() for name in os.environ.get(ENV, "").split(",") if name.strip()]
    for name in names:
        if name not in _loaded:
            try:
                importlib.import_module(name)
            except Exception as exc:  # any failure of a user's module is a configuration problem
                raise ConfigError(f"{ENV}: cannot import {name}: {type(exc).__name__}: {exc}") from exc
            _loaded.add(name)
            log.debug("loaded plugin %s", name)
    return names
