"""Text from a host made safe to print on a terminal or in a monitoring plugin's output.

Why: every string the text report shows comes, at least partly, from the host or a snapshot
(PRETTY_NAME, driver and interface names, kernel log lines, IMDS values). A snapshot is
untrusted input: an ``ESC [ 2 J`` in os-release, an OSC 52 sequence in a driver name or a
bidi override in a VM name would otherwise reach the user's terminal raw (clearing it,
writing to the clipboard, or making text read as something else). A monitoring system adds
two more bytes with a meaning: a line break starts a new output line, and ``|`` starts
performance data (Nagios parses everything after the first ``|`` of any line as perfdata).

:func:`safe_text` is the one function the text output uses. JSON needs none of it:
``json.dumps`` escapes control characters, and a JSON consumer wants the faithful value.
"""

import unicodedata

__all__ = ["safe_text", "safe_label"]

#: Unicode categories shown escaped: controls (C0, DEL, C1), format characters (bidi
#: overrides, zero-width characters), surrogates (bytes ``surrogateescape`` could not
#: decode) and the line/paragraph separators. Unassigned code points (Cn) are left alone on
#: purpose: what is unassigned changes with the Python version, the output must not.
_ESCAPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
#: Stands in for ``|`` in text output (U+00A6 BROKEN BAR reads the same to a person).
PIPE_STAND_IN = "\u00a6"


def _escape(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return "\\x%02x" % code
    if code < 0x10000:
        return "\\u%04x" % code
    return "\\U%08x" % code


def safe_text(text: object, keep_pipes: bool = False) -> str:
    """``text`` with every control, format and separator character shown as its escape
    (``\\x1b``, ``\\u202e``) and, unless ``keep_pipes`` (a person at a terminal, who may copy
    a remedy's shell pipeline), ``|`` replaced by a look-alike; printable text, unicode
    included, is kept as it is. Anything that is not a string is first made one."""
    if not isinstance(text, str):
        text = str(text)
    out = []
    for char in text:
        if char == "|" and not keep_pipes:
            out.append(PIPE_STAND_IN)
        elif char < " " or "\x7f" <= char <= "\x9f" or unicodedata.category(char) in _ESCAPED_CATEGORIES:
            out.append(_escape(char))
        else:
            out.append(char)
    return "".join(out)


def safe_label(text: object) -> str:
    """A performance-data label: :func:`safe_text`, then every character the plugin format
    reserves (quote, ``=``, blanks) or that the text escaping produced (backslash) becomes
    ``_``, so that the label needs no quoting rules beyond the surrounding quotes."""
    cleaned = safe_text(text)
    return "".join("_" if c in "'= \t\\" + PIPE_STAND_IN or c.isspace() else c for c in cleaned) or "_"
