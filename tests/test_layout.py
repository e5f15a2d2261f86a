"""The shape of the ``rag`` package: no two modules import each other (directly or round a
circle), and an LLM's capabilities are typed Protocols (``rag.llm.base``), not looked up by name.

Every import counts, including those under ``if TYPE_CHECKING:`` and inside functions: a circle
that only type checking or a late import hides still ties the modules together."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.fast

RAG = Path(__file__).resolve().parent.parent / "rag"


def module_name(path: Path) -> str:
    parts = path.relative_to(RAG.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def rag_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(RAG.rglob("*.py"))}


def imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The rag modules that importing ``name`` runs. Importing ``a.b.c`` also runs the package
    ``a.b`` (its ``__init__``), unless ``name`` is inside that package (it is being imported already)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def add(target: str) -> None:
        if target not in modules or target == name:
            return
        found.add(target)
        parent = target.rpartition(".")[0]
        while parent and parent != "rag":
            if not (name == parent or name.startswith(parent + ".")):
                found.add(parent)
            parent = parent.rpartition(".")[0]

    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                source = ".".join([*base, node.module] if node.module else base)
            else:
                source = node.module or ""
            for alias in node.names:
                if f"{source}.{alias.name}" in modules:  # a submodule: the package is only passed through
                    add(f"{source}.{alias.name}")
                else:  # a name the module defines: it must have run
                    add(source)
    return found


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One circle of imports (``[a, b, …, a]``), or ``None``."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_no_rag_modules_import_each_other():
    modules = rag_modules()
    graph = {name: imports(name, path, modules) for name, path in modules.items()}
    cycle = find_cycle(graph)
    assert cycle is None, "rag modules import each other: " + " -> ".join(cycle or [])


def test_the_cycle_finder_sees_a_circle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


# what an LLM can do is asked with isinstance against rag.llm.base's Protocols
NAME_LOOKUP = re.compile(r"\b(hasattr\(\s*(self\.)?llm\b|getattr\(\s*(self\.)?llm\b)")


def test_llm_capabilities_are_not_looked_up_by_name():
    found = [
        f"{path.relative_to(RAG.parent)}:{n}: {line.strip()}"
        for path in sorted(RAG.rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if NAME_LOOKUP.search(line)
    ]
    assert not found, "use rag.llm.base's Protocols instead:\n" + "\n".join(found)


def test_each_llm_has_the_capabilities_its_backend_relies_on():
    """Which LLM primes, chooses and constrains its writing is decided by these Protocols alone."""
    from rag.llm.base import ChoosesEvidence, ConstrainsWriting, PrimesPrefix
    from rag.llm.llamacpp import LlamaCppLLM
    from rag.llm.openai import OpenAICompatibleLLM
    from rag.testing import ScriptedLLM

    def capabilities(cls: type) -> set[str]:
        return {p.__name__ for p in (ChoosesEvidence, PrimesPrefix, ConstrainsWriting) if issubclass(cls, p)}

    assert capabilities(LlamaCppLLM) == {"ChoosesEvidence", "PrimesPrefix", "ConstrainsWriting"}
    assert capabilities(OpenAICompatibleLLM) == {"ConstrainsWriting"}  # it writes freely: {} (rag.check checks)
    assert capabilities(ScriptedLLM) == {"ChoosesEvidence"}
