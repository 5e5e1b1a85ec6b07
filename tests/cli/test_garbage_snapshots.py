"""A snapshot whose files hold anything at all still gives a report, never a traceback."""

import contextlib
import io
import json
import shutil

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import goldens
from accelnet.cli.check import main
from accelnet.diagnosis import distros

FILES = [
    "root/etc/os-release",
    "root/proc/sys/kernel/osrelease",
    "root/proc/cpuinfo",
    "root/sys/devices/virtual/dmi/id/chassis_asset_tag",
    "cmd/imds.json",
    "cmd/lspci.txt",
    "cmd/ethtool-S.eth0.0.txt",
    "cmd/ethtool-S.eth0.1.txt",
    "snapshot.json",
]
CONTENT = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.sampled_from([b"", b"\x00" * 50, b"{}", b"[]", b"null", b"NIC statistics:\n     vf_rx_packets: -1\n"]),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.sampled_from(FILES), CONTENT, min_size=1, max_size=len(FILES)))
def test_any_file_content(tmp_path_factory, replaced):
    snap = tmp_path_factory.mktemp("snap") / "host"
    shutil.copytree(goldens.FIXTURES + "/ubuntu2204-cx5-2nics", snap, symlinks=True)
    for name, data in replaced.items():
        (snap / name).write_bytes(data)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["--snapshot", str(snap), "--json"])
    report = json.loads(out.getvalue())
    assert code in (0, 1, 2, 3) and report["status"] in ("ok", "warning", "critical", "unknown")
    assert len(report["checks"]) == 9


class _Os:
    def __init__(self, ident, like, version):
        self.id, self.id_like, self.version_id = ident, like, version
        self.pretty_name = self.name = None


@given(st.text(max_size=12), st.lists(st.text(max_size=8), max_size=3), st.text(max_size=10) | st.none(),
       st.text(max_size=40), st.text(max_size=25) | st.none(), st.lists(st.sampled_from(["mlx4", "mlx5", "mana"])))
def test_distribution_and_kernel_rules_take_anything(ident, like, version, kernel, image, families):
    osr = _Os(ident, tuple(like), version)
    for verdict in (distros.evaluate_distribution(osr), distros.evaluate_kernel(osr, kernel, image, families)):
        assert verdict.status in ("ok", "warning", "critical", "unknown") and verdict.summary
