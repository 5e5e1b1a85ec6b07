"""Fixtures of the security tests: hostile inputs are built here, never shipped."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import shutil  # noqa: E402

import pytest  # noqa: E402

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TESTS, "web"))  # webhelpers: the test PKI
sys.path.insert(0, TESTS)  # agentproc, testutil

from webhelpers import make_pki  # noqa: E402


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.fail("the openssl command is needed (Debian package openssl)")
    return make_pki(str(tmp_path_factory.mktemp("pki")))
