#!/usr/bin/env python3
"""Mutation testing of the diagnosis core: does a wrong rule make a test fail?

Line coverage says a line ran; a mutation run says a test would notice if the line were
wrong.  For each core module this script makes small deliberate mistakes, one at a time
(a flipped comparison, ``<`` for ``<=``, ``or`` for ``and``, a constant off by one, a
``return None``, a removed statement, a changed string), runs the module's own fast tests
against each, and counts a mutant *killed* when a test fails (or the run exceeds the
timeout).  A *survivor* is a mistake no test catches: either a missing test or an
equivalent mutant (one that cannot change behaviour), which ``tools/mutants-equivalent.txt``
lists with a reason so the next run shows only real survivors.

    .venv/bin/python tools/mutate.py sizes distros          # some modules
    .venv/bin/python tools/mutate.py --list                 # modules, tests, stale equivalent entries
    .venv/bin/python tools/mutate.py lspci --max 40         # a sample of 40 mutants

Mutants run in forked children of one process that has already imported pytest and
hypothesis, against a copy of the package in a temporary directory, so the worktree is never
modified and an interrupted run leaves nothing behind.  Hypothesis tests run with a smaller
``--examples`` budget (default 30) to keep a run in minutes.  Needs Python >= 3.9
(``ast.unparse``) and Linux (``fork``); not part of CI (a full run takes about an hour on two
busy cores).
"""

import argparse
import ast
import copy
import os
import re
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "agent" / "accelnet"


# The layers whose modules are core (pure rules and parsers); another layer may have a module
# of the same name (provision/journal.py beside parsers/journal.py).
CORE_LAYERS = ("parsers", "diagnosis")


def module_file(module: str) -> Path:
    """Where a core module lives inside the package (its layer folder), e.g. diagnosis/checks.py.

    A bare name is the module of the first layer that has one (parsers/intent.py is "intent");
    a module whose name an earlier layer already has is named with its layer
    ("diagnosis.intent")."""
    layer, _, name = module.rpartition(".")
    layers = (layer,) if layer else CORE_LAYERS
    found = [PACKAGE / folder / (name + ".py") for folder in layers if folder in CORE_LAYERS]
    found = [path for path in found if path.exists()]
    if not found:
        raise SystemExit("core module %r: no %s.py in %s" % (module, name, " or ".join(layers)))
    return found[0].relative_to(PACKAGE)


EQUIVALENT = Path(__file__).resolve().parent / "mutants-equivalent.txt"

# module -> the fast tests that reach it (the first ones fail fastest).
MODULE_TESTS: Dict[str, Sequence[str]] = {
    "versions": ("tests/parsers/test_parsers_versions.py", "tests/parsers/test_parsers_kernelrelease.py",
                 "tests/diagnosis/test_distros.py"),
    "kernelrelease": ("tests/parsers/test_parsers_kernelrelease.py", "tests/diagnosis/test_distros.py"),
    "lspci": ("tests/parsers/test_parsers_lspci.py",),
    "osrelease": ("tests/parsers/test_parsers_osrelease.py", "tests/diagnosis/test_distros.py"),
    "ethtool_text": ("tests/parsers/test_parsers_ethtool_text.py",),
    "counters": ("tests/diagnosis/test_counters.py",),
    "checks": ("tests/diagnosis/test_checks.py", "tests/diagnosis/test_check_decisions.py", "tests/diagnosis/test_field_checks.py",
               "tests/diagnosis/test_vf_binding_and_drops.py", "tests/diagnosis/test_intent.py", "tests/diagnosis/test_verdicts.py",
               "tests/test_golden.py"),
    "finding": ("tests/diagnosis/test_check_decisions.py", "tests/diagnosis/test_checks.py", "tests/diagnosis/test_verdicts.py", "tests/test_golden.py"),
    "status": ("tests/diagnosis/test_check_decisions.py", "tests/diagnosis/test_checks.py", "tests/diagnosis/test_verdicts.py", "tests/test_golden.py"),
    "distros": ("tests/diagnosis/test_distros.py", "tests/diagnosis/test_verdicts.py", "tests/test_golden.py"),
    "sizes": ("tests/diagnosis/test_vm_size_names.py", "tests/diagnosis/test_vm_sizes.py", "tests/diagnosis/test_verdicts.py"),
    "macaddr": ("tests/parsers/test_parsers_imds_mac.py",),
    "imds": ("tests/parsers/test_parsers_imds_mac.py",),
    "intent": ("tests/parsers/test_parsers_intent.py",),
    "journal": ("tests/parsers/test_parsers_journal.py",),
    "kernellog": ("tests/parsers/test_parsers_kernellog.py", "tests/parsers/test_parsers_journal.py"),
    "kmsg": ("tests/parsers/test_parsers_kernellog.py", "tests/parsers/test_parsers_journal.py"),
    "ipaddr": ("tests/parsers/test_parsers_ipaddr.py",),
    "udevdb": ("tests/parsers/test_parsers_udevdb.py",),
    "driverlog": ("tests/parsers/test_parsers_driverlog.py", "tests/diagnosis/test_vf_binding_and_drops.py"),
    "kmod": ("tests/parsers/test_parsers_kmod.py", "tests/readers/test_modules_reader.py"),
    "jsontext": ("tests/parsers/test_parsers_jsontext.py",),
    "numbers": ("tests/parsers/test_parsers_jsontext.py",),
    "diagnosis.intent": ("tests/diagnosis/test_intent.py",),
    "drops": ("tests/diagnosis/test_vf_binding_and_drops.py", "tests/packaging/test_drop_thresholds_agree.py"),
    "vfbinding": ("tests/diagnosis/test_vf_binding_and_drops.py", "tests/diagnosis/test_field_checks.py"),
    # Only the codec's own tests: a mutant killed by the timeout must not leave a namespace behind.
    "rtnl": ("tests/kernel/test_kernel_netlink.py", "-k", "codec or is_slave"),
}

