"""vim/'s import graph (experiments/make_architecture.py): no loops, function-level imports included; no imports
of private names; and docs/architecture.md's import layers are the code's."""

import ast
from pathlib import Path

from experiments import make_architecture as arch

VIM = Path(__file__).resolve().parents[1] / "vim"


def test_no_import_loops():
    assert arch.cycles(arch.import_graph()[0]) == []


def test_no_imports_of_private_names():
    assert arch.import_graph()[1] == []


def test_the_checker_sees_a_loop():
    assert arch.cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_architecture_doc_shows_every_module_in_its_layer():
    wanted = "run: python -m experiments.make_architecture --write"
    assert arch.current_block(arch.DOC.read_text()) == arch.block(), wanted


# Modules that may know the shapes world, each for a reason; every other module under vim/ is generic.
WORLD_AWARE = {
    "vim.world": "the world itself",
    "vim.cli": "the command line wires every stage together",
    "vim.demo": "the demo shows the world's verdict beside each image",
    "vim.metrics.faithfulness": "judges drawn images with the world's scene parser",
    "vim.metrics.editing": "edits rendered world scenes and judges them with the scene parser",
    "vim.rerank.train": "the scorer trains on the world's hard negative captions and images",
    "vim.rerank.score": "the scorer's evaluation uses the same hard negatives",
    "vim.upsample.train": "the upsampler's targets are world scenes rendered at the higher resolution",
}


def imports_of(path: Path) -> set[str]:
    """Every module a file imports, at any depth (function-level imports included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def generic_modules_importing_the_world(root: Path) -> list[str]:
    out = []
    for path in sorted(root.rglob("*.py")):
        module = ".".join(path.relative_to(root.parent).with_suffix("").parts).removesuffix(".__init__")
        if any(module == m or module.startswith(m + ".") for m in WORLD_AWARE):
            continue
        if any(name == "vim.world" or name.startswith("vim.world.") for name in imports_of(path)):
            out.append(module)
    return out


def test_generic_modules_do_not_import_the_world():
    assert generic_modules_importing_the_world(VIM) == []


def test_the_world_check_sees_an_import(tmp_path):
    package = tmp_path / "vim"
    (package / "data").mkdir(parents=True)
    (package / "data" / "leak.py").write_text("def f():\n    from vim.world.captions import parse_caption\n")
    (package / "cli.py").write_text("import vim.world.scene\n")
    assert generic_modules_importing_the_world(package) == ["vim.data.leak"]
