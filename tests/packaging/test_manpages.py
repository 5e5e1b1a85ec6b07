"""The man pages in packaging/man/: every option of --help documented, clean roff, shipped.

Options come from the commands' own --help (top level and each accelnet-provision
subcommand), so a new flag without its man page entry fails here. accelnet-collect is a sh
script with no argparse: its options are those of its usage line and of the case statement
that parses its arguments. The roff must format
without a single groff warning (-ww), in the default device and in a terminal.
"""

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Set

import pytest

from packaging_helpers import REPO_ROOT, require_tool

MAN_DIR = REPO_ROOT / "packaging" / "man"
COMMANDS = {
    "accelnet-check": "accelnet.cli.check",
    "accelnet-agent": "accelnet.cli.agent",
    "accelnet-provision": "accelnet.cli.provision",
    "accelnet-fleet": "accelnet.cli.fleet",
}
# Commands that are sh scripts: command -> the script in the tree.
SH_COMMANDS = {
    "accelnet-collect": REPO_ROOT / "scripts" / "accelnet-collect",
}
PAGES = sorted(list(COMMANDS) + list(SH_COMMANDS))
# An option invocation line of argparse's help: two spaces, then the option(s); the help text
# follows after two or more spaces or on the next lines (indented further).
_INVOCATION = re.compile(r"^  (-\S.*?)(?:\s{2,}|$)")
_LONG = re.compile(r"(?<![\w-])--[A-Za-z][\w.-]*\w")
_SHORT = re.compile(r"(?<![\w-])-[A-Za-z](?![\w-])")


