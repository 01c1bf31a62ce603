"""Entry point of the web dashboard (``python app.py``).

The dashboard is not built yet; until it is, this says so and points to the
command line, which runs the same engine.
"""

from __future__ import annotations

import sys


def main() -> int:
    print(
        "The dashboard is not built yet. Run a backtest from the command line instead:\n"
        "  python -m optimizer backtest examples/eurusd-sma.json "
        "--params examples/eurusd-sma.params.json --json demo-result.json",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
