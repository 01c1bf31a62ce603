"""Where the dashboard's files are: in a source checkout, at the top level
(``templates/``, ``static/``, ``data/``, ``node_modules/``); in an installed
package, inside it (the wheel puts them in ``visualization_apps/``, see
``pyproject.toml`` and ``hatch_build.py``)."""

from __future__ import annotations

from pathlib import Path

import plotly

PACKAGE = Path(__file__).resolve().parent
CHECKOUT = PACKAGE.parent


def _installed_or_checkout(inside: str, top_level: str) -> Path:
    """``PACKAGE/inside`` when it exists (an installed package), else ``CHECKOUT/top_level``."""
    installed = PACKAGE / inside
    return installed if installed.exists() else CHECKOUT / top_level


TEMPLATES = _installed_or_checkout("templates", "templates")
STATIC = _installed_or_checkout("static", "static")
BUNDLED_DATA = _installed_or_checkout("data", "data")
"""The demo datasets (``*.csv``) every dashboard offers."""
NPM_ASSETS = {
    "socket.io.min.js": "node_modules/socket.io-client/dist/socket.io.min.js",
    "plotly-cartesian.min.js": "node_modules/plotly.js-cartesian-dist-min/plotly-cartesian.min.js",
}
"""The browser files taken from npm (``npm ci``; copied into the wheel's ``vendor/`` when it is built)."""
PLOTLY = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def _cartesian_plotly() -> Path:
    """Plotly.js's cartesian bundle (scatter, bar, box, histogram, heatmap traces: 1.5 MB
    against the full bundle's 4.8 MB; the run page's charts need no more), or the full
    bundle, a superset, where npm's copy is missing."""
    path = _installed_or_checkout("vendor/plotly-cartesian.min.js", NPM_ASSETS["plotly-cartesian.min.js"])
    return path if path.is_file() else PLOTLY


VENDOR = {
    # The full Plotly.js ships inside the plotly Python package (the same version as npm's
    # cartesian bundle, pinned in package.json); the Socket.IO client comes from npm.
    "plotly.min.js": PLOTLY,
    "plotly-cartesian.min.js": _cartesian_plotly(),
    "socket.io.min.js": _installed_or_checkout("vendor/socket.io.min.js", NPM_ASSETS["socket.io.min.js"]),
}
"""The browser libraries served under ``/vendor/<name>``."""
