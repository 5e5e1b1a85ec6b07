"""Fixtures for the serving side: a registry with fixed values, servers that are always shut
down, and a small PKI made with the openssl command (a CA, a server cert, client certs)."""

import shutil
from typing import Callable, Iterator, List

import pytest
from prometheus_client import CollectorRegistry

from accelnet.agent import web
from webhelpers import PKI, FixedCollector, make_pki


@pytest.fixture
def registry() -> CollectorRegistry:
    reg = CollectorRegistry()
    reg.register(FixedCollector())
    return reg


@pytest.fixture
def start() -> Iterator[Callable[..., web.Server]]:
    """start(registry, **serve_kwargs) -> Server on 127.0.0.1:0; all shut down afterwards."""
    servers: List[web.Server] = []

    def _start(registry: CollectorRegistry, listen: str = "127.0.0.1:0", **kw) -> web.Server:
        srv = web.serve(listen, registry, **kw)
        servers.append(srv)
        return srv

    yield _start
    for srv in servers:
        srv.shutdown()


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKI:
    if shutil.which("openssl") is None:
        pytest.fail("the openssl command is needed (Debian package openssl)")
    return make_pki(str(tmp_path_factory.mktemp("pki")))
