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
VENDOR = {
    # Plotly.js ships inside the plotly Python package; the Socket.IO client comes
    # from npm (``npm ci``), copied into the wheel when it is built.
    "plotly.min.js": Path(plotly.__file__).parent / "package_data" / "plotly.min.js",
    "socket.io.min.js": _installed_or_checkout(
        "vendor/socket.io.min.js", "node_modules/socket.io-client/dist/socket.io.min.js"
    ),
}
"""The browser libraries served under ``/vendor/<name>``."""
