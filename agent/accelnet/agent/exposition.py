"""The Prometheus text format (version 0.0.4), and OpenMetrics 1.0.0, of what a registry collects.

prometheus_client's ``generate_latest`` writes the same bytes, but it re-validates and
re-escapes every metric and label name of every sample (through its OpenMetrics escaping, in
recent versions): with the ethtool export on 64 interfaces that was about half of a scrape's
CPU. Here a name is checked once per process, and only where it is new; label values and help
texts are escaped as node_exporter and prometheus_client escape them (backslash, newline, and
the double quote in label values), and values are formatted as Go formats them (``+Inf``,
``1.8446744073709552e+19``). The tests hold the output to ``generate_latest`` byte for byte
(both formats); the agent imports no prometheus_client at all (metrics.py says why).
"""

import math
import re
from typing import Any, Callable, Dict, List, Pattern, Sequence, Set, Tuple

#: The content type of the format (Prometheus' and node_exporter's default).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
#: OpenMetrics samples of a family that the text format serves as gauges of their own, after it.
_SPLIT_SUFFIXES = ("_created", "_gsum", "_gcount")
_TYPES = {"counter": "counter", "gauge": "gauge", "summary": "summary", "histogram": "histogram",
          "untyped": "untyped", "unknown": "untyped", "info": "gauge", "stateset": "gauge",
          "gaugehistogram": "histogram"}


class _Names:
    """Names already known to be valid; a name that is not raises ValueError (a collector bug,
    answered as the scrape's 500 like any other), never an unparseable line."""

    def __init__(self, pattern: Pattern[str], what: str) -> None:
        self._pattern = pattern
        self._what = what
        self._valid: Set[str] = set()

    def check(self, name: str) -> str:
        if name not in self._valid:
            if not self._pattern.match(name):
                raise ValueError(f"invalid {self._what} name {name!r}")
            if len(self._valid) < 65536:  # names come from drivers: bounded, not trusted
                self._valid.add(name)
        return name


_METRICS = _Names(_METRIC_NAME, "metric")
#: Integers below 2**53 are floats exactly, and below 1e16 Python's repr writes them in full.
_EXACT = 2 ** 53
_LABELS = _Names(_LABEL_NAME, "label")


def go_float(value: float) -> str:
    """``value`` as Go's strconv.FormatFloat(v, 'g', -1, 64) writes it, for the values
    Prometheus clients produce (prometheus_client's floatToGoString)."""
    if type(value) is int and 0 <= value < _EXACT:  # a counter: repr(float(value)) without the float
        s = str(value)
        if len(s) > 6 and value:
            return f"{s[0]}.{s[1:]}".rstrip("0.") + f"e+{len(s) - 1:02d}"
        return s + ".0"
    d = float(value)
    if d == math.inf:
        return "+Inf"
    if d == -math.inf:
        return "-Inf"
    if d != d:
        return "NaN"
    s = repr(d)
    dot = s.find(".")
    if d > 0 and dot > 6:  # Go switches to an exponent sooner than Python
        mantissa = f"{s[0]}.{s[1:dot]}{s[dot + 1:]}".rstrip("0.")
        return f"{mantissa}e+{dot - 1:02d}"
    return s


def escape_help(text: str) -> str:
    return text.replace("\\", r"\\").replace("\n", r"\n")


def escape_label_value(text: str) -> str:
    return text.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


#: Rendered ``name="value"`` pairs: a scrape repeats the same few hundred (devices, queues).
_PAIRS: Dict[Tuple[str, str], str] = {}
#: Label values come from the host (interface names, IMDS): the cache stays small whatever
#: they are.
_MAX_PAIRS = 4096


