"""The abstract bases every component implements.

A Generator maps latent vectors (and, when conditional, class labels) to samples; a
Discriminator maps samples to logits; a Loss turns logits into the two players' objectives; a
Dataset hands the engine endless batches of real samples. Augmentations, Regularizers,
Schedules and Metrics plug into the training step and the evaluation (docs/architecture.md).
Samples are images of shape (C, H, W) scaled to [-1, 1], or points of shape (D,) for toy data.
"""

from __future__ import annotations

import contextlib
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import torch
from torch import Tensor, nn

from ganzoo.errors import GanzooError
from ganzoo.roles import Role

if TYPE_CHECKING:
    from ganzoo.engine.arena import Arena
    from ganzoo.recipe import EvalOptions


class Batch:
    """A batch of named fields, each a tensor whose first dimension is the batch.

    Noise games use ``x`` (the samples) and ``labels`` (class labels, or absent); datasets of
    pairs give ``source`` and ``target``, unpaired ones ``a`` and ``b`` (see ``Dataset.fields``).
    A batch of fakes carries what made it besides ``x``: the latent ``z``, the labels, the
    input image. Fields are read as attributes (``batch.x``) or by name (``batch["x"]``); an
    absent ``x`` or ``labels`` reads as None.
    """

    __slots__ = ("fields",)

    def __init__(self, x: Tensor | None = None, labels: Tensor | None = None,
                 **fields: Tensor | None):
        every = {"x": x, "labels": labels, **fields}
        self.fields: dict[str, Tensor] = {k: v for k, v in every.items() if v is not None}

    @property
    def x(self) -> Tensor | None:
        return self.fields.get("x")

    @property
    def labels(self) -> Tensor | None:
        return self.fields.get("labels")

    def __getattr__(self, name: str) -> Tensor:  # the other fields: batch.source, batch.a
        if name.startswith("__"):
            raise AttributeError(name)
        fields = object.__getattribute__(self, "fields")
        if name in fields:
            return fields[name]
        raise AttributeError(f"this batch has no field {name!r} (it has "
                             f"{', '.join(fields) or 'none'})")

    def __getitem__(self, name: str) -> Tensor:
        return self.fields[name]

    def __contains__(self, name: object) -> bool:
        return name in self.fields

    def __len__(self) -> int:
        return next(iter(self.fields.values())).shape[0] if self.fields else 0

    def __repr__(self) -> str:
        shapes = ", ".join(f"{k}={tuple(v.shape)}" for k, v in self.fields.items())
        return f"Batch({shapes})"

    def replace(self, **fields: Tensor | None) -> Batch:
        """A batch with these fields set (None removes one), the others as they are."""
        return Batch(**{**self.fields, **fields})

    def detach(self) -> Batch:
        """The same fields, cut from the graph that made them (D's view of G's fakes)."""
        return Batch(**{k: v.detach() for k, v in self.fields.items()})

    def map(self, fn: Callable[[Tensor], Tensor]) -> Batch:
        """``fn`` applied to every field."""
        return Batch(**{k: fn(v) for k, v in self.fields.items()})


@dataclass(frozen=True)
class Field:
    """One field a dataset's batches hold: a sample's shape (without the batch) and its dtype.
    Images are (C, H, W) float in [-1, 1]; class labels () int64."""

    shape: tuple[int, ...]
    dtype: str = "float32"
    summary: str = ""

    def describe(self) -> str:
        return f"{self.dtype} {'x'.join(map(str, self.shape)) or 'scalar'}"


class DOutput(NamedTuple):
    """What a discriminator may return instead of bare logits: the logits (N,) and extra
    outputs by name, such as an auxiliary classifier's class logits (N, K)."""

    logits: Tensor
    extra: Mapping[str, Tensor] = {}


def as_doutput(value: Tensor | DOutput) -> DOutput:
    """D's return value as a DOutput, its logits in fp32 (losses are computed in fp32)."""
    if isinstance(value, DOutput):
        return DOutput(value.logits.float(), dict(value.extra))
    return DOutput(value.float(), {})


