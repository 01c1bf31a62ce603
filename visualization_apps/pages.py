"""HTML pages and the browser assets they load (all served from this app).

Pages are shells: their scripts read everything from the REST API and Socket.IO,
so every chart is drawn from stored statistics. Plotly.js comes from the
installed ``plotly`` Python package, the Socket.IO client from ``node_modules``
(``npm ci``); nothing is loaded from a CDN.
"""

from __future__ import annotations

from pathlib import Path

import plotly
from flask import Blueprint, abort, render_template, send_file

pages = Blueprint("pages", __name__)

ROOT = Path(__file__).resolve().parents[1]
VENDOR = {
    "plotly.min.js": Path(plotly.__file__).parent / "package_data" / "plotly.min.js",
    "socket.io.min.js": ROOT / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js",
}


@pages.get("/")
def runs_list() -> str:
    return render_template("runs.html")


@pages.get("/runs/new")
def new_run() -> str:
    return render_template("new_run.html")


@pages.get("/runs/<int:run_id>")
def run_page(run_id: int) -> str:
    return render_template("run.html", run_id=run_id)


@pages.get("/runs/<int:run_id>/individuals/<int:ind_id>")
def individual_page(run_id: int, ind_id: int) -> str:
    return render_template("individual.html", run_id=run_id, ind_id=ind_id)


@pages.get("/favicon.ico")
def favicon() -> tuple[str, int]:
    return "", 204


@pages.get("/vendor/<name>")
def vendor(name: str):
    path = VENDOR.get(name)
    if path is None:
        abort(404)
    if not path.is_file():
        abort(404, description=f"{name} is not installed (run: npm ci)")
    return send_file(path, mimetype="text/javascript", max_age=3600)