def utf8_text(value: str) -> str:
    """``value`` as UTF-8 can carry it: an interface name is bytes (os.listdir gives the
    ones that are not UTF-8 as surrogates, which no page can hold), so its undecodable
    bytes are written ``\\xff``, the name still told apart from the others."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "".join(_unsurrogate(c) for c in value)
    return value


def _unsurrogate(c: str) -> str:
    code = ord(c)
    if 0xDC80 <= code <= 0xDCFF:  # a byte surrogateescape kept
        return "\\x%02x" % (code - 0xDC00)
    return "\\u%04x" % code if 0xD800 <= code <= 0xDFFF else c


def _pair(name: str, value: str) -> str:
    key = (name, value)
    text = _PAIRS.get(key)
    if text is None:
        text = f'{_LABELS.check(name)}="{escape_label_value(utf8_text(value))}"'
        if len(_PAIRS) < _MAX_PAIRS:
            _PAIRS[key] = text
    return text


def _label_set(labels: Dict[str, str]) -> str:
    if not labels:
        return ""
    if len(labels) == 1:
        [(name, value)] = labels.items()
        return "{" + _pair(name, value) + "}"
    return "{" + ",".join([_pair(name, labels[name]) for name in sorted(labels)]) + "}"


def _sample_line(sample: Any) -> str:
    stamp = "" if sample.timestamp is None else f" {int(float(sample.timestamp) * 1000):d}"
    return f"{_METRICS.check(sample.name)}{_label_set(sample.labels)} {go_float(sample.value)}{stamp}\n"


#: One series of a :class:`RowsFamily`, its labels already written: the label values (in the
#: family's ``label_names`` order) and the line up to its value (``name{a="x",b="y"} ``).
Row = Tuple[Tuple[str, ...], str]


def render_row(name: str, label_names: Sequence[str], values: Tuple[str, ...]) -> Row:
    """A series of family ``name``, written once and reused at every scrape (the ethtool
    export has the same few hundred at each): labels sorted by name, as generate_latest
    writes them."""
    metric = _METRICS.check(name)
    if not label_names:
        return values, metric + " "
    pairs = sorted(zip(label_names, values))
    return values, metric + "{" + ",".join([_pair(label, value) for label, value in pairs]) + "} "


class RowsFamily:
    """An untyped family whose samples are kept as rows (a :data:`Row`, value) and written
    straight from them: the ethtool export adds hundreds per scrape. A ``name[]`` filter or
    prometheus_client's encoders read :attr:`samples`, made when asked."""

    type = "unknown"  # OpenMetrics' name; the text format's "untyped"
    unit = ""

    def __init__(self, name: str, documentation: str, label_names: Sequence[str]) -> None:
        self.name = name
        self.documentation = documentation
        self.label_names = tuple(label_names)
        self.rows: List[Tuple[Row, float]] = []

    def add(self, values: Tuple[str, ...], value: float) -> None:
        self.rows.append((render_row(self.name, self.label_names, values), value))

    @property
    def samples(self) -> List[Any]:
        from accelnet.agent.metrics import Sample

        return [Sample(self.name, dict(zip(self.label_names, values)), value) for (values, _), value in self.rows]


def _rows_lines(family: RowsFamily, out: List[str]) -> None:
    # Most driver counters are small integers, which go_float writes as "<n>.0": written
    # here without the call, they take half the time.
    out.extend([f"{prefix}{value}.0\n" if type(value) is int and 0 <= value < 1000000 else f"{prefix}{go_float(value)}\n"
                for (_, prefix), value in family.rows])


def text_format(registry: Any) -> bytes:
    """Every family ``registry.collect()`` yields, in the text format, UTF-8."""
    out: List[str] = []
    for family in registry.collect():
        name, kind = family.name, family.type
        shown = name + "_total" if kind == "counter" else name + "_info" if kind == "info" else name
        _METRICS.check(shown)
        doc = escape_help(family.documentation)
        out.append(f"# HELP {shown} {doc}\n# TYPE {shown} {_TYPES.get(kind, kind)}\n")
        if isinstance(family, RowsFamily):
            _rows_lines(family, out)
            continue
        split: Dict[str, List[str]] = {}
        for sample in family.samples:
            sample_name = sample.name
            if sample_name.startswith(name) and sample_name[len(name):] in _SPLIT_SUFFIXES:
                split.setdefault(sample_name[len(name):], []).append(_sample_line(sample))
            else:
                out.append(_sample_line(sample))
        for suffix, lines in sorted(split.items()):
            out.append(f"# HELP {name}{suffix} {doc}\n# TYPE {name}{suffix} gauge\n")
            out.extend(lines)
    return "".join(out).encode("utf-8")



#: OpenMetrics 1.0.0: what Prometheus asks for first.
OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"


def _openmetrics_sample_line(sample: Any) -> str:
    stamp = "" if sample.timestamp is None else f" {sample.timestamp}"
    return f"{_METRICS.check(sample.name)}{_label_set(sample.labels)} {go_float(sample.value)}{stamp}\n"


def openmetrics_format(registry: Any) -> bytes:
    """Every family ``registry.collect()`` yields, in the OpenMetrics text format, UTF-8: the
    bytes prometheus_client's OpenMetrics ``generate_latest`` writes (no exemplars: the agent
    has none). Help texts escape the double quote too, samples keep their own names
    (``_total``), and the page ends with ``# EOF``."""
    out: List[str] = []
    for family in registry.collect():
        name = _METRICS.check(family.name)
        kind = "unknown" if family.type == "untyped" else family.type
        out.append(f"# HELP {name} {escape_label_value(family.documentation)}\n# TYPE {name} {kind}\n")
        if family.unit:
            out.append(f"# UNIT {name} {family.unit}\n")
        if isinstance(family, RowsFamily):
            _rows_lines(family, out)
        else:
            out.extend([_openmetrics_sample_line(sample) for sample in family.samples])
    out.append("# EOF\n")
    return "".join(out).encode("utf-8")


def choose_format(accept: str) -> Tuple[Callable[[Any], bytes], str]:
    """(encoder, content type) for an Accept header: OpenMetrics where the client lists it
    (Prometheus does, first), else the text format (node_exporter's default)."""
    for item in accept.split(","):
        if item.split(";", 1)[0].strip().lower() == "application/openmetrics-text":
            return openmetrics_format, OPENMETRICS_CONTENT_TYPE
    return text_format, CONTENT_TYPE
