"""HTML pages and the browser assets they load (all served from this app).

Pages are shells: their scripts read everything from the REST API and Socket.IO,
so every chart is drawn from stored statistics. What a page's scripts need to
know from the server (the run's id, the run-state groups) is in ``data-``
attributes, never in inline scripts (the Content-Security-Policy forbids them).
Plotly.js comes from the installed ``plotly`` Python package, the Socket.IO client
from ``node_modules`` (``npm ci``); nothing is loaded from a CDN.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, render_template, send_file

from optimizer.stats import MIN_CAGR_DAYS, MIN_RETURN_PERIODS
from visualization_apps import run_states
from visualization_apps.assets import VENDOR

pages = Blueprint("pages", __name__)


@pages.app_context_processor
def _page_data() -> dict[str, object]:
    # What a statistic needs to be defined (optimizer/stats.py): static/undefined_words.js says why one is not.
    return {
        "run_states": run_states.describe(),
        "min_return_periods": MIN_RETURN_PERIODS,
        "min_cagr_days": f"{MIN_CAGR_DAYS:g}",
    }


@pages.get("/")
def runs_list() -> str:
    return render_template("runs.html")


@pages.get("/runs/new")
def new_run() -> str:
    return render_template("new_run.html")


def _not_found(what: str) -> tuple[str, int]:
    """A page's 404: what is missing, and the way back to the runs."""
    return render_template("not_found.html", what=what), 404


@pages.get("/runs/<int:run_id>")
def run_page(run_id: int) -> str | tuple[str, int]:
    record = current_app.extensions["dashboard"].store.run(run_id)
    if record is None:
        return _not_found(f"There is no run {run_id}.")
    # The last generation stored: the page reads its population before Plotly.js is parsed (static/run_reads.js).
    return render_template("run.html", run_id=run_id, generation=record.get("generation") or 0)


@pages.get("/runs/<int:run_id>/individuals/<int:ind_id>")
def individual_page(run_id: int, ind_id: int) -> str | tuple[str, int]:
    store = current_app.extensions["dashboard"].store
    if store.run(run_id) is None:
        return _not_found(f"There is no run {run_id}.")
    if not store.individual_summaries(run_id, [ind_id]):
        return _not_found(f"Run {run_id} has no individual {ind_id}.")
    return render_template("individual.html", run_id=run_id, ind_id=ind_id)


@pages.get("/compare")
def compare_page() -> str:
    """2 to 4 runs side by side (``?runs=1,2``; the script reads ``/api/compare``)."""
    return render_template("compare.html")


@pages.get("/favicon.ico")
def favicon() -> tuple[str, int]:
    return "", 204


@pages.get("/vendor/<name>")
def vendor(name: str) -> Response | tuple[Response, int]:
    """A browser library (``plotly.min.js``, ``plotly-cartesian.min.js``, ``socket.io.min.js``)."""
    path = VENDOR.get(name)
    if path is None:
        return jsonify({"error": "not found", "details": [f"/vendor/{name}"]}), 404
    if not path.is_file():
        hint = "run `npm ci` in the source folder (then reinstall the package if it is installed)"
        return jsonify({"error": f"{name} is not installed", "details": [f"{path}: missing; {hint}"]}), 404
    return send_file(path, mimetype="text/javascript", max_age=3600)
