"""Log lines as node_exporter writes them (``--log.format logfmt|json``), or for the journal.

node_exporter (go-kit log) writes ``ts=2024-05-01T10:00:00.123Z caller=file.go:180
level=info msg="Starting node_exporter"``, or the same keys as one JSON object per line.
Log pipelines (Loki, Fluent Bit, Vector) that parse node_exporter's lines parse these too.
The default stays the plain text it was: under systemd the journal stamps time, host and
unit itself, and reads the priority from a ``<N>`` prefix (sd-daemon(3)), which is kept in
front of every format while stderr is the journal.
"""

import json
import logging
import os
import time
from typing import Dict, Optional

__all__ = ["FORMATS", "LEVELS", "JournalPriority", "LogfmtFormatter", "JsonFormatter", "make_formatter",
           "logfmt_value"]

FORMATS = ("logfmt", "json")
#: node_exporter's level names, as --log.level takes them and the lines spell them
LEVELS = ("debug", "info", "warn", "error")
_LEVEL_NAMES = {logging.DEBUG: "debug", logging.INFO: "info", logging.WARNING: "warn", logging.ERROR: "error",
                logging.CRITICAL: "error"}
_PRIORITIES = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3, logging.CRITICAL: 2}


def logfmt_value(value: str) -> str:
    """A logfmt value: bare when it can be, else quoted with ``\\``, ``"`` and control
    characters escaped (go-logfmt's rules), so one record is always one line."""
    if value and not any(c in value for c in ' ="\\') and all(c.isprintable() for c in value):
        return value
    return json.dumps(value, ensure_ascii=False)  # JSON string escapes are go-logfmt's


def _fields(record: logging.LogRecord, formatter: logging.Formatter) -> Dict[str, str]:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
    fields = {
        "ts": f"{stamp}.{int(record.msecs):03d}Z",
        "caller": f"{os.path.basename(record.pathname)}:{record.lineno}",
        "level": _LEVEL_NAMES.get(record.levelno, "info"),
        "logger": record.name,
        "msg": record.getMessage(),
    }
    if record.exc_info:
        fields["err"] = formatter.formatException(record.exc_info)
    return fields


class LogfmtFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return " ".join(f"{key}={logfmt_value(value)}" for key, value in _fields(record, self).items())


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(_fields(record, self), sort_keys=True, ensure_ascii=False)


class JournalPriority(logging.Formatter):
    """Wraps a formatter: ``<N>`` in front, the syslog priority the journal files it under."""

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self._inner = inner

    def format(self, record: logging.LogRecord) -> str:
        return f"<{_PRIORITIES.get(record.levelno, 6)}>" + self._inner.format(record)


def make_formatter(fmt: Optional[str], journal: bool) -> logging.Formatter:
    """``fmt`` None: the default (the message alone for the journal, else time, level and
    logger in front); "logfmt" or "json": node_exporter's lines."""
    if fmt == "logfmt":
        inner: logging.Formatter = LogfmtFormatter()
    elif fmt == "json":
        inner = JsonFormatter()
    elif fmt is None:
        inner = logging.Formatter("%(message)s" if journal else "%(asctime)s %(levelname)s %(name)s: %(message)s")
    else:
        raise ValueError(f"--log.format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    return JournalPriority(inner) if journal else inner
