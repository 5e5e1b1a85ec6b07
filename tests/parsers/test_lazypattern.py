"""LazyPattern: compiled on first use, and then the same answers as re's compiled pattern."""

import re
import subprocess
import sys
from typing import List

import pytest

from accelnet.parsers.lazypattern import LazyPattern


def test_nothing_is_compiled_before_use_and_once_after() -> None:
    pattern = LazyPattern(r"(\w+): (\d+)", re.ASCII)
    assert pattern._compiled is None
    assert pattern.pattern == r"(\w+): (\d+)"
    first = pattern.compiled
    assert pattern.compiled is first
    assert first.flags & re.ASCII


def test_every_method_answers_as_re_does() -> None:
    source, text = r"(?P<name>[a-z_]+): (?P<value>\d+)", "rx_packets: 5\ntx_packets: 7 tx_dropped: 1"
    lazy, real = LazyPattern(source), re.compile(source)
    assert lazy.match(text).groupdict() == real.match(text).groupdict()
    assert lazy.match(text, 14).group(0) == real.match(text, 14).group(0)
    assert lazy.fullmatch("a: 1").span() == real.fullmatch("a: 1").span()
    assert lazy.fullmatch(text) is None
    assert lazy.search(text, 1).span() == real.search(text, 1).span()
    assert [m.span() for m in lazy.finditer(text)] == [m.span() for m in real.finditer(text)]
    assert lazy.findall(text) == real.findall(text)
    assert lazy.sub(r"\g<name>=\g<value>", text, 1) == real.sub(r"\g<name>=\g<value>", text, 1)
    assert lazy.sub(lambda m: m.group("name").upper(), text) == real.sub(lambda m: m.group("name").upper(), text)


DRIVER_LINE = "[    5.2] mlx5_core 927a:00:02.0: firmware version: 16.30.1004"


@pytest.mark.parametrize("log, compiled", [
    ("", 0),
    ("[    5.1] hv_netvsc 000d3a0a-0001 eth0: VF registering: eth1", 0),
    (DRIVER_LINE, 9),  # a VF driver's line is classified: its patterns are compiled then
])
def test_the_failure_patterns_wait_for_a_line_of_a_vf_driver(log: str, compiled: int) -> None:
    """What the laziness is for: a log without a VF driver's lines (or none captured) leaves
    the driver log's classifying patterns uncompiled. A fresh interpreter, since other tests
    in this process compile them."""
    code = "\n".join([
        "from accelnet.parsers import driverlog",
        "assert driverlog.parse_driver_failures(%r) == []" % (log + "\n"),
        "patterns = [p for p, _ in driverlog._CLASSIFIED] + [driverlog._VF_VERSION, driverlog._LINE_ERRNO]",
        "print(sum(p._compiled is not None for p in patterns))",
    ])
    out = subprocess.run([sys.executable, "-c", code], stdout=subprocess.PIPE, universal_newlines=True, check=True)
    assert int(out.stdout) == compiled


def test_once_compiled_a_call_is_the_compiled_patterns_own() -> None:
    """No wrapper left between a per-line loop and re: the kernel log's loops call these tens
    of thousands of times (a wrapping method made them a third slower)."""
    pattern = LazyPattern(r"VF slot (\d+) (added|removed)")
    assert pattern.search("hv_netvsc: VF slot 1 added").group(1) == "1"
    compiled = pattern.compiled
    for name in ("match", "fullmatch", "search", "finditer", "findall", "sub"):
        bound = getattr(pattern, name)
        assert bound.__self__ is compiled and bound.__name__ == name
    with pytest.raises(AttributeError):
        pattern.split  # noqa: B018 - not one of the methods a LazyPattern offers


def test_threads_first_using_one_pattern_get_the_same_answers() -> None:
    """The agent's threads (scrape, checks, events) may first use a pattern at the same time:
    each gets re's answer, whichever method it calls first, and one compiled pattern stays."""
    import threading

    text = "[    5.1] hv_netvsc 000d3a0a-0001 eth0: VF registering: enP1s1"
    source = r"VF registering: (\S+)"
    real = re.compile(source)
    calls = [
        lambda p: p.search(text).group(1),
        lambda p: p.findall(text),
        lambda p: [m.span() for m in p.finditer(text)],
        lambda p: p.sub("X", text),
        lambda p: p.match(text),
        lambda p: p.fullmatch("VF registering: x").group(1),
    ]
    expected = [call(real) for call in calls]
    for _ in range(200):
        pattern = LazyPattern(source)
        barrier = threading.Barrier(len(calls))
        answers = [None] * len(calls)  # type: List[object]
        failures = []  # type: List[BaseException]

        def run(index: int) -> None:
            barrier.wait()
            try:
                answers[index] = calls[index](pattern)
            except BaseException as error:  # reported below, not lost in the thread
                failures.append(error)

        threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not failures
        assert answers == expected
        assert pattern.search.__self__ is pattern.compiled