_FLIP = {ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Lt: ast.GtE, ast.GtE: ast.Lt, ast.Gt: ast.LtE,
         ast.LtE: ast.Gt, ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is}
_BOUNDARY = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt}
_ARITH = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.FloorDiv, ast.FloorDiv: ast.Mult,
          ast.Div: ast.Mult, ast.Mod: ast.FloorDiv}
_REMOVABLE = (ast.Expr, ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Raise, ast.Continue, ast.Break,
              ast.Delete)
_SYMBOL = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
           ast.In: "in", ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not", ast.Add: "+",
           ast.Sub: "-", ast.Mult: "*", ast.FloorDiv: "//", ast.Div: "/", ast.Mod: "%",
           ast.And: "and", ast.Or: "or"}


@dataclass(frozen=True)
class Mutant:
    module: str
    index: int      # position of the node in ast.walk order
    kind: str       # comparison, boundary, boolean, arithmetic, number, return, statement, not, string
    detail: str     # what changes, e.g. "< -> <="
    line: int
    source_line: str
    scope: str = ""       # the enclosing function or class, e.g. "evaluate_kernel"
    occurrence: int = 1   # the n-th mutant with the same scope, line text and change

    @property
    def label(self) -> str:
        return self.detail if self.occurrence == 1 else f"{self.detail} #{self.occurrence}"

    @property
    def key(self) -> str:
        """Stable across edits elsewhere in the file: module, scope, the line's text, the change."""
        return f"{self.module} | {self.scope or '-'} | {self.source_line} | {self.label}"


def _docstrings(tree: ast.AST) -> set:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = getattr(node, "body", [])
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                found.add(id(body[0]))
                found.add(id(body[0].value))
    return found


def _skipped(tree: ast.AST) -> set:
    """Nodes not worth mutating: docstrings, annotations, ``__all__``."""
    skip = _docstrings(tree)
    for node in ast.walk(tree):
        subtrees = []
        if isinstance(node, (ast.arg, ast.AnnAssign)) and node.annotation is not None:
            subtrees.append(node.annotation)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.returns is not None:
            subtrees.append(node.returns)
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            subtrees.append(node)
        for sub in subtrees:
            skip.update(id(n) for n in ast.walk(sub))
    return skip


def _in_fstring(tree: ast.AST) -> set:
    inside = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            inside.update(id(n) for n in ast.walk(node) if isinstance(n, ast.Constant))
    return inside


