"""Named views of a caption, for a product-of-experts generator (`parti.text_views`).

A view transform maps a caption to a fixed number E of texts; the generator scores every image token
with one text row per view and sums their logits. Transforms are registered by the package that knows
the captions' words, as entry points of the group "vim.text_views" (pyproject.toml), so generic code
names none: the shapes world registers "shapes-attributes".
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points

import numpy as np

from vim.config import ConfigError
from vim.data.text import TextTokenizer

GROUP = "vim.text_views"


def registered() -> list[str]:
    """Names of the installed view transforms."""
    return sorted(ep.name for ep in entry_points(group=GROUP))


@functools.cache
def view_transform(name: str) -> Callable[[str], Sequence[str]]:
    """The transform registered as `name`; ConfigError naming the registered ones if there is none."""
    found = {ep.name: ep for ep in entry_points(group=GROUP)}
    if name not in found:
        raise ConfigError(
            f"parti.text_views={name!r} is not a registered text-view transform; registered: {registered()} "
            f"(entry points of the group {GROUP!r}: reinstall vim with `pip install -e .` if the list is empty)"
        )
    return found[name].load()


def encode_views(
    tokenizer: TextTokenizer, captions: Sequence[str], name: str, length: int
) -> tuple[np.ndarray, np.ndarray]:
    """Token ids int32 [B, E, length] of every caption's E views, and bool [B]: a view was truncated."""
    transform = view_transform(name)
    views = [tuple(transform(caption)) for caption in captions]
    counts = {len(v) for v in views}
    if len(counts) > 1:
        raise ValueError(f"text view transform {name!r} gave {sorted(counts)} views for different captions")
    experts = counts.pop() if counts else 1
    enc = tokenizer.encode([text for v in views for text in v], length)
    return enc.ids.reshape(len(captions), experts, length), enc.truncated.reshape(len(captions), experts).any(axis=1)
