"""vim/'s import graph (docs/make_architecture.py): no loops, function-level imports included; no imports
of private names; and docs/architecture.md's import layers are the code's."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "docs"))

import make_architecture as arch  # docs/make_architecture.py


def test_no_import_loops():
    assert arch.cycles(arch.import_graph()[0]) == []


def test_no_imports_of_private_names():
    assert arch.import_graph()[1] == []


def test_the_checker_sees_a_loop():
    assert arch.cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_architecture_doc_shows_every_module_in_its_layer():
    assert arch.current_block(arch.DOC.read_text()) == arch.block(), "run: python docs/make_architecture.py --write"