def _mutations_of(node: ast.AST, skip: set, fstring_parts: set) -> Iterator[Tuple[str, str, object]]:
    """(kind, detail, payload) for every mutation of one node."""
    if id(node) in skip:
        return
    if isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            if type(op) in _FLIP:
                yield "comparison", f"{_SYMBOL[type(op)]} -> {_SYMBOL[_FLIP[type(op)]]}", ("op", i, _FLIP[type(op)])
            if type(op) in _BOUNDARY:
                yield "boundary", f"{_SYMBOL[type(op)]} -> {_SYMBOL[_BOUNDARY[type(op)]]}", ("op", i, _BOUNDARY[type(op)])
    elif isinstance(node, ast.BoolOp):
        other = ast.Or if isinstance(node.op, ast.And) else ast.And
        yield "boolean", f"{_SYMBOL[type(node.op)]} -> {_SYMBOL[other]}", ("boolop", other)
    elif isinstance(node, ast.BinOp) and type(node.op) in _ARITH:
        # "a" + "b" on strings is concatenation: a string mutant, not arithmetic.
        new = _ARITH[type(node.op)]
        yield "arithmetic", f"{_SYMBOL[type(node.op)]} -> {_SYMBOL[new]}", ("binop", new)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        yield "not", "not x -> x", ("unnot",)
    elif isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool):
            yield "number", f"{value} -> {not value}", ("const", not value)
        elif isinstance(value, int):
            yield "number", f"{value} -> {value + 1}", ("const", value + 1)
            yield "number", f"{value} -> {value - 1}", ("const", value - 1)
        elif isinstance(value, str) and id(node) not in fstring_parts:
            new = "XX" + value + "XX" if value else "XX"
            yield "string", f"{value[:30]!r} -> {new[:34]!r}", ("const", new)
    elif isinstance(node, ast.Return) and node.value is not None and not (
            isinstance(node.value, ast.Constant) and node.value.value is None):
        yield "return", "return ... -> return None", ("return",)
    if isinstance(node, _REMOVABLE) and id(node) not in skip:
        yield "statement", f"{type(node).__name__.lower()} removed", ("remove",)


def _scopes(tree: ast.AST) -> Dict[int, str]:
    """id(node) -> dotted name of the function/class it is in ("" at module level)."""
    scopes: Dict[int, str] = {}

    def visit(node: ast.AST, scope: str) -> None:
        scopes[id(node)] = scope
        inner = scope
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            inner = f"{scope}.{node.name}" if scope else node.name
        for child in ast.iter_child_nodes(node):
            visit(child, inner)

    visit(tree, "")
    return scopes


def enumerate_mutants(module: str, source: str) -> List[Mutant]:
    tree = ast.parse(source)
    skip, fparts, scopes = _skipped(tree), _in_fstring(tree), _scopes(tree)
    lines = source.splitlines()
    found, seen = [], {}
    for index, node in enumerate(ast.walk(tree)):
        for kind, detail, _ in _mutations_of(node, skip, fparts):
            line = getattr(node, "lineno", 0)
            text = lines[line - 1].strip() if 0 < line <= len(lines) else ""
            scope = scopes.get(id(node), "")
            n = seen[(scope, text, detail)] = seen.get((scope, text, detail), 0) + 1
            found.append(Mutant(module, index, kind, detail, line, text, scope, n))
    return found


def mutate(source: str, mutant: Mutant) -> str:
    """The module's source with one mutation applied (formatting is not kept, behaviour is)."""
    tree = ast.parse(source)
    skip, fparts = _skipped(tree), _in_fstring(tree)
    parents = {}
    nodes = list(ast.walk(tree))
    for parent in nodes:
        for field, value in ast.iter_fields(parent):
            if isinstance(value, list):
                for i, child in enumerate(value):
                    if isinstance(child, ast.AST):
                        parents[id(child)] = (parent, field, i)
            elif isinstance(value, ast.AST):
                parents[id(value)] = (parent, field, None)
    node = nodes[mutant.index]
    payload = next(p for k, d, p in _mutations_of(node, skip, fparts) if (k, d) == (mutant.kind, mutant.detail))
    action = payload[0]
    if action == "op":
        node.ops[payload[1]] = payload[2]()
    elif action == "boolop":
        node.op = payload[1]()
    elif action == "binop":
        node.op = payload[1]()
    elif action == "const":
        node.value = payload[1]
    elif action == "unnot":
        _replace(parents, node, node.operand)
    elif action == "return":
        node.value = ast.Constant(value=None)
    elif action == "remove":
        _replace(parents, node, ast.Pass())
    ast.fix_missing_locations(tree)
    return ast.unparse(tree)


def _replace(parents: dict, node: ast.AST, new: ast.AST) -> None:
    parent, field, i = parents[id(node)]
    new = copy.copy(new)
    ast.copy_location(new, node)
    if i is None:
        setattr(parent, field, new)
    else:
        getattr(parent, field)[i] = new


def load_equivalent() -> Dict[str, str]:
    """key -> reason, from tools/mutants-equivalent.txt (``key  # reason`` per line)."""
    known = {}
    if EQUIVALENT.exists():
        for raw in EQUIVALENT.read_text(encoding="utf-8").splitlines():
            if not raw.strip() or raw.startswith("#"):
                continue
            key, _, reason = raw.rpartition("  # ")   # the last: a source line may hold "  # " too
            known[key.strip()] = reason.strip()
    return known


