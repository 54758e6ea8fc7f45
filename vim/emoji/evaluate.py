"""Judging an emoji generator on its held-out (person, skin tone) pairs: is the asked tone on the pixels, and is
it the asked person?

    vim eval emoji --checkpoint checkpoints/emoji-tiny --judge runs/emoji/judge -n 4 -o emoji.json

- Skin tone: a multinomial logistic regression over each image's color histogram (8 bins per channel, the
  background's bin left out; scipy's L-BFGS), fitted on the training images that show one skin tone. Its
  accuracy on the real held-out images (which it never saw, like the generator) is reported beside the
  samples' rate.
- Person: the judge scorer's top-1 among the captions of every base person (each person emoji's untoned
  image's canonical caption, "a 3D emoji of a woman astronaut").
Both on the evaluation captions of the held-out pairs and, for comparison, on the same persons in a tone
training has (`eval_captions.json`'s "heldout" and "seen_tone"); rates with standard errors.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
from scipy import optimize

from vim.emoji.build import BACKGROUND
from vim.emoji.names import TONE_ORDER, EmojiLabels, canonical_caption

BINS = 8  # histogram bins per color channel: a skin tone falls into a few of the 512 cells
L2 = 1e-2  # ridge penalty of the tone classifier (per weight, on standardized features)


def labels_of(example: dict) -> EmojiLabels:
    return EmojiLabels(**json.loads(example["scene"]))


def tone_features(images_uint8: np.ndarray) -> np.ndarray:
    """float64 [N, BINS³]: the square root of each image's color histogram, the background's cell left out
    (which part of the picture is skin varies; which colors it has does not)."""
    cells_nhw = np.asarray(images_uint8, np.int64) * BINS // 256
    index_nhw = (cells_nhw[..., 0] * BINS + cells_nhw[..., 1]) * BINS + cells_nhw[..., 2]
    background = (np.asarray(BACKGROUND) * BINS // 256 * [BINS * BINS, BINS, 1]).sum()
    counts = np.stack([np.bincount(row.ravel(), minlength=BINS**3) for row in index_nhw]).astype(np.float64)
    counts[:, background] = 0
    return np.sqrt(counts / np.maximum(counts.sum(1, keepdims=True), 1))


@dataclasses.dataclass
class ToneClassifier:
    """Softmax regression from `tone_features` to TONE_ORDER."""

    mean_f: np.ndarray
    scale_f: np.ndarray
    weights_fk: np.ndarray
    bias_k: np.ndarray

    @classmethod
    def fit(cls, images_uint8: np.ndarray, tones: Sequence[str]) -> ToneClassifier:
        x_nf = tone_features(images_uint8)
        mean_f, scale_f = x_nf.mean(0), x_nf.std(0) + 1e-3
        x_nf = (x_nf - mean_f) / scale_f
        y_n = np.asarray([TONE_ORDER.index(t) for t in tones])
        n, f, k = len(x_nf), x_nf.shape[1], len(TONE_ORDER)
        onehot_nk = np.eye(k)[y_n]

        def loss_and_grad(theta: np.ndarray) -> tuple[float, np.ndarray]:
            w_fk, b_k = theta[: f * k].reshape(f, k), theta[f * k :]
            logits_nk = x_nf @ w_fk + b_k
            logits_nk -= logits_nk.max(1, keepdims=True)
            p_nk = np.exp(logits_nk)
            p_nk /= p_nk.sum(1, keepdims=True)
            nll = -np.mean(np.log(p_nk[np.arange(n), y_n] + 1e-12)) + 0.5 * L2 * np.sum(w_fk**2)
            d_nk = (p_nk - onehot_nk) / n
            return nll, np.concatenate([(x_nf.T @ d_nk + L2 * w_fk).ravel(), d_nk.sum(0)])

        result = optimize.minimize(loss_and_grad, np.zeros(f * k + k), jac=True, method="L-BFGS-B")
        return cls(mean_f, scale_f, result.x[: f * k].reshape(f, k), result.x[f * k :])

    def predict(self, images_uint8: np.ndarray) -> list[str]:
        x_nf = (tone_features(images_uint8) - self.mean_f) / self.scale_f
        return [TONE_ORDER[i] for i in np.argmax(x_nf @ self.weights_fk + self.bias_k, axis=1)]


def rate(hits: Sequence[bool]) -> tuple[float, float]:
    """(share, standard error)."""
    p = float(np.mean(hits))
    return p, math.sqrt(p * (1 - p) / len(hits))


def heldout_report(
    draw: Callable[[list[str]], np.ndarray],
    train: Sequence[dict],
    test: Sequence[dict],
    eval_captions: Sequence[dict],
    judge: Any,
    per_caption: int,
) -> Iterator[tuple[str, Any]]:
    """(name, value) pairs: the tone classifier's accuracy on real held-out images, then for the "heldout" and
    "seen_tone" evaluation captions, per_caption samples each, the share with the asked tone and the share the
    judge reads as the asked person (among every base person), each with its standard error."""
    from vim.tokenizer.infer import unique_images

    distinct = [train[i] for _, i in unique_images([train])]
    toned = [e for e in distinct if labels_of(e).skin_tone in TONE_ORDER]
    classifier = ToneClassifier.fit(np.stack([e["image"] for e in toned]), [labels_of(e).skin_tone for e in toned])
    real = [e for e in test if labels_of(e).skin_tone in TONE_ORDER]
    predicted = classifier.predict(np.stack([e["image"] for e in real]))
    share, error = rate([p == labels_of(e).skin_tone for p, e in zip(predicted, real, strict=True)])
    yield "tone_classifier_train_images", len(toned)
    yield "tone_accuracy_real_heldout", share
    yield "tone_accuracy_real_heldout_stderr", error
    # Every base person's caption: the untoned image's, else (no such image) the first toned one's base name.
    people: dict[str, str] = {}
    for labels in sorted((labels_of(e) for e in distinct), key=lambda lab: lab.skin_tone is not None):
        if labels.person is not None and labels.person not in people:
            people[labels.person] = canonical_caption(
                dataclasses.replace(labels, skin_tone=None, name=labels.base_name)
            )
    keys = list(people)
    yield "people", len(keys)
    people_cd = judge.embed_text([people[k] for k in keys]) if judge is not None else None
    if people_cd is not None:
        real_images = np.stack([e["image"] for e in real])
        hits = [
            keys[j] == labels_of(e).person
            for j, e in zip(np.argmax(judge.embed_images(real_images) @ people_cd.T, 1), real, strict=True)
        ]
        yield "person_accuracy_real_heldout", rate(hits)[0]
    for kind in ("heldout", "seen_tone"):
        entries = [e for e in eval_captions if e["kind"] == kind]
        prompts = [e["caption"] for e in entries for _ in range(per_caption)]
        asked = [e["labels"] for e in entries for _ in range(per_caption)]
        images = draw(prompts)
        yield f"{kind}_samples", len(images)
        share, error = rate([t == a["skin_tone"] for t, a in zip(classifier.predict(images), asked, strict=True)])
        yield f"{kind}_tone", share
        yield f"{kind}_tone_stderr", error
        if people_cd is not None:
            best = np.argmax(judge.embed_images(images) @ people_cd.T, axis=1)
            share, error = rate([keys[j] == a["person"] for j, a in zip(best, asked, strict=True)])
            yield f"{kind}_person", share
            yield f"{kind}_person_stderr", error
