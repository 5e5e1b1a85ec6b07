"""The package's layers as README.md's Development section states them, read from the imports
themselves (ast, so an import inside a function or under TYPE_CHECKING counts too): a layer
imports only the layers before it, so a leak (readers importing diagnosis, say) fails here and
not in review. The one sideways import is documented: fleet/ reuses provision/'s ``az`` runner
and name checks."""

import ast
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(ROOT, "agent", "accelnet")

#: parsers -> kernel -> readers -> diagnosis -> agent, provision, fleet -> cli
LAYER = {"parsers": 0, "kernel": 1, "readers": 2, "diagnosis": 3,
         "agent": 4, "provision": 4, "fleet": 4, "cli": 5}
#: (importer, imported) within one layer that README.md names
SIDEWAYS = {("fleet", "provision")}


def _modules():
    for directory, _dirs, names in os.walk(PACKAGE):
        for name in sorted(names):
            if name.endswith(".py"):
                path = os.path.join(directory, name)
                yield os.path.relpath(path, PACKAGE).split(os.sep), path


def _imports(path):
    with open(path, encoding="utf-8") as handle:
        tree = ast.parse(handle.read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module
            for alias in node.names:  # from accelnet import diagnosis
                yield node.lineno, f"{node.module}.{alias.name}"
        elif isinstance(node, ast.ImportFrom) and node.level:
            yield node.lineno, "<relative>"


def test_every_package_folder_has_a_layer():
    folders = {e for e in os.listdir(PACKAGE)
               if os.path.isfile(os.path.join(PACKAGE, e, "__init__.py"))}
    assert folders - {"rules"} == set(LAYER)


def test_a_layer_imports_only_the_layers_before_it():
    leaks = []
    for parts, path in _modules():
        mine = parts[0] if len(parts) > 1 else None  # None: compat.py, errors.py, usable by all
        for line, module in _imports(path):
            where = f"{'/'.join(parts)}:{line}: {module}"
            if module == "<relative>":
                leaks.append(where + " (relative imports hide the layer)")
                continue
            names = module.split(".")
            if names[0] != "accelnet" or len(names) < 2 or names[1] not in LAYER:
                continue
            theirs = names[1]
            if mine is None:
                leaks.append(where + " (a top-level module imports a layer)")
            elif mine in LAYER and theirs != mine and LAYER[theirs] >= LAYER[mine] \
                    and (mine, theirs) not in SIDEWAYS:
                leaks.append(where)
    assert leaks == []


def test_the_check_catches_a_leak(tmp_path):
    leaking = tmp_path / "collect.py"
    leaking.write_text("def f():\n    from accelnet.diagnosis.facts import Options\n", encoding="utf-8")
    assert list(_imports(str(leaking))) == [(2, "accelnet.diagnosis.facts"), (2, "accelnet.diagnosis.facts.Options")]


def test_no_getattr_on_the_typed_facts():
    """Facts' fields are typed (OsRelease, ImdsInstance): getattr on them would turn a renamed
    field into a silent "unknown" that the type checker cannot see."""
    found = []
    for parts, path in _modules():
        with open(path, encoding="utf-8") as handle:
            tree = ast.parse(handle.read(), path)
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr"
                    and node.args and isinstance(node.args[0], (ast.Name, ast.Attribute))):
                target = node.args[0]
                name = target.id if isinstance(target, ast.Name) else target.attr
                if name in ("facts", "imds", "os_release", "dmi"):
                    found.append(f"{'/'.join(parts)}:{node.lineno}")
    assert found == []
