"""50 concurrent scrapers for a few seconds get no error (bench/ has the 30 s version)."""

import importlib.util
import os
import sys
import threading

from accelnet.agent import web

_BENCH = os.path.join(os.path.dirname(__file__), "..", "..", "bench", "bench_scrape_load.py")
_spec = importlib.util.spec_from_file_location("bench_scrape_load", _BENCH)
bench = importlib.util.module_from_spec(_spec)
sys.modules["bench_scrape_load"] = bench  # dataclasses look their module up there
_spec.loader.exec_module(bench)  # type: ignore[union-attr]


def test_fifty_concurrent_scrapers_get_no_error():
    registry = bench.agent_like_registry(32)
    threads_before = threading.active_count()
    srv = web.serve("127.0.0.1:0", registry)
    try:
        result = bench.run_load("127.0.0.1", srv.port, clients=50, seconds=5.0)
        server_threads = threading.active_count() - threads_before
    finally:
        srv.shutdown()
    print("\n" + result.summary("accelnet web.serve, 50 scrapers, 5 s"))
    assert result.errors == []
    assert srv.rejected == 0
    assert result.requests >= 50, "every scraper got at least one answer"
    # the client threads have ended; what is left is the bounded pool plus the acceptor
    assert server_threads <= srv.max_workers + 1


def test_fifty_concurrent_scrapers_over_plain_and_gzip_answers_match():
    registry = bench.agent_like_registry(4)
    srv = web.serve("127.0.0.1:0", registry)
    try:
        plain = bench.run_load("127.0.0.1", srv.port, clients=50, seconds=1.0, headers={})
        zipped = bench.run_load("127.0.0.1", srv.port, clients=50, seconds=1.0)
    finally:
        srv.shutdown()
    assert plain.errors == [] and zipped.errors == []
    assert plain.requests > 0 and zipped.requests > 0
