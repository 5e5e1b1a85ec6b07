"""What accelnet-check --watch shows: a frame for a terminal, one line per interval for a pipe,
one line per VF event, or JSON lines. Pure: rates and events in, text out.

The terminal frame is redrawn in place with plain ANSI (cursor up, erase line: what every
terminal and ssh client since the VT100 understands); each line is cut to the terminal's
width, because a line that wraps would break the count of lines to go back up. Names come
from the host: they go through safe_text.
"""

import datetime
import json
from accelnet.records import dataclass
from typing import List, Optional, Sequence

from accelnet.diagnosis.rates import NicRates, Path
from accelnet.diagnosis.safetext import safe_text

#: Events a terminal frame shows (the newest); a pipe gets every one as its own line.
EVENTS_SHOWN = 8
_COLOURS = {"vf": "32", "synthetic": "33", "no VF": "31", "unknown": "35"}


@dataclass(frozen=True)
class Event:
    epoch: float
    nic: str
    vf: str
    kind: str  # "added" | "removed"
    source: str = "rtnetlink"  # or "kernel log" (a snapshot's history)


def utc(epoch: float, with_date: bool = True) -> str:
    stamp = datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ" if with_date else "%H:%M:%SZ")


def human(value: Optional[float], unit: str) -> str:
    """1234567 -> '1.2M' (SI): packets or bytes per second, '-' where unknown."""
    if value is None:
        return "-"
    for factor, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= factor:
            return f"{value / factor:.1f}{prefix}{unit}"
    return f"{value:.0f}{unit}"


def _pair(path: Path, direction: str) -> str:
    pps = getattr(path, f"{direction}_pps")
    bps = getattr(path, f"{direction}_bps")
    if pps is None and bps is None:
        return "-"
    return f"{human(pps, '')} pkt {human(bps, 'B')}"


HEADER = ("NIC", "VF", "PATH", "VF RX /s", "VF TX /s", "SYNTHETIC RX /s", "SYNTHETIC TX /s", "DROPS /s")


def title(interval: float) -> str:
    return f"accelnet-check --watch: every {interval:g} s, Ctrl-C to stop"


def frame(rates: Sequence[NicRates], events: Sequence[Event], heading: str, now: float,
          width: int, colour: bool = False, note: str = "") -> List[str]:
    """The terminal view: title, one row per NIC, the newest VF events."""
    rows = [HEADER] + [(safe_text(r.nic), safe_text(r.vf or "-"), r.datapath, _pair(r.vf_path, "rx"),
                        _pair(r.vf_path, "tx"), _pair(r.synthetic, "rx"), _pair(r.synthetic, "tx"),
                        human(r.drops, "")) for r in rates]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    lines = [f"{heading}    {utc(now)}"]
    if note:
        lines.append(safe_text(note))
    for index, row in enumerate(rows):
        cells = [row[i].ljust(widths[i]) for i in range(len(row))]
        if colour and index and row[2] in _COLOURS:
            cells[2] = f"\033[{_COLOURS[row[2]]}m{cells[2]}\033[0m"
        lines.append("  ".join(cells).rstrip())
    if not rates:
        lines.append("(no synthetic NIC)")
    sources = sorted({r.source for r in rates if r.source})
    if sources:
        lines.append("from " + ", ".join(sources))
    lines.append("VF events:" if events else "VF events: none since the start")
    lines += ["  " + event_text(e, with_date=False) for e in list(events)[-EVENTS_SHOWN:]]
    return [_cut(line, width) for line in lines]


def _cut(line: str, width: int) -> str:
    """``line`` within ``width`` visible columns (colour sequences do not count)."""
    if width <= 0:
        return line
    visible, out, i = 0, [], 0
    while i < len(line):
        if line.startswith("\033[", i):
            end = line.find("m", i)
            end = len(line) - 1 if end < 0 else end
            out.append(line[i:end + 1])
            i = end + 1
            continue
        if visible >= width - 1:
            break
        out.append(line[i])
        visible += 1
        i += 1
    text = "".join(out)
    return text + ("\033[0m" if "\033[" in text and not text.endswith("\033[0m") else "")


def event_text(event: Event, with_date: bool = True) -> str:
    where = "" if event.source == "rtnetlink" else f" ({event.source})"
    return f"{utc(event.epoch, with_date)} {safe_text(event.nic)}: VF {safe_text(event.vf)} {event.kind}{where}"


def event_line(event: Event) -> str:
    """An event for a pipe: ``<time> event <nic>: VF <vf> removed``."""
    return event_text(event).replace(" ", " event ", 1)


def _number(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:.1f}".rstrip("0").rstrip(".")


def line(rates: Sequence[NicRates], now: float) -> str:
    """One line for a pipe: time, then per NIC key=value fields (numbers per second)."""
    parts = []
    for r in rates:
        fields = [safe_text(r.nic), f"vf={safe_text(r.vf or '-')}", f"path={r.datapath.replace(' ', '_')}"]
        for prefix, path in (("vf", r.vf_path), ("syn", r.synthetic)):
            for direction in ("rx", "tx"):
                fields.append(f"{prefix}_{direction}_pps={_number(getattr(path, direction + '_pps'))}")
                fields.append(f"{prefix}_{direction}_Bps={_number(getattr(path, direction + '_bps'))}")
        fields.append(f"drops_ps={_number(r.drops)}")
        parts.append(" ".join(fields))
    return f"{utc(now)} " + (" ; ".join(parts) if parts else "no-synthetic-nic")


def json_rates(rates: Sequence[NicRates], now: float) -> str:
    def path(p: Path) -> dict:
        return {"rx_packets_per_s": p.rx_pps, "rx_bytes_per_s": p.rx_bps,
                "tx_packets_per_s": p.tx_pps, "tx_bytes_per_s": p.tx_bps}
    return json.dumps({"time": utc(now), "interfaces": [
        {"name": r.nic, "vf": r.vf, "datapath": r.datapath, "vf_path": path(r.vf_path),
         "synthetic_path": path(r.synthetic), "vf_drops_per_s": r.drops, "source": r.source,
         "seconds": round(r.seconds, 3)} for r in rates]})


def json_event(event: Event) -> str:
    return json.dumps({"time": utc(event.epoch), "event": {"interface": event.nic, "vf": event.vf,
                                                           "kind": event.kind, "source": event.source}})
