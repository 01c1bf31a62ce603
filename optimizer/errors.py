"""Errors raised for bad input: data files, configurations and parameters.

Every error here is the user's to fix, so its message names the place (row and
column of a data file, dotted path of a configuration field) and the reason. The
command line turns them into exit status 2, the API into a 4xx answer.
"""

from __future__ import annotations


class InputError(ValueError):
    """Bad input with a one-line message and, optionally, a list of all problems.

    ``details`` holds one human-readable line per problem found; ``str(error)``
    is the first of them (with a count of the rest), fit for a single line.
    """

    def __init__(self, details: list[str] | str) -> None:
        if isinstance(details, str):
            details = [details]
        self.details: list[str] = list(details) or ["invalid input"]
        first = self.details[0]
        more = len(self.details) - 1
        super().__init__(first if not more else f"{first} (and {more} more problem{'s' * (more > 1)})")

    def one_line(self, limit: int = 5) -> str:
        """The first ``limit`` problems on one line (``; ``-separated), with a count of
        the rest: what the command line prints."""
        shown = "; ".join(self.details[:limit])
        more = len(self.details) - limit
        return shown if more <= 0 else f"{shown} (and {more} more problem{'s' * (more > 1)})"


class DataError(InputError):
    """A market data file that cannot be used; the message names row and column."""


class ConfigError(InputError):
    """An invalid run configuration; each detail starts with the field's dotted path."""
