"""accelnet-check --watch: each synthetic NIC live, until Ctrl-C (exit 0).

It reads the host the way the check does and nothing else: the NICs and their VFs from the
check's own discovery (facts.gather through the Host), the counters through the Host's
sampler (the ethtool ioctl), the VF interface's statistics through the Host, and VF events
from the rtnetlink monitor of the agent (kernel/events.py) as they happen; after an event the
NICs are discovered again at once. On a terminal one frame is redrawn in place; into a pipe
goes one line per interval and one per event (``--json``: JSON lines). With ``--snapshot``
the view is the one interval a bundle holds (its two counter samples) and the VF events of
its kernel log, shown once.
"""

import queue
import shutil
import time
from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Sequence, TextIO, Tuple

from accelnet.diagnosis import watchview
from accelnet.diagnosis.facts import Options, gather
from accelnet.diagnosis.rates import NicRates, Reading, rates
from accelnet.readers.host import Host
from accelnet.readers.netdev import read_link_stats

if TYPE_CHECKING:  # the monitor is imported where events are watched
    from accelnet.kernel.events import VfEvent

#: Intervals between two discoveries of the NICs when no VF event asks for one sooner.
REDISCOVER_TICKS = 30
KERNEL_LOG_EVENTS = {"vf_registered": "added", "vf_unregistered": "removed"}


def discover(host: Host, drivers: Sequence[str]) -> List[Tuple[str, Optional[str]]]:
    """(synthetic NIC, its VF or None), as the check pairs them."""
    facts = gather(host, Options(sample_seconds=0, imds=False, synthetic_drivers=drivers))
    return [(p.synthetic.name, p.vf.name if p.vf is not None else None) for p in facts.pairings]


def read(host: Host, pairs: Sequence[Tuple[str, Optional[str]]]) -> Dict[str, Reading]:
    samples = host.sample_counters([nic for nic, _vf in pairs], 0)
    found = {}
    for nic, vf in pairs:
        readings = samples.get(nic) or []
        sample = readings[0] if readings else None
        found[nic] = Reading(nic, vf, sample.monotonic if sample else time.monotonic(),
                             sample.stats if sample else None,
                             read_link_stats(host, vf) if vf else None)
    return found


class Screen:
    """Where the view goes: a frame redrawn in place (terminal), or lines (pipe, JSON)."""

    def __init__(self, out: TextIO, terminal: bool, colour: bool, as_json: bool, interval: float) -> None:
        self.out, self.terminal, self.colour, self.as_json = out, terminal, colour, as_json
        self.heading = watchview.title(interval)
        self.drawn = 0
        self.events: List[watchview.Event] = []
        self.rates: List[NicRates] = []
        self.note = ""

    def _write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()

    def redraw(self, now: float) -> None:
        width = shutil.get_terminal_size((120, 24)).columns
        lines = watchview.frame(self.rates, self.events, self.heading, now, width, self.colour, self.note)
        up = f"\033[{self.drawn}A" if self.drawn else ""
        self._write(up + "".join(f"\r\033[2K{line}\n" for line in lines) + "\033[J")
        self.drawn = len(lines)

    def tick(self, found: List[NicRates], now: float) -> None:
        self.rates = found
        if self.terminal:
            self.redraw(now)
        elif self.as_json:
            self._write(watchview.json_rates(found, now) + "\n")
        else:
            self._write(watchview.line(found, now) + "\n")

    def event(self, event: watchview.Event, now: float) -> None:
        self.events.append(event)
        del self.events[:-watchview.EVENTS_SHOWN]
        if self.terminal:
            self.redraw(now)
        else:
            self._write((watchview.json_event(event) if self.as_json else watchview.event_line(event)) + "\n")

    def history(self, found: Sequence[watchview.Event]) -> None:
        """Events that happened before the view (a snapshot's kernel log)."""
        self.events.extend(found)
        if not self.terminal:
            for event in found:
                self._write((watchview.json_event(event) if self.as_json else watchview.event_line(event)) + "\n")

    def start(self) -> None:
        if self.terminal:
            self._write("\033[?25l")  # no cursor blinking over the frame

    def end(self) -> None:
        if self.terminal:
            self._write("\033[?25h")


def _all_rates(before: Dict[str, Reading], after: Dict[str, Reading]) -> List[NicRates]:
    return [rates(before.get(nic, reading), reading) for nic, reading in after.items()]


def live(host: Host, drivers: Sequence[str], screen: Screen, interval: float,
         duration: Optional[float] = None, clock: Callable[[], float] = time.monotonic,
         wall: Callable[[], float] = time.time) -> int:
    """Watch until Ctrl-C (or ``duration`` seconds); the caller maps the interrupt to exit 0."""
    events: "queue.Queue[VfEvent]" = queue.Queue()
    monitor = None
    try:
        from accelnet.kernel.events import VfMonitor

        monitor = VfMonitor(drivers, on_event=events.put)
        monitor.start()
    except Exception as exc:  # noqa: BLE001 - no events is a degraded view, not a failure
        monitor = None
        screen.note = f"VF events not watched ({exc}): a VF change shows at the next interval"
    screen.start()
    try:
        pairs = discover(host, drivers)
        before = read(host, pairs)
        if screen.terminal:  # something to look at before the first interval ends
            screen.tick(_all_rates(before, before), wall())
        start = clock()
        next_tick = start + interval
        ticks, rediscover = 0, False
        while duration is None or clock() - start < duration:
            wait = max(0.0, next_tick - clock())
            if duration is not None:
                wait = min(wait, max(0.0, start + duration - clock()))
            try:
                happened = events.get(timeout=wait)
            except queue.Empty:
                happened = None
            if happened is not None:
                at = wall() - (clock() - happened.monotonic)
                screen.event(watchview.Event(at, happened.synthetic, happened.vf, happened.kind), wall())
                rediscover = True
                continue
            if clock() < next_tick:
                continue  # the duration ended first
            ticks += 1
            if rediscover or ticks % REDISCOVER_TICKS == 0:
                pairs, rediscover = discover(host, drivers), False
            after = read(host, pairs)
            screen.tick(_all_rates(before, after), wall())
            before = after
            next_tick = max(next_tick + interval, clock())
    finally:
        if monitor is not None:
            monitor.stop()
        screen.end()
    return 0


def frozen(host: Host, drivers: Sequence[str], screen: Screen) -> int:
    """A snapshot's one interval (its two counter samples) and its kernel log's VF events."""
    facts = gather(host, Options(synthetic_drivers=drivers))
    found = []
    for pairing in facts.pairings:
        nic, vf = pairing.synthetic.name, pairing.vf.name if pairing.vf is not None else None
        samples = facts.samples.get(nic) or []
        first, last = (samples[0], samples[-1]) if samples else (None, None)
        found.append(rates(Reading(nic, vf, first.monotonic if first else 0.0, first.stats if first else None),
                           Reading(nic, vf, last.monotonic if last else 0.0, last.stats if last else None)))
    boot = facts.boot_epoch
    screen.history([watchview.Event(boot + entry.boot_s, entry.device or "?", entry.vf or "?",
                                    KERNEL_LOG_EVENTS[entry.event], "kernel log")
                    for entry in facts.history if entry.event in KERNEL_LOG_EVENTS and boot is not None])
    screen.heading = (f"accelnet-check --watch --snapshot: the bundle's counter samples, "
                      f"{facts.sample_interval:g} s apart")
    screen.tick(found, facts.epoch or time.time())
    return 0