def _help(module: str, *args: str) -> str:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT / "agent"), COLUMNS="200", LANG="C.UTF-8")
    result = subprocess.run([sys.executable, "-m", module, *args, "--help"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            universal_newlines=True, env=env, cwd=str(REPO_ROOT), timeout=60)
    # accelnet-check is a monitoring plugin: its --help exits UNKNOWN, as the guidelines say
    assert result.returncode == (3 if module == COMMANDS["accelnet-check"] else 0), result.stderr
    return result.stdout


def _subcommands(help_text: str) -> List[str]:
    match = re.search(r"^usage: \S+ .*?\{([\w,-]+)\}", help_text, re.M)
    return match.group(1).split(",") if match else []


def _options(help_text: str) -> Set[str]:
    found: Set[str] = set()
    for line in help_text.splitlines():
        match = _INVOCATION.match(line)
        if match:
            found.update(_LONG.findall(match.group(1)))
            found.update(_SHORT.findall(match.group(1)))
    return found


def _sh_usage_options(script: Path) -> Set[str]:
    """The options of the usage line that `sh SCRIPT --help` prints."""
    result = subprocess.run(["sh", str(script), "--help"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            universal_newlines=True, timeout=60, env=dict(os.environ, LANG="C.UTF-8"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: "), result.stdout
    return set(_LONG.findall(result.stdout)) | set(_SHORT.findall(result.stdout))


def _sh_case_options(script: Path) -> Set[str]:
    """The options the argument loop's case statement accepts ("--x=*" is --x; "--" and the
    catch-all "-*" are not options)."""
    source = script.read_text(encoding="utf-8")
    loop = re.search(r"^while \[ \$# -gt 0 \]; do\n(.*?)^done$", source, re.M | re.S)
    assert loop, "no argument loop (while [ $# -gt 0 ]; do ... done) in %s" % script
    found: Set[str] = set()
    for labels in re.findall(r"^\s+(-[^)\n]*)\)", loop.group(1), re.M):
        for label in labels.split("|"):
            label = label.strip()
            if label.endswith("=*"):
                label = label[:-2]
            if label != "--" and "*" not in label:
                found.add(label)
    return found


def _help_options(command: str) -> Dict[str, Set[str]]:
    """--help section ("" for the top level, else the subcommand) -> its options."""
    if command in SH_COMMANDS:
        usage = _sh_usage_options(SH_COMMANDS[command])
        accepted = _sh_case_options(SH_COMMANDS[command])
        assert usage <= accepted, "the usage line names options the script does not accept: %s" % sorted(usage - accepted)
        return {"": usage | accepted}
    module = COMMANDS[command]
    top = _help(module)
    sections = {"": _options(top)}
    for sub in _subcommands(top):
        sections[sub] = _options(_help(module, sub))
    return sections


def _page(command: str) -> Path:
    return MAN_DIR / (command + ".1")


def _text(source: str) -> str:
    """What a reader sees of the roff source, near enough to search for option names."""
    lines = [line for line in source.splitlines() if not line.startswith((".\\\"", "'\\\""))]
    text = "\n".join(lines)
    text = re.sub(r"\\f(?:\[[^]]*\]|.)", "", text)  # font changes
    text = re.sub(r"\\[%:&]", "", text)  # hyphenation and break hints, zero-width space
    text = text.replace("\\-", "-").replace("\\e", "\\")
    return text


@pytest.mark.parametrize("command", PAGES)
def test_every_help_option_is_in_the_man_page(command: str) -> None:
    text = _text(_page(command).read_text(encoding="utf-8"))
    sections = _help_options(command)
    assert sections[""], "no options parsed from %s --help" % command
    if command == "accelnet-provision":
        assert set(sections) == {"", "create", "enable", "disable", "resize"}, sorted(sections)
        assert "--resource-group" in sections["create"] and "--vmss" in sections["enable"]
    missing = []
    for section, options in sorted(sections.items()):
        for option in sorted(options):
            if not re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(option), text):
                missing.append(("%s %s" % (command, section)).strip() + ": " + option)
        if section:
            assert re.search(r"^\.(?:B|BR|SS|TP)\b.*\b%s\b" % section, text, re.M), \
                "%s: subcommand %s not documented" % (command, section)
    assert missing == [], missing


@pytest.mark.parametrize("command", PAGES)
def test_man_page_header_and_name(command: str) -> None:
    source = _page(command).read_text(encoding="utf-8")
    init = (REPO_ROOT / "agent" / "accelnet" / "__init__.py").read_text(encoding="utf-8")
    version = re.search(r'^__version__ = "([^"]+)"', init, re.M).group(1)
    if command in SH_COMMANDS:
        script = SH_COMMANDS[command].read_text(encoding="utf-8")
        assert re.search(r"^VERSION=%s$" % re.escape(version), script, re.M), "%s is not at accelnet %s" % (command, version)
    th = re.search(r"^\.TH (\S+) 1 \"[^\"]+\" \"accelnet ([^\"]+)\"", source, re.M)
    assert th, "no .TH line"
    assert th.group(1) == command.upper().replace("-", "\\-")
    assert th.group(2) == version, "the .TH line says accelnet %s, the package is %s" % (th.group(2), version)
    # The NAME section as lexgrog and mandb want it: "name \- description" on one line.
    name = re.search(r"^\.SH NAME\n(.*)$", source, re.M)
    assert name and name.group(1).startswith(command.replace("-", "\\-") + " \\- "), name
    for section in ("SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS", "EXAMPLES", "SEE ALSO"):
        assert re.search(r"^\.SH \"?%s\"?$" % section, source, re.M), section


@pytest.mark.parametrize("command", PAGES)
def test_option_hyphens_are_escaped(command: str) -> None:
    """An option name typed as "-x" or "--x" in roff renders as a hyphen, not a minus sign,
    and does not survive copy and paste: every one must be written \\- ."""
    bad = []
    for number, line in enumerate(_page(command).read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith(".\\\""):
            continue
        if re.search(r"(?<![\\\w])-", line):
            bad.append("%d: %s" % (number, line))
    assert bad == [], bad


@pytest.mark.parametrize("command", PAGES)
@pytest.mark.parametrize("device", [None, "utf8"])
def test_groff_prints_no_warning(command: str, device: str) -> None:
    groff = require_tool("groff", "groff-base")
    args = [groff, "-man", "-ww", "-z"] + (["-T" + device] if device else []) + [str(_page(command))]
    result = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=60, env=dict(os.environ, LANG="C.UTF-8"))
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", result.stderr


def test_the_packages_ship_every_page() -> None:
    pages = sorted(p.name for p in MAN_DIR.glob("*.1"))
    assert pages == sorted(c + ".1" for c in PAGES)
    listed = (REPO_ROOT / "packaging" / "debian" / "accelnet.manpages").read_text(encoding="utf-8").split()
    assert sorted(listed) == sorted("packaging/man/" + p for p in pages)
    spec = (REPO_ROOT / "packaging" / "rpm" / "accelnet.spec").read_text(encoding="utf-8")
    assert re.search(r"^install .*packaging/man/accelnet-\*\.1 %\{buildroot\}%\{_mandir\}/man1/?$", spec, re.M)
    assert re.search(r"^%\{_mandir\}/man1/accelnet-\*\.1\*$", spec, re.M)
