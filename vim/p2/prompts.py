"""PartiPrompts (P2): 1,632 prompts in 12 categories and 11 challenge aspects, with filters.

The TSV ships in `partiprompts/` (Apache-2.0; see its SOURCE.md). It is read with quoting off, so
prompts that contain literal double quotes keep them.
"""

from __future__ import annotations

import csv
import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path

DEFAULT_TSV = Path(__file__).resolve().parents[2] / "partiprompts" / "PartiPrompts.tsv"


@dataclasses.dataclass(frozen=True, slots=True)
class P2Prompt:
    index: int  # row number in the TSV (0-based), stable across filters: it names images and seeds
    prompt: str
    category: str
    challenge: str
    note: str


def load_prompts(path: str | os.PathLike | None = None) -> list[P2Prompt]:
    path = Path(path) if path is not None else DEFAULT_TSV
    if not path.is_file():
        raise FileNotFoundError(f"no PartiPrompts file at {path}")
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    need = {"Prompt", "Category", "Challenge"}
    if rows and not need <= rows[0].keys():
        raise ValueError(f"{path}: expected columns {sorted(need)}, found {sorted(rows[0].keys())}")
    return [P2Prompt(i, r["Prompt"], r["Category"], r["Challenge"], r.get("Note") or "") for i, r in enumerate(rows)]


def select(
    prompts: Sequence[P2Prompt],
    category: str | None = None,
    challenge: str | None = None,
    contains: str | None = None,
    limit: int | None = None,
) -> list[P2Prompt]:
    """Prompts of a category and/or challenge (exact names, case-insensitive) whose text contains `contains`."""
    for value, field in ((category, "category"), (challenge, "challenge")):
        if value is not None:
            known = sorted({getattr(p, field) for p in prompts})
            if value.lower() not in {k.lower() for k in known}:
                raise ValueError(f"unknown P2 {field} {value!r}; choose one of {known}")
    out = [
        p
        for p in prompts
        if (category is None or p.category.lower() == category.lower())
        and (challenge is None or p.challenge.lower() == challenge.lower())
        and (contains is None or contains.lower() in p.prompt.lower())
    ]
    if limit is not None:
        if limit < 1:
            raise ValueError(f"--limit must be ≥ 1, got {limit}")
        out = out[:limit]
    return out
