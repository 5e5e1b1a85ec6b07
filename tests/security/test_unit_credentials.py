"""Secrets under DynamicUser=: the unit takes the web config and TLS key as systemd
credentials (LoadCredential= in a drop-in), and nothing advises world-readable secrets."""

import os
import re
import shutil
import subprocess

from testutil import require_tool

from hostile import REPO

UNIT = os.path.join(REPO, "systemd", "accelnet-agent.service")
DROPIN = os.path.join(REPO, "systemd", "credentials.conf")
DEFAULT = os.path.join(REPO, "systemd", "accelnet-agent.default")


def _unit_dir(tmp_path) -> str:
    """The unit (with an ExecStart that exists here) and the drop-in, as systemd finds them."""
    with open(UNIT) as f:
        text = f.read().replace("ExecStart=/usr/bin/accelnet-agent ", "ExecStart=%s " % shutil.which("true"))
    (tmp_path / "accelnet-agent.service").write_text(text)
    dropins = tmp_path / "accelnet-agent.service.d"
    dropins.mkdir()
    shutil.copy(DROPIN, str(dropins / "credentials.conf"))
    return str(tmp_path)


def test_unit_with_the_credentials_dropin_verifies_cleanly(tmp_path):
    analyze = require_tool("systemd-analyze", "systemd")
    directory = _unit_dir(tmp_path)
    env = dict(os.environ, SYSTEMD_UNIT_PATH=directory + ":")
    result = subprocess.run([analyze, "verify", "--man=no", "accelnet-agent.service"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, universal_newlines=True, timeout=120, cwd=directory, env=env)
    assert result.returncode == 0, result.stderr
    assert "credentials.conf" not in result.stderr and "accelnet-agent" not in result.stderr, result.stderr
    security = subprocess.run([analyze, "security", "--offline=true", "--no-pager", "accelnet-agent.service"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                              timeout=120, cwd=directory, env=env)
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", security.stdout)
    assert match and float(match.group(1)) <= 2.0, security.stdout + security.stderr


def test_dropin_loads_the_three_credentials_the_agent_reads():
    with open(DROPIN) as f:
        lines = [line.strip() for line in f if line.strip() and not line.startswith("#")]
    assert lines[0] == "[Service]"
    creds = dict(line.split("=", 1)[1].split(":", 1) for line in lines[1:] if line.startswith("LoadCredential="))
    assert set(creds) == {"web-config.yml", "tls.crt", "tls.key"}
    assert all(os.path.isabs(source) for source in creds.values())
    from accelnet.agent.webconfig import CREDENTIAL_NAME
    assert CREDENTIAL_NAME in creds


def test_nothing_advises_world_readable_secrets():
    for path in (DEFAULT, UNIT, DROPIN):
        with open(path) as f:
            text = f.read()
        assert not re.search(r"make them world-readable|world-readable or|with mode 0644", text), path
    with open(DEFAULT) as f:
        assert "credentials.conf" in f.read()
