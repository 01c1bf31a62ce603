"""Build hooks of the package (hatchling): the dependencies from requirements.txt,
and the Socket.IO browser client from node_modules (``npm ci``) into the wheel.

The client is never copied into the repository: it is taken from node_modules when
the wheel is built, and a dashboard installed without it answers
``/vendor/socket.io.min.js`` with a 404 that says to run ``npm ci``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface
from hatchling.metadata.plugin.interface import MetadataHookInterface

SOCKET_IO = Path("node_modules") / "socket.io-client" / "dist" / "socket.io.min.js"


class CustomMetadataHook(MetadataHookInterface):
    def update(self, metadata: dict[str, Any]) -> None:
        lines = (Path(self.root) / "requirements.txt").read_text(encoding="utf-8").splitlines()
        metadata["dependencies"] = [line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()]


class CustomBuildHook(BuildHookInterface):
    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        client = Path(self.root) / SOCKET_IO
        if self.target_name == "wheel" and client.is_file():
            build_data["force_include"][str(client)] = "visualization_apps/vendor/socket.io.min.js"
        elif self.target_name == "wheel":
            self.app.display_warning(f"{SOCKET_IO} is missing (run `npm ci`): the dashboard will lack its live updates")
