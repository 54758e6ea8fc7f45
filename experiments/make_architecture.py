"""The import layers of vim/, drawn from the code: the block between the markers in docs/architecture.md.

    python -m experiments.make_architecture            # print the block
    python -m experiments.make_architecture --write    # replace it in docs/architecture.md

A module's layer is one above the highest layer it imports from (function-level imports count), so every
arrow points down the list; tests/test_architecture.py fails when the code has a loop, imports a private
name, or the document no longer matches the code.
"""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VIM = ROOT / "vim"
DOC = ROOT / "docs" / "architecture.md"
BEGIN, END = (
    "<!-- import layers: begin (python -m experiments.make_architecture --write) -->",
    "<!-- import layers: end -->",
)


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> tuple[dict[str, set[str]], list[str]]:
    """(module → the vim modules it imports, anywhere in its body; "X imports Y._name" for private names)."""
    modules = {module_name(p): p for p in VIM.rglob("*.py")}
    edges, private = {}, []
    for name, path in modules.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "vim":
                targets.add(node.module)
                for alias in node.names:
                    if f"{node.module}.{alias.name}" in modules:
                        targets.add(f"{node.module}.{alias.name}")
                    elif alias.name.startswith("_"):
                        private.append(f"{name} imports {node.module}.{alias.name}")
            elif isinstance(node, ast.Import):
                targets |= {a.name for a in node.names if a.name.split(".")[0] == "vim"}
        edges[name] = {t for t in targets if t in modules and t != name and t != "vim"}
    return edges, private


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def layers(edges: dict[str, set[str]]) -> dict[str, int]:
    """Layer 0 imports no vim module; every other module sits one above the highest it imports."""
    memo: dict[str, int] = {}

    def layer(m: str) -> int:
        if m not in memo:
            memo[m] = 1 + max((layer(t) for t in edges[m]), default=-1)
        return memo[m]

    return {m: layer(m) for m in edges}


def block() -> str:
    edges, _ = import_graph()
    found = cycles(edges)
    if found:
        raise SystemExit(f"import loops: {found}")
    by_layer: dict[int, list[str]] = {}
    for m, n in layers(edges).items():
        by_layer.setdefault(n, []).append(m)
    lines = [BEGIN, "", "| layer | modules (each imports only from the layers below it) |", "|---|---|"]
    for n in sorted(by_layer, reverse=True):
        lines.append(f"| {n} | " + ", ".join(f"`{m}`" for m in sorted(by_layer[n])) + " |")
    return "\n".join([*lines, "", END])


def current_block(text: str) -> str:
    return text[text.index(BEGIN) : text.index(END) + len(END)] if BEGIN in text and END in text else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help="replace the block in docs/architecture.md")
    if parser.parse_args().write:
        text = DOC.read_text()
        old = current_block(text)
        DOC.write_text(
            text.replace(old, block()) if old else text.rstrip() + "\n\n## Import layers\n\n" + block() + "\n"
        )
    else:
        print(block())


if __name__ == "__main__":
    main()
