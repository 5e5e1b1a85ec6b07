"""Every argv accelnet-fleet runs parses in the real Azure CLI (as tests/provision/test_real_az.py
holds for accelnet-provision): the calls of real fleet runs against the stand-in az, in every
shape the fleet has (a resource group, named VMs, a Uniform and a Flexible scale set, an
answer long enough to be fetched in parts, --subscription as id and as name, odd names Azure
allows), go to PyPI's azure-cli, pinned, logged out: each must end at the login error, with
no deprecation. Nothing reaches Azure (see tests/provision/real_az.py)."""

import io
import json
import re
import sys
from pathlib import Path
from typing import Any, List

from fleet_fakes import RG, SUBSCRIPTION, spawn_in_process, vm, world

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "provision"))
import real_az  # noqa: E402

ODD_RG = "rg.(prod)_1-x"  # parentheses, dots, underscores: legal in a resource group name
COMMANDS = {"account show", "vm list", "vm get-instance-view", "vm run-command invoke", "vmss show",
            "vmss list-instances", "vmss run-command invoke"}


def _shape(argv: List[str]) -> str:
    """An argv with its script reduced to the part it asks for: the token and the collector
    make every script distinct, not its parsing."""
    return json.dumps([f"script of part {re.search(r'PART=.([0-9]+)', a).group(1)}"  # type: ignore[union-attr]
                       if a.startswith("#!/bin/sh") else a for a in argv])


def _calls_of(fleet_az: Any, state: dict, *argv: str) -> List[List[str]]:
    from accelnet.cli.fleet import run
    from accelnet.provision.azcli import AzCli

    fleet_az.load(state)
    cli = AzCli(spawn=spawn_in_process, backoff=0.0)
    code = run(list(argv), io.StringIO(), io.StringIO(), cli=cli)
    assert code in (0, 1, 2), (argv, code)
    return cli.calls


def test_every_fleet_argv_parses_in_the_real_azure_cli(fleet_az, tmp_path):
    install = real_az.installed_or_skip()
    group = world([vm("web_1.a-b", "ubuntu2204-cx5-2nics", "installed", rg=ODD_RG),
                   vm("big", "ubuntu2004-cx3-8nics", rg=ODD_RG)], groups=(ODD_RG,))
    uniform = world(vmss=[{"name": "ss.1", "rg": RG, "size": "Standard_D8s_v5", "mode": "Uniform", "os": "Linux",
                           "instances": [dict(vm("0", "centos7-an-off"), id="0")]}])
    flexible = world([vm("flex-0", "ubuntu2204-mana-healthy", scale_set="flex")],
                     vmss=[{"name": "flex", "rg": RG, "size": "Standard_D4s_v6", "mode": "Flexible", "os": "Linux"}])
    calls = (_calls_of(fleet_az, group, "-g", ODD_RG)
             + _calls_of(fleet_az, group, "-g", ODD_RG, "--vm", "big", "--subscription", SUBSCRIPTION)
             + _calls_of(fleet_az, uniform, "-g", RG, "--vmss", "ss.1", "--subscription", "fake subscription")
             + _calls_of(fleet_az, flexible, "-g", RG, "--vmss", "flex"))
    argvs = real_az.distinct(iter(calls), _shape)
    assert {real_az.command_words(a) for a in argvs} == COMMANDS
    assert any("script of part 3" in _shape(list(a)) for a in argvs)  # a long answer's later part
    proxy, aliases = real_az.CountingProxy(), real_az.AliasServer(install.az)
    try:
        verdicts = real_az.run_batched(install.az, argvs, tmp_path / "az", proxy, aliases.url)
    finally:
        proxy.close()
        aliases.close()
    rejected = [v for v in verdicts if not v.accepted]
    assert rejected == [], "\n\n".join(
        f"az {_shape(list(v.argv))}\n  -> {v.reason}\n  stderr: {v.stderr.strip()}" for v in rejected)
    assert len(verdicts) == len(argvs) and proxy.attempts == [], "az tried to reach the network"
