"""Socket.IO packets that cannot be decoded, logged in one line each.

python-socketio decodes a packet inside Engine.IO's message handler; a packet that
is not Socket.IO (``42[]``, ``4x``, an array 50,000 deep, an integer of 5,000
digits) raises there, and Engine.IO logs "message handler error" with the whole
traceback: any client could grow the server's log by ~2 kB a packet, and each
looks like a bug of ours. Such a packet reaches none of our handlers (there is no
event, and no id to acknowledge): `OneLineDecodeErrors` logs it as a warning
naming the error, without the traceback.
"""

from __future__ import annotations

import logging

LOGGERS = ("engineio.server", "socketio.server")
_DECODE_ERRORS = (ValueError, KeyError, IndexError, TypeError, RecursionError)


class OneLineDecodeErrors(logging.Filter):
    """Turns Engine.IO's "message handler error" of an undecodable packet into one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if record.getMessage() == "message handler error" and isinstance(exc, _DECODE_ERRORS):
            record.msg, record.args = "a Socket.IO packet that cannot be decoded was dropped (%s: %s)", (
                type(exc).__name__, str(exc)[:200])
            record.exc_info = record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def install() -> None:
    """Add the filter to Engine.IO's and Socket.IO's server loggers (once)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, OneLineDecodeErrors) for f in logger.filters):
            logger.addFilter(OneLineDecodeErrors())
