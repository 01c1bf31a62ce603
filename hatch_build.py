"""Build hooks of the package (hatchling): the dependencies from requirements.txt,
and the browser files from node_modules (``npm ci``) into the wheel: the Socket.IO
client and Plotly.js's cartesian bundle.

They are never copied into the repository: they are taken from node_modules when
the wheel is built. A dashboard installed without the client answers
``/vendor/socket.io.min.js`` with a 404 that says to run ``npm ci``; without the
cartesian bundle its pages load the full Plotly.js of the plotly package instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface
from hatchling.metadata.plugin.interface import MetadataHookInterface

NPM_FILES = {
    Path("node_modules") / "socket.io-client" / "dist" / "socket.io.min.js": "the dashboard will lack its live updates",
    Path("node_modules") / "plotly.js-cartesian-dist-min" / "plotly-cartesian.min.js": "its pages load the full Plotly.js",
}


class CustomMetadataHook(MetadataHookInterface):
    def update(self, metadata: dict[str, Any]) -> None:
        lines = (Path(self.root) / "requirements.txt").read_text(encoding="utf-8").splitlines()
        metadata["dependencies"] = [line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()]


class CustomBuildHook(BuildHookInterface):
    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        for name, without in NPM_FILES.items():
            found = Path(self.root) / name
            if found.is_file():
                build_data["force_include"][str(found)] = f"visualization_apps/vendor/{name.name}"
            else:
                self.app.display_warning(f"{name} is missing (run `npm ci`): {without}")
