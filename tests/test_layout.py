"""The package's structure rules (issue 11): no import circles, and band lists only in the sensor descriptions.

Both are checked on the source with ``ast`` (imports inside functions count: a lazy import still ties two
modules together)."""
from __future__ import annotations

import ast
import re
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "sen2cor3"
BAND = re.compile(r"^B(\d{1,2}|8A)$")


def _modules() -> dict[str, Path]:
    out = {}
    for p in PKG.rglob("*.py"):
        parts = p.relative_to(PKG.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = p
    return out


def _imports(name: str, path: Path, mods: dict[str, Path]) -> set[str]:
    base = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    deps = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            if node.level:
                parts = base.split(".")
                mod = ".".join(parts[: len(parts) - node.level + 1] + ([mod] if mod else []))
            targets = [f"{mod}.{a.name}" if f"{mod}.{a.name}" in mods else mod for a in node.names]
        elif isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        else:
            continue
        for t in targets:
            while t and t not in mods:
                t = t.rsplit(".", 1)[0] if "." in t else ""
            if t and t != name:
                deps.add(t)
    return deps


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, comps, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(sorted(comp))
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return comps


def test_no_import_circles():
    mods = _modules()
    graph = {n: _imports(n, p, mods) for n, p in mods.items()}
    assert _cycles(graph) == []


def test_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def _band_lists(path: Path) -> list[int]:
    """Line numbers of tuple/list/set literals or dict keys holding three or more band names."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text())):
        elts = (node.elts if isinstance(node, (ast.Tuple, ast.List, ast.Set))
                else node.keys if isinstance(node, ast.Dict) else None)
        if elts is None:
            continue
        names = [e.value for e in elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
        if sum(bool(BAND.match(n)) for n in names) >= 3:
            lines.append(node.lineno)
    return lines


def test_band_lists_only_in_sensor_descriptions():
    """Every band list, wavelength table and band-keyed table of the processor comes from ``sensors/``.
    Exempt: the simulator (the independent truth the processor is tested against) and the made-up per-band
    absorption strengths of the analytic test atmosphere (``ac/synthetic.py``)."""
    offenders = {}
    for p in PKG.rglob("*.py"):
        rel = p.relative_to(PKG).as_posix()
        if rel.startswith(("sensors/", "simulate/")) or rel == "ac/synthetic.py":
            continue
        found = _band_lists(p)
        if found:
            offenders[rel] = found
    assert offenders == {}