class _Failures:
    """pytest plugin: append the node id of every failed test to a file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def pytest_runtest_logreport(self, report) -> None:
        if report.failed:
            with open(self.path, "a", encoding="utf-8") as out:
                out.write(report.nodeid + "\n")


def _run_child(overlay: Path, module: str, mutated: Optional[str], tests: Sequence[str], examples: int,
               failures: Optional[Path] = None) -> int:
    """In a forked child: put the mutant in the overlay copy, run pytest quietly, exit."""
    os.chdir(ROOT)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    if mutated is not None:
        (overlay / "accelnet" / module_file(module)).write_text(mutated, encoding="utf-8")
    sys.path.insert(0, str(overlay))
    import pytest
    from hypothesis import settings

    settings.register_profile("mutate", max_examples=examples, deadline=None, derandomize=True)
    settings.load_profile("mutate")
    if failures is not None:   # the baseline: run everything, record what fails
        return pytest.main(["-q", "-p", "no:cacheprovider", *tests], plugins=[_Failures(failures)])
    return pytest.main(["-q", "-x", "-p", "no:cacheprovider", *tests])


def run_one(overlay: Path, module: str, mutated: Optional[str], tests: Sequence[str], examples: int,
            timeout: float, failures: Optional[Path] = None) -> str:
    """'killed', 'survived' or 'timeout' for one mutant ('survived' means the tests pass)."""
    fresh = Path(tempfile.mkdtemp(prefix="mut-", dir=overlay))
    shutil.copytree(PACKAGE, fresh / "accelnet", ignore=shutil.ignore_patterns("__pycache__"))
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = int(_run_child(fresh, module, mutated, tests, examples, failures))
        finally:
            os._exit(code)
    deadline = time.monotonic() + timeout
    try:
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                code = os.waitstatus_to_exitcode(status)
                return "survived" if code == 0 else "killed"
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return "timeout"
            time.sleep(0.05)
    finally:
        shutil.rmtree(fresh, ignore_errors=True)


# "  SURVIVED sizes.py:110 [boundary] in parse_size: > -> >=: if not text ..." (" in <scope>" is
# missing in logs of the first version of this script).
_SURVIVOR = re.compile(r"  SURVIVED ([\w.]+)\.py:(\d+) \[\w+\] (?:in \S+: )?(.*?): (.*)\Z")
_SCORE = re.compile(r"([\w.]+): killed (\d+)/(\d+) \([\d.]+%\), without string literals (\d+)/(\d+)")


def _previous_run(log: Path, module: str):
    """((killed, total), (killed, total) without strings, [(line, change)] of survivors) of a module.

    Survivors are found again by line number and change, so the source must not have changed
    since the log was written (only tests added)."""
    survivors, score = [], None
    for line in log.read_text(encoding="utf-8").splitlines():
        m = _SURVIVOR.match(line)
        if m and m.group(1) == module:
            survivors.append((int(m.group(2)), m.group(3)))
        m = _SCORE.match(line)
        if m and m.group(1) == module:
            score = ((int(m.group(2)), int(m.group(3))), (int(m.group(4)), int(m.group(5))))
    return None if score is None else (score[0], score[1], survivors)


@dataclass
class Score:
    killed: int = 0
    total: int = 0

    def add(self, killed: bool) -> None:
        self.total += 1
        self.killed += int(killed)

    def text(self) -> str:
        pct = 100.0 * self.killed / self.total if self.total else 100.0
        return f"{self.killed}/{self.total} ({pct:.1f}%)"


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help=f"modules to mutate (default: all of {', '.join(MODULE_TESTS)})")
    parser.add_argument("--list", action="store_true", help="print the modules, their tests and mutant counts")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per mutant before it counts as killed")
    parser.add_argument("--examples", type=int, default=30, help="hypothesis examples per property test")
    parser.add_argument("--max", type=int, default=0, help="at most this many mutants per module (an even sample)")
    parser.add_argument("--kind", action="append", help="only these kinds (comparison, boundary, string, ...)")
    parser.add_argument("--line", type=int, action="append", help="only mutants on these lines")
    parser.add_argument("--rerun", metavar="LOG", help="only the survivors a previous run printed to LOG "
                        "(the source unchanged since, tests added): the score adds its kills to LOG's")
    args = parser.parse_args(argv)
    if sys.version_info < (3, 9) or not hasattr(os, "fork"):
        parser.error("needs Python >= 3.9 (ast.unparse) and os.fork")
    modules = args.modules or list(MODULE_TESTS)
    unknown = [m for m in modules if m not in MODULE_TESTS]
    if unknown:
        parser.error(f"no such core module: {', '.join(unknown)} (known: {', '.join(MODULE_TESTS)})")
    equivalent = load_equivalent()
    sys.dont_write_bytecode = True
    import pytest  # noqa: F401  (imported once here, inherited by every forked child)
    import hypothesis  # noqa: F401

    overall, overall_no_strings, exit_code = Score(), Score(), 0
    table = []
    with tempfile.TemporaryDirectory(prefix="accelnet-mutate-") as tmp:
        overlay = Path(tmp)
        for module in modules:
            source = (PACKAGE / module_file(module)).read_text(encoding="utf-8")
            mutants = enumerate_mutants(module, source)
            if args.kind:
                mutants = [m for m in mutants if m.kind in args.kind]
            if args.line:
                mutants = [m for m in mutants if m.line in args.line]
            if args.max and len(mutants) > args.max:
                step = len(mutants) / args.max
                mutants = [mutants[int(i * step)] for i in range(args.max)]
            previous = None
            if args.rerun:
                previous = _previous_run(Path(args.rerun), module)
                if previous is None:
                    print(f"{module}: no score for it in {args.rerun}", flush=True)
                    exit_code = 2
                    continue
                wanted = list(previous[2])
                again = []
                for m in mutants:
                    for label in (m.label, m.detail):
                        if (m.line, label) in wanted:
                            wanted.remove((m.line, label))
                            again.append(m)
                            break
                mutants = again
            given = MODULE_TESTS[module]   # test files, and pytest options after a "-k"
            tests = [t for i, t in enumerate(given)
                     if t.startswith("-") or (i and given[i - 1].startswith("-")) or (ROOT / t).exists()]
            if args.list:
                print(f"{module}: {len(mutants)} mutants; tests: {' '.join(tests)}")
                # An entry whose line was edited since matches no mutant: the list must follow the code.
                current = {m.key for m in enumerate_mutants(module, source)}
                for key in sorted(k for k in equivalent if k.split(" | ", 1)[0] == module and k not in current):
                    print(f"  stale equivalent entry (no such mutant): {key}")
                continue
            failing = overlay / f"{module}.baseline-failures"
            baseline = run_one(overlay, module, None, tests, args.examples, args.timeout * 3, failing)
            if baseline != "survived":
                # Tests that fail without any mutation (a golden awaiting regeneration) would
                # kill every mutant: leave them out, and say so.
                broken = failing.read_text(encoding="utf-8").split() if failing.exists() else []
                tests = [*tests, *(f"--deselect={nodeid}" for nodeid in broken)]
                if not broken or run_one(overlay, module, None, tests, args.examples, args.timeout * 3) != "survived":
                    print(f"{module}: the unmutated tests fail ({baseline}); fix them first", flush=True)
                    exit_code = 2
                    continue
                print(f"{module}: left out {len(broken)} test(s) that fail unmutated: {' '.join(broken)}", flush=True)
            score, no_strings, survivors, marked, marked_strings = Score(), Score(), [], 0, 0
            started = time.monotonic()
            for done, mutant in enumerate(mutants, start=1):
                if done % 50 == 0:
                    print(f"  ... {module}: {done}/{len(mutants)} mutants, {time.monotonic() - started:.0f}s",
                          flush=True)
                if mutant.key in equivalent:
                    marked += 1
                    marked_strings += mutant.kind == "string"
                    continue
                outcome = run_one(overlay, module, mutate(source, mutant), tests, args.examples, args.timeout)
                killed = outcome != "survived"
                score.add(killed)
                if mutant.kind != "string":
                    no_strings.add(killed)
                if not killed:
                    survivors.append(mutant)
                    print(f"  SURVIVED {module}.py:{mutant.line} [{mutant.kind}] in {mutant.scope or '-'}: "
                          f"{mutant.label}: {mutant.source_line}", flush=True)
            if previous is not None:
                (killed, total), (killed_ns, total_ns), _ = previous
                # A survivor marked equivalent since leaves the count.
                score = Score(killed + score.killed, total - marked)
                no_strings = Score(killed_ns + no_strings.killed, total_ns - (marked - marked_strings))
            overall.killed += score.killed
            overall.total += score.total
            overall_no_strings.killed += no_strings.killed
            overall_no_strings.total += no_strings.total
            line = (f"{module}: killed {score.text()}, without string literals {no_strings.text()}; "
                    f"{marked} marked equivalent")
            table.append(line)
            print(line, flush=True)
    if not args.list:
        print("\nmodule scores (killed/total):")
        for line in table:
            print("  " + line)
        print(f"  overall: {overall.text()}, without string literals {overall_no_strings.text()}")
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