class Generator(nn.Module, ABC):
    """G: z ~ N(0, I) of length ``latent_dim`` (and labels, when conditional) -> a sample.

    Image generators return values in [-1, 1] (a tanh output), matching how datasets scale images.
    A conditional generator sets ``conditional = True`` and ``num_classes``.
    A generator may set ``latent_categories`` and ``latent_std`` for ClusterGAN's prior
    (Mukherjee et al., 2019): z is then N(0, latent_std^2 I) followed by a one-hot code drawn
    uniformly from ``latent_categories`` (part of ``latent_dim``). A G from a connected prior
    must spend some samples between the modes of the data; from this one it need not.

    Sampling options (``ganzoo sample/eval/interpolate --truncation T``) are declared in
    ``sampling_options``; inside ``with G.sampling(truncation=0.7):`` they are in
    ``self.sampling_values``, which ``sample_latent``, ``prior_from_normal`` and ``forward`` read.
    """

    latent_dim: int
    image_shape: tuple[int, ...]
    conditional: bool = False  # True where forward uses the labels
    num_classes: int | None = None
    latent_categories: int = 0  # the one-hot code's length at the end of z; 0: none
    latent_std: float = 1.0  # of z's Gaussian part
    #: A G with an input (translation, super-resolution, colourization) sets the shape
    #: (C, H, W) of the image it takes in place of z: ``forward(images, labels)``. Its build
    #: function then takes ``input_shape`` as a keyword, and ``latent_dim`` is 0.
    input_shape: tuple[int, ...] | None = None
    #: Override point: the options this G takes at sampling time, name -> one line saying what
    #: it does, e.g. ``{"truncation": "..."}``. An option not declared here is refused by
    #: ``sampling``. ``truncation`` has a default meaning (BigGAN's truncation trick, in
    #: ``sample_latent`` and ``prior_from_normal``); a G may give it another by overriding them.
    sampling_options: Mapping[str, str] = {}
    #: the sampling options in force (inside a ``sampling`` block); empty outside one
    sampling_values: Mapping[str, Any] = {}

    @classmethod
    def from_pretrained(cls, folder_or_repo_id: str | Path, *, revision: str | None = None,
                        cache_dir: str | Path | None = None, local_files_only: bool = False,
                        device: str = "cpu") -> Generator:
        """The generator of a ``ganzoo export`` folder, or of the Hugging Face Hub repo id
        (``org/name``) it was uploaded to, in eval mode: config.json and model.safetensors, as
        huggingface_hub's ``ModelHubMixin.from_pretrained`` reads them. A repo id needs the
        ``hub`` extra and is read from the local cache where it is there (``HF_HUB_OFFLINE=1``:
        only from it). Called on a subclass, it refuses an export of another class."""
        from ganzoo.exports import from_pretrained

        G = from_pretrained(folder_or_repo_id, revision=revision, cache_dir=cache_dir,
                            local_files_only=local_files_only, device=device)
        if not isinstance(G, cls):
            raise GanzooError(f"'{folder_or_repo_id}': holds a {type(G).__name__}, not a "
                              f"{cls.__name__}; load it with Generator.from_pretrained")
        return G

    @contextlib.contextmanager
    def sampling(self, **options: Any) -> Iterator[Generator]:
        """``with G.sampling(truncation=0.7): ...``: sample with these options (declared in
        ``sampling_options``; an option set to None is left out). Inside the block they are in
        ``self.sampling_values``; blocks nest, the inner one winning."""
        values = self.check_sampling_options(options)
        had = "sampling_values" in self.__dict__
        before = self.sampling_values
        self.sampling_values = {**before, **values}
        try:
            yield self
        finally:
            if had:
                self.sampling_values = before
            else:
                del self.sampling_values

    def check_sampling_options(self, options: Mapping[str, Any],
                               name: str | None = None) -> dict[str, Any]:
        """The options (those not None) checked: each declared, with a valid value; ``name``
        (the registered name, 'mlp') names the generator in the errors."""
        values = {k: v for k, v in options.items() if v is not None}
        who = f"generator {name!r}" if name else f"this generator ({type(self).__name__})"
        declared = ", ".join(self.sampling_options) or "none"
        for option, value in values.items():
            flag = f"--{option.replace('_', '-')}"
            if option not in self.sampling_options:
                raise GanzooError(f"{flag}: {who} takes no sampling option {option!r}; it takes "
                                  f"{declared}")
            values[option] = self.check_sampling_value(option, value, flag)
        return values

    def check_sampling_value(self, option: str, value: Any, flag: str) -> Any:
        """Override point: one declared option's value, checked (a GanzooError starting with
        ``flag`` when it is wrong) and converted. ``truncation`` is a number greater than 0."""
        if option == "truncation":
            number = value if isinstance(value, int | float) and not isinstance(value, bool) \
                else None
            if number is None or not math.isfinite(number) or number <= 0:
                raise GanzooError(f"{flag}: must be a number greater than 0, the |z| beyond "
                                  f"which z's Gaussian entries are redrawn (got {value!r})")
            return float(number)
        return value

    @abstractmethod
    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        """(N, latent_dim) (or, with an ``input_shape``, (N, *input_shape) images) and labels
        (N,) or None -> (N, *image_shape)."""

    def sample_latent(
        self,
        n: int,
        device: torch.device | str | None = None,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """Override point: draw n latent vectors from the prior p(z), N(0, I) unless the class
        says otherwise (the training step, sample pictures, ``sample`` and ``eval`` all draw
        through it; keep every draw on ``generator`` so that seeded runs stay reproducible).

        With the sampling option ``truncation`` t (BigGAN's truncation trick, Brock et al.,
        2019), each Gaussian entry beyond t (in standard deviations, before ``latent_std``) is
        drawn again, from ``generator``, until it lies within: seeded draws stay reproducible,
        and the codes are those drawn without it."""
        gaussian = torch.randn(n, self.latent_dim - self.latent_categories, device=device,
                               generator=generator)
        codes = (torch.randint(self.latent_categories, (n,), device=device, generator=generator)
                 if self.latent_categories else None)
        threshold = self.sampling_values.get("truncation")
        if threshold is not None:
            gaussian = redraw_beyond(gaussian, float(threshold), generator)
        return self.compose_latent(gaussian, codes)

    def prior_from_normal(self, z: Tensor) -> Tensor:
        """Override point (with ``sample_latent``): z ~ N(0, I) of ``latent_dim`` as a draw of
        this G's prior, for callers that draw z themselves (torch-fidelity): the code is the
        argmax of its entries, uniform over the categories. With ``truncation`` t, the Gaussian
        part is mapped (by its CDF) onto N(0, 1) truncated to [-t, t], the law that redrawing
        gives."""
        gaussian = self.latent_dim - self.latent_categories
        part = z[:, :gaussian] if self.latent_categories else z  # z itself for the standard prior
        threshold = self.sampling_values.get("truncation")
        if threshold is not None:
            part = truncate_normal(part, float(threshold))
        if not self.latent_categories:
            return self.compose_latent(part, None)
        return self.compose_latent(part, z[:, gaussian:].argmax(dim=1))

    def compose_latent(self, gaussian: Tensor, codes: Tensor | None) -> Tensor:
        """z from its Gaussian part drawn at std 1 (scaled here by ``latent_std``) and the
        categories of its code (None: no code)."""
        z = gaussian if self.latent_std == 1.0 else gaussian * self.latent_std
        if codes is None:
            return z
        return torch.cat([z, nn.functional.one_hot(codes, self.latent_categories).to(z.dtype)],
                         dim=1)

    def latent_description(self) -> str:
        """Override point: the prior in words, for ``show``, summaries and model cards."""
        if not self.latent_categories:
            return f"z ~ N(0, I) of {self.latent_dim} dimensions"
        gaussian = self.latent_dim - self.latent_categories
        return (f"z of N(0, {self.latent_std:g}^2 I) in {gaussian} dimensions and a one-hot "
                f"code of {self.latent_categories} categories")


def redraw_beyond(gaussian: Tensor, threshold: float,
                  generator: torch.Generator | None = None) -> Tensor:
    """N(0, 1) entries with |value| > threshold drawn again, from ``generator``, until within."""
    out = gaussian.clone()
    beyond = out.abs() > threshold
    while bool(beyond.any()):
        redrawn = torch.randn(int(beyond.sum()), dtype=out.dtype, device=out.device,
                              generator=generator)
        out[beyond] = redrawn
        beyond = out.abs() > threshold
    return out


def truncate_normal(gaussian: Tensor, threshold: float) -> Tensor:
    """N(0, 1) entries mapped onto N(0, 1) truncated to [-threshold, threshold] through the
    CDF: u = Phi(x), x' = Phi^-1(Phi(-t) + u (Phi(t) - Phi(-t)))."""
    x = gaussian.double()
    low = torch.special.ndtr(torch.tensor(-threshold, dtype=torch.float64, device=x.device))
    u = low + torch.special.ndtr(x) * (1 - 2 * low)
    return torch.special.ndtri(u).clamp(-threshold, threshold).to(gaussian.dtype)


class Discriminator(nn.Module, ABC):
    """D: a sample (and its label, when conditional) -> the logit l of the probability that it
    is real, D = sigmoid(l). It may return a DOutput to hand extra outputs to the loss."""

    image_shape: tuple[int, ...]
    conditional: bool = False  # True where forward uses the labels
    num_classes: int | None = None
    #: the batch size must be a multiple of this (a packing D scores groups of samples);
    #: checked when the run is built
    batch_multiple: int = 1

    @abstractmethod
    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor | DOutput:
        """(N, *image_shape) -> logits of shape (N,), no sigmoid inside, or a DOutput. A D
        that scores P patches of each sample (PatchGAN) returns (N, P): the losses average over
        every logit, so each patch counts as one judgement."""


class TextEncoder(nn.Module, ABC):
    """T: captions, as tokens, -> text embeddings (N, ``embedding_dim``), the condition of a
    text-to-image game (a role of kind ``text_encoder``).

    Built as ``build(options, caption_shape, vocabulary)`` for the caption field its role
    reads: captions of ``caption_shape[0]`` int64 tokens, 0 padding a caption out and token k
    standing for ``vocabulary[k - 1]``. A dataset's caption field carries its vocabulary (as
    the field's ``vocabulary`` attribute) and checkpoints record it, so that a trained run
    turns new captions into tokens as its data did: ``tokenize`` cuts captions into words the
    way datasets of captions do (``words``). A generator or discriminator conditioned on text
    takes the embeddings in place of labels and sets ``text_dim`` to their length.
    """

    embedding_dim: int
    vocabulary: tuple[str, ...]
    max_words: int  # the caption field's length
    # what tools that show a role's network by its sample shape read (``ganzoo show``)
    conditional: bool = False
    num_classes: int | None = None
    batch_multiple: int = 1

    @property
    def image_shape(self) -> tuple[int, ...]:
        return (self.max_words,)

    @staticmethod
    def words(caption: str) -> list[str]:
        """A caption's words: lower-case runs of letters and digits ("Left-leaning 7." ->
        left, leaning, 7)."""
        import re

        return re.findall(r"[a-z0-9]+", caption.lower())

    def tokenize(self, captions: Sequence[str], what: str = "text") -> Tensor:
        """(N, max_words) tokens of ``captions``; an empty caption, one of more words than the
        encoder takes, or words outside its vocabulary are one line naming ``what``."""
        index = {word: k + 1 for k, word in enumerate(self.vocabulary)}
        tokens = torch.zeros(len(captions), self.max_words, dtype=torch.long)
        for i, caption in enumerate(captions):
            words = self.words(str(caption))
            if not words:
                raise GanzooError(f"{what}: caption {caption!r} has no words; say what to "
                                  "draw, in the words of the text encoder's vocabulary")
            if len(words) > self.max_words:
                raise GanzooError(f"{what}: caption {caption!r} has {len(words)} words, more "
                                  f"than the {self.max_words} this text encoder takes; shorten it")
            unknown = list(dict.fromkeys(w for w in words if w not in index))
            if unknown:
                listed = ", ".join(repr(w) for w in unknown)
                known = ", ".join(self.vocabulary[:40]) + (
                    ", ..." if len(self.vocabulary) > 40 else "")
                raise GanzooError(f"{what}: {listed} not in the vocabulary of this text encoder "
                                  f"({len(self.vocabulary)} words: {known}); use its words")
            tokens[i, :len(words)] = torch.tensor([index[w] for w in words])
        return tokens

    @abstractmethod
    def forward(self, tokens: Tensor) -> Tensor:
        """(N, max_words) tokens -> (N, embedding_dim) embeddings."""

    def embed_captions(self, text: str | Sequence[str], n: int, what: str = "text") -> Tensor:
        """n embeddings, on the CPU, of ``text`` (a caption, or captions taken in turn): the
        condition a G conditioned on text samples with."""
        if not isinstance(n, int) or isinstance(n, bool) or n <= 0:
            raise GanzooError(f"n: the number of samples, a whole number greater than 0 "
                              f"(got {n!r})")
        captions = [text] if isinstance(text, str) else list(text)
        if not captions:
            raise GanzooError(f"{what}: give at least one caption")
        with torch.no_grad():
            tokens = self.tokenize(captions, what).to(next(self.parameters()).device)
            embeddings = self(tokens).float().cpu()
        return embeddings[torch.arange(n) % len(captions)]


class StepContext:
    """What a loss or a regularizer may use, besides the logits, in one network's update.

    ``player`` is the role whose update this is ('discriminator', 'generator', or a game's own
    role names), ``networks`` every network of the game by role, and ``discriminator`` the D
    of this pair. ``real`` is the real batch and ``fake`` G's batch (detached in D's update),
    both as they were before augmentation; the fakes carry what made them (``fake.z``, the
    input image). ``real_x`` and ``fake_x`` are the tensors D scores for them (its field, or
    its fields side by side). ``real_out`` and ``fake_out`` are D's outputs on them (after
    augmentation): in G's update ``real_out`` is computed only if something asks for it.
    ``score(x, labels)`` runs D the same way (augmented), for penalties that need their own
    pass, such as R1. ``log(name, value)`` logs a value to metrics.jsonl, TensorBoard and the
    progress line; it never reads the value back during the step.
    """

    def __init__(self, *, step: int, player: str, real: Batch, fake: Batch,
                 score: Callable[..., DOutput], discriminator: Discriminator,
                 log: Callable[[str, Tensor], None], fake_out: DOutput,
                 real_out: DOutput | None = None,
                 networks: Mapping[str, nn.Module] | None = None,
                 d_input: Callable[[Batch], Tensor] | None = None):
        self.step, self.player = step, player
        self.real, self.fake = real, fake
        self.score, self.discriminator, self.log = score, discriminator, log
        self.fake_out = fake_out
        self._real_out = real_out
        self.networks: Mapping[str, nn.Module] = networks or {}
        self._d_input = d_input or (lambda batch: batch.x)

    @property
    def real_out(self) -> DOutput:
        if self._real_out is None:
            self._real_out = self.score(self.real_x, self.real.labels)
        return self._real_out

    @property
    def real_x(self) -> Tensor:
        """The real batch as D sees it, before augmentation."""
        return self._d_input(self.real)

    @property
    def fake_x(self) -> Tensor:
        """The fake batch as D sees it, before augmentation (detached in D's update)."""
        return self._d_input(self.fake)

    @property
    def real_logits(self) -> Tensor:
        return self.real_out.logits

    @property
    def fake_logits(self) -> Tensor:
        return self.fake_out.logits

    @property
    def labels(self) -> Tensor | None:
        """The real batch's labels (the fakes' are ``fake.labels``)."""
        return self.real.labels


class Loss(ABC):
    """The two objectives of the game, written on D's raw outputs (logits) for stability.

    Both methods also receive a StepContext: the step, the batches, D's extra outputs and a
    way to log named values. ``real_logits`` is there in G's update too (relativistic losses).
    """

    #: True where D's outputs are logits of a probability, D = sigmoid(l): the run logs mean
    #: D(x) and D(G(z)). False for critics (WGAN): it logs the raw mean scores instead.
    outputs_are_logits: bool = True

    @abstractmethod
    def discriminator_loss(self, real_logits: Tensor, fake_logits: Tensor,
                           ctx: StepContext) -> Tensor:
        """A scalar that D minimises; ``ctx.fake`` is detached from G."""

    @abstractmethod
    def generator_loss(self, fake_logits: Tensor, ctx: StepContext) -> Tensor:
        """A scalar that G minimises, with gradients flowing through a D that is not updated."""


class Game(ABC):
    """How a run's networks play: the roles, the order of their updates in one step, and any
    state of the game's own (an image pool, BEGAN's k_t), checkpointed with the run.

    The class declares ``roles`` (role name -> Role; the recipe has a section per role) and
    ``primary``, the generator role that ``sample``, ``eval`` and ``export`` use by default.
    ``step`` plays one step through the Arena (``ganzoo.engine.arena``): the networks by
    role, D as the step sees it, the optimizers' updates, the penalties, the loss and the log.
    Register one with ``register(name, build, options=..., roles=TheGame.roles)``.
    """

    roles: Mapping[str, Role]
    primary: str = "generator"

    def needs(self, conditional: bool) -> dict[str, str]:
        """The data fields the game reads, each with why (a role that makes, scores or reads
        it); with ``conditional``, ``labels`` too."""
        needed: dict[str, str] = {}
        for name, role in self.roles.items():
            for f in role.fields:
                needed.setdefault(f, f"role {name!r}")
        if conditional:
            needed.setdefault("labels", "conditional: true")
        return needed

    @abstractmethod
    def step(self, arena: Arena, batches: Iterator[Batch], step: int) -> dict[str, Tensor]:
        """Play step ``step`` (1-based): draw what it needs from ``batches`` through
        ``arena.next_batch``, update the networks, and return the step's statistics by name as
        device tensors (never read back here: the loop logs them every ``log_every`` steps)."""

    def state_dict(self) -> dict[str, Any]:
        """The game's own state (tensors and plain values), saved in every checkpoint."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        return None


class Dataset(ABC):
    """Real samples (and labels, where it has classes), as endless batches on the device."""

    image_shape: tuple[int, ...]
    num_classes: int | None = None
    #: Problems worth a warning line that did not stop loading (e.g. skipped corrupt files).
    #: A dataset that reads its files while training may add to them as it goes.
    warnings: Sequence[str] = ()

    @abstractmethod
    def __len__(self) -> int:
        """How many distinct samples there are (for toy distributions: how many one epoch holds)."""

    @abstractmethod
    def batches(self, batch_size: int, device: torch.device, seed: int,
                start: int = 0) -> Iterator[Batch]:
        """Yield Batches forever, scaled as G's output is (images in [-1, 1]), on ``device``,
        holding the fields ``fields`` names (``x``, and ``labels`` where the data has classes).

        Batch k depends only on (seed, k), and the first batch yielded is batch ``start``:
        a resumed run sees exactly the batches it would have seen.
        """

    @property
    def fields(self) -> dict[str, Field]:
        """The fields of every batch, by name. By default ``x`` (the samples) and, where the
        data has classes, ``labels``; datasets of pairs override it (``source``/``target``,
        or ``a``/``b``). A game names the fields it needs, and a run is refused before its
        first step where the data lacks one."""
        return default_fields(tuple(self.image_shape), self.num_classes)

    @property
    def description(self) -> str:
        """One line saying what was loaded and how batches are delivered."""
        return f"{len(self)} samples of shape {tuple(self.image_shape)}"

    def mode_coverage(self, samples: Tensor) -> dict[str, float] | None:
        """For data with known modes: how well ``samples`` (generated, on the CPU) cover them.

        None where the dataset has no such measure (the default).
        """
        return None


class Augmentation(ABC):
    """A differentiable transform of every input of D, real and fake, in both updates.

    An adaptive one tunes itself from D's outputs on real data (``observe``); its state goes
    into checkpoints (``state_dict``) and its values into the logs (``log_values``). It draws
    its randomness from torch's global RNG, which checkpoints restore.
    """

    #: whether it transforms images only (C, H, W): such an augmentation is refused, in one
    #: line, on data of other shapes (2-D points)
    images_only: bool = True

    @abstractmethod
    def __call__(self, x: Tensor) -> Tensor:
        """Augment a batch; gradients must flow through to ``x``."""

    def observe(self, real_logits: Tensor) -> None:
        """D's logits on the (augmented) real batch, after each D update. Keep it on the
        device: reading the value back would stall the GPU every step."""
        return None

    def at_step(self, step: int, total_steps: int) -> None:
        """Called before each step (1-based) of a run of ``total_steps``: for an augmentation
        whose strength follows the run (a p on a schedule); a pure function of the step."""
        return None

    def log_values(self) -> dict[str, Tensor]:
        """Values to log, such as the probability p: name -> scalar tensor."""
        return {}

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        return None


class Regularizer:
    """A term added to one player's objective, and/or an action after its every update.

    The recipe gives ``weight`` and ``every``: the penalty is added, times ``weight``, every
    ``every`` steps (lazily, scaled by ``every`` so its strength stays the same). Either method
    may be left as it is: a gradient penalty has only ``penalty``, weight clipping only
    ``after_update``.
    """

    #: the role whose objective it joins and whose update it follows ('discriminator' or
    #: 'generator' in the plain game); a recipe entry's ``role:`` may name another role
    player: str = "discriminator"
    #: whether it transforms images (C, H, W): such a regularizer is refused, in one line, on
    #: data of other shapes (2-D points)
    images_only: bool = False

    def penalty(self, ctx: StepContext) -> Tensor | None:
        """A scalar to add to the player's loss, or None."""
        return None

    def select(self, fake_logits: Tensor, step: int) -> Tensor | None:
        """Override point: the indices of the fakes whose outputs the player's loss uses, from
        D's logits on them (top-k training keeps those D finds most real), or None for all.
        A game applies it through ``arena.select``; one that does not is refused at its
        first step."""
        return None

    def after_update(self, network: nn.Module) -> None:
        """Called (under no_grad) after each optimizer step of the player, with its network."""
        return None

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        return None


class Schedule(ABC):
    """A schedule: the factor a base value is multiplied by at each step (a learning rate, a
    penalty's weight, 1 - Adam's beta2, the EMA's half-life)."""

    #: steps of warm-up before the schedule proper: one longer than the run is refused
    warmup: int = 0

    @abstractmethod
    def factor(self, step: int, total_steps: int) -> float:
        """The factor for ``step`` (1-based) of ``total_steps``; a pure function of the two, so
        a resumed run needs no state to continue it."""


class EvalContext(ABC):
    """What a Metric computes from, in one evaluation (``ganzoo eval``, ``ganzoo.evaluate``,
    eval.every during training). ``ganzoo.evaluation`` gives the implementation.

    ``G`` is the generator evaluated (in eval mode, its sampling options in force),
    ``reference`` the dataset on the reference split, ``options`` the eval section.
    ``notes`` and ``protocol`` are the evaluation's own: add what a reader needs to trust or
    reproduce a number (a note, a sample count) to them.
    """

    G: Generator
    reference: Dataset
    options: EvalOptions
    notes: list[str]
    protocol: dict[str, Any]

    @abstractmethod
    def samples(self, n: int, seed_offset: int = 1) -> Tensor:
        """n samples of G on the CPU (class-balanced when conditional), seeded by eval.seed."""

    @abstractmethod
    def labels(self, n: int) -> Tensor | None:
        """The class-balanced labels ``samples(n)`` uses; None for an unconditional G."""

    @abstractmethod
    def fidelity(self, key: str, **options: Any) -> dict[str, Any]:
        """torch-fidelity's 'fid', 'kid', 'pr' or 'is' under our value names, computed in one
        pass with the other metrics of the evaluation that agree on ``options`` (keyword
        arguments of torch-fidelity's calculate_metrics)."""

    @abstractmethod
    def mode_coverage(self) -> dict[str, Any]:
        """How G's samples cover the reference's known modes (empty where it knows none)."""

    @abstractmethod
    def features(self, label: int | None = None, n: int | None = None) -> tuple[Tensor, Tensor]:
        """(generated, real) features, (N, D) on the CPU, from the layer FID uses of the
        evaluation's feature extractor (image samples only). Without ``label``: n samples
        (class-balanced) and n reference images, the ones the torch-fidelity metrics see
        (n: eval.n). With a label: n samples of that class and up to n reference images of
        it, both empty where the reference holds none."""


class Metric(ABC):
    """An evaluation measure of a generator: ``compute`` returns named numbers.

    ``directions`` says, for the values where it matters, whether lower or higher is better
    ('min' or 'max'); eval.best uses it to pick best.pt.

    A metric registered with an options dataclass takes its options from its eval.metrics
    entry, ``{name: pr, k: 5}``, checked like any recipe section (``eval.metrics[1].k``).
    Where several entries use one metric with different options, the values of those with
    options are named with them as a suffix (``precision[k=5]``), so none overwrites another.
    """

    directions: Mapping[str, str] = {}

    @abstractmethod
    def compute(self, ctx: EvalContext) -> dict[str, Any]:
        """Values by name; ``ctx`` gives the generator, the reference data and samples."""


class FeatureExtractor(ABC):
    """Images -> features for FID, KID and precision/recall (and IS, where it has logits).

    It names a feature extractor registered with torch-fidelity, which does the metric math,
    and the weights file it uses, whose hash goes into every result's protocol.
    """

    #: the name registered with ``torch_fidelity.register_feature_extractor``
    fidelity_name: str
    #: whether it has the logits the Inception Score needs
    provides_isc: bool = False
    #: how images are resized to the network's input, named in every result's protocol
    resize: str = "the extractor's own"

    @abstractmethod
    def fidelity_kwargs(self) -> dict:
        """Extra keyword arguments for ``torch_fidelity.calculate_metrics``."""

    @abstractmethod
    def weights_sha256(self) -> str:
        """The SHA-256 of the weights used, for the protocol."""


class Logger:
    """Somewhere a run's numbers and pictures also go: TensorBoard, Weights & Biases, ...

    Every run writes metrics.jsonl itself (resume, plots, reports and the Python API read
    it); loggers named in ``train.loggers`` receive the same records. They are called on the
    main process only, and ``open`` before anything else.
    """

    def open(self, run_dir: Path, recipe: Mapping[str, Any], step: int) -> None:
        """Start logging the run in ``run_dir`` (trained as ``recipe``); ``step`` > 0 when a
        resumed run continues from that step."""

    def log_metrics(self, values: Mapping[str, float], step: int) -> None:
        """The averaged statistics of the steps since the last log (losses, D's outputs,
        penalties, augmentation state, images_per_s, ...)."""
        raise NotImplementedError(f"{type(self).__name__} must implement log_metrics")

    def log_images(self, name: str, images: Tensor, step: int) -> None:
        """A batch of samples, (N, C, H, W) in [-1, 1], from the fixed z of the run."""

    def log_evaluation(self, values: Mapping[str, Any], step: int) -> None:
        """An evaluation made during training (FID, KID, mode coverage, ...): by default its
        numbers are logged as metrics under ``eval/<name>``."""
        numbers = {f"eval/{k}": float(v) for k, v in values.items()
                   if isinstance(v, int | float) and not isinstance(v, bool)}
        self.log_metrics(numbers, step)

    def close(self) -> None:
        """Flush and release what ``open`` took; called once, however the run ends."""


def default_fields(shape: tuple[int, ...], num_classes: int | None) -> dict[str, Field]:
    """``x`` of ``shape`` and, with classes, ``labels``: the fields of a plain dataset."""
    fields = {"x": Field(tuple(shape), "float32", "the samples")}
    if num_classes:
        fields["labels"] = Field((), "int64", f"class labels, {num_classes} classes")
    return fields


def is_image_shape(shape: tuple[int, ...]) -> bool:
    """Images are (C, H, W); anything else (such as (2,)) is a point cloud."""
    return len(shape) == 3
