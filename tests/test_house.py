"""House rules for the code, checked statically with ``ast`` (nothing is imported, so it runs anywhere):

* no import cycle between modules (imports inside functions count: they only delay the cycle);
* no module imports a private name (``_x``, not ``__x__``) from another module;
* no module is over 400 lines.

Modules are every ``.py`` file of the packages below; a package's ``__init__`` is a module (named like the
package). ``import a.b`` is an edge to ``a.b``; ``from a import b`` is an edge to the submodule ``a.b`` when
there is one, else to ``a``; relative imports are resolved against the importing module's package.
Imports of anything outside these packages are ignored.
"""

from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path

from tests.helpers import ROOT

PACKAGES = ("recsys", "visual", "features", "evaluation")
MAX_LINES = 400


@lru_cache(maxsize=None)
def project_modules() -> dict:
    """``{dotted module name: file}`` for every module of :data:`PACKAGES`."""
    mods = {}
    for pkg in PACKAGES:
        for f in sorted((ROOT / pkg).rglob("*.py")):
            parts = f.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            mods[".".join(parts)] = f
    return mods


def owning_module(name: str, mods: dict):
    """``name`` if it is a module of the project, else its closest enclosing project module (or None)."""
    while name:
        if name in mods:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(module: str, mods: dict):
    """``(line, target module, imported name or None)`` for every import statement in ``module``, at any depth
    (module level, functions, methods, ``if``/``try`` blocks), targets limited to project modules."""
    path: Path = mods[module]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = owning_module(alias.name, mods)
                if target:
                    yield node.lineno, target, None
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                if node.level - 1 > len(package) - 1:
                    raise AssertionError(f"{path}:{node.lineno}: relative import beyond the top-level package")
                base = package[:len(package) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                if alias.name == "*":
                    target = owning_module(source, mods)
                else:
                    sub = f"{source}.{alias.name}"
                    target = sub if sub in mods else owning_module(source, mods)
                if target:
                    yield node.lineno, target, None if alias.name == "*" else alias.name


@lru_cache(maxsize=None)
def import_graph() -> dict:
    """``{module: {imported module: first line}}`` (self-imports dropped)."""
    mods = project_modules()
    graph = {m: {} for m in mods}
    for m in mods:
        for line, target, _ in imports_of(m, mods):
            if target != m:
                graph[m].setdefault(target, line)
    return graph


def strongly_connected(graph: dict) -> list:
    """Tarjan's strongly connected components with more than one module (each a cycle or knot of cycles)."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []
    counter = 0

    for root in graph:
        if root in index:
            continue
        # iterative DFS: (node, iterator over its successors)
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        work = [(root, iter(sorted(graph[root])))]
        while work:
            v, successors = work[-1]
            advanced = False
            for w in successors:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    advanced = True
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return sorted(out)


def shortest_cycle(graph: dict, component: list) -> list:
    """A shortest cycle inside one strongly connected component, as ``[a, b, ..., a]``."""
    members = set(component)
    best = None
    for start in component:
        parent, frontier, found = {start: None}, [start], None
        while frontier and found is None:
            nxt = []
            for v in frontier:
                for w in sorted(graph[v]):
                    if w not in members:
                        continue
                    if w == start:
                        found = v
                        break
                    if w not in parent:
                        parent[w] = v
                        nxt.append(w)
                if found is not None:
                    break
            frontier = nxt
        if found is None:
            continue
        path = [found]  # found -> ... -> start, following parents back
        while parent[path[-1]] is not None:
            path.append(parent[path[-1]])
        cycle = path[::-1] + [start]
        if best is None or len(cycle) < len(best):
            best = cycle
    return best


def describe_cycle(graph: dict, cycle: list) -> str:
    return " -> ".join(f"{a} (line {graph[a][b]})" for a, b in zip(cycle, cycle[1:])) + f" -> {cycle[-1]}"


# -- the checker itself, on small made-up packages ---------------------------------------------------------------

def test_checker_resolves_relative_and_function_level_imports(tmp_path):
    pkg = tmp_path / "p"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("from . import a\n")
    (pkg / "a.py").write_text("def f():\n    from .sub import b\n    from .sub.b import _hidden\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "b.py").write_text("from ..a import f\nimport p.sub\nfrom p import __version__\n")
    mods = {}
    for f in sorted(pkg.rglob("*.py")):
        parts = f.relative_to(tmp_path).with_suffix("").parts
        mods[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = f
    found = {m: sorted((t, n) for _, t, n in imports_of(m, mods)) for m in mods}
    assert found["p"] == [("p.a", "a")]  # `from . import a` is an edge to the submodule
    assert found["p.a"] == [("p.sub.b", "_hidden"), ("p.sub.b", "b")]  # function level, relative
    assert found["p.sub.b"] == [("p", "__version__"), ("p.a", "f"), ("p.sub", None)]
    graph = {m: {t: 1 for t, _ in found[m] if t != m} for m in mods}
    comps = strongly_connected(graph)
    assert comps == [["p", "p.a", "p.sub.b"]]  # p -> p.a -> p.sub.b -> p, and p.a <-> p.sub.b
    assert shortest_cycle(graph, comps[0]) == ["p.a", "p.sub.b", "p.a"]
    del graph["p.sub.b"]["p.a"], graph["p.sub.b"]["p"]
    assert strongly_connected(graph) == []


# -- the house rules ---------------------------------------------------------------------------------------------

def test_every_package_is_found():
    mods = project_modules()
    assert set(PACKAGES) <= set(mods), "a package has no __init__.py"
    assert len(mods) > 20


def test_no_import_cycles():
    graph = import_graph()
    problems = []
    for comp in strongly_connected(graph):
        cycle = shortest_cycle(graph, comp)
        problems.append(f"cycle among {len(comp)} modules ({', '.join(comp)}); e.g. {describe_cycle(graph, cycle)}")
    assert not problems, "import cycles:\n  " + "\n  ".join(problems)


def test_no_private_names_imported_across_modules():
    mods = project_modules()
    problems = []
    for m in mods:
        for line, target, name in imports_of(m, mods):
            if target != m and name and name.startswith("_") and not (name.startswith("__") and name.endswith("__")):
                problems.append(f"{mods[m].relative_to(ROOT)}:{line}: {m} imports private {target}.{name}")
    assert not problems, "private names imported from another module:\n  " + "\n  ".join(problems)


def test_no_module_over_400_lines():
    mods = project_modules()
    sizes = {m: len(f.read_text(encoding="utf-8").splitlines()) for m, f in mods.items()}
    big = [f"{mods[m].relative_to(ROOT)}: {n} lines" for m, n in sorted(sizes.items()) if n > MAX_LINES]
    assert not big, f"modules over {MAX_LINES} lines:\n  " + "\n  ".join(big)
