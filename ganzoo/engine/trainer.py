"""The loop around the training step: logging, samples, evaluation and checkpoints.

The step itself (the D and G updates with their slots) is in ``ganzoo.engine.step``. The loop
knows the interfaces and never a plugin by name.
"""

from __future__ import annotations

import math
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf
from torch import Tensor

from ganzoo.components import Components
from ganzoo.engine.checkpoint import CheckpointStore, load_weights, save_atomic
from ganzoo.engine.distributed import Dist, all_gather, any_rank, parameters_agree
from ganzoo.engine.ema import CALIBRATION_BATCHES, EMA
from ganzoo.engine.runs import RunFolder
from ganzoo.engine.runtime import pick_device, rng_state, seed_everything, set_rng_state
from ganzoo.engine.step import GameStep, Player
from ganzoo.errors import GanzooError
from ganzoo.interfaces import Batch, Generator, is_image_shape
from ganzoo.pictures import save_image_grid, save_point_cloud
from ganzoo.recipe import TrainOptions

POINTS_IN_PICTURE = 2000
MAX_CLASS_ROWS = 10  # a conditional run's sample grid: one row per class, for the first 10
# Where torch implements all four speed options (bf16 autocast, channels_last, fused Adam,
# torch.compile). Elsewhere (mps) they are noted and left off.
SPEED_OPTION_DEVICES = ("cuda", "cpu")


class MetricMeter:
    """Sums each step's named statistics on the device; ``flush`` reads them back in one sync.
    A value logged on some steps only (a lazy penalty) is averaged over the steps that had it."""

    def __init__(self) -> None:
        self.totals: dict[str, Tensor] = {}
        self.counts: dict[str, int] = {}

    def add(self, stats: dict[str, Tensor]) -> None:
        for name, value in stats.items():
            self.totals[name] = self.totals[name] + value if name in self.totals else value
            self.counts[name] = self.counts.get(name, 0) + 1

    @property
    def count(self) -> int:
        return max(self.counts.values(), default=0)

    def peek(self) -> dict[str, float]:
        if not self.totals:
            return {}
        names = list(self.totals)
        values = torch.stack([self.totals[n] / self.counts[n] for n in names]).tolist()
        return dict(zip(names, values, strict=True))

    def flush(self) -> dict[str, float]:
        values = self.peek()
        self.totals, self.counts = {}, {}
        return values


@dataclass
class TrainResult:
    steps: int
    seconds: float
    last: dict[str, float]
    checkpoint: str
    samples: str
    ranks_agree: bool = True
    stopped_by: int | None = None  # the signal that stopped the run early, if one did
    run_dir: str = ""  # the run folder


class Trainer:
    """One GAN run: the game step, repeated, with metrics, samples, evaluation and checkpoints.
    With several processes (torchrun), G and D are wrapped in DDP."""

    def __init__(self, components: Components, options: TrainOptions, run: RunFolder,
                 recipe: DictConfig | None = None, dist: Dist | None = None,
                 evaluator: Callable[[Generator, int], dict] | None = None, eval_every: int = 0,
                 best: str = "auto"):
        self.c, self.options, self.run = components, options, run
        self.evaluator, self.eval_every, self.best = evaluator, eval_every, best
        self.best_score: float | None = None
        self.dist = dist or Dist()
        self.recipe = OmegaConf.to_container(recipe, resolve=True) if recipe is not None else {}
        self.device = self._device()
        self.notes: list[str] = []  # options that do nothing on this device, said once
        self.seed = options.seed + self.dist.rank  # each rank its own data and latents
        seed_everything(self.seed)

        self.G_core = components.generator.to(self.device)
        self.D_core = components.discriminator.to(self.device)
        self.is_image = is_image_shape(tuple(self.G_core.image_shape))
        self.num_classes = components.num_classes
        self.bf16 = self._speed_option("precision", options.precision == "bf16")
        self.channels_last = (self._speed_option("channels_last", options.channels_last)
                              and self.is_image)
        if self.channels_last:
            self.G_core.to(memory_format=torch.channels_last)
            self.D_core.to(memory_format=torch.channels_last)
        self.ema = EMA(self.G_core, options.ema_decay) if options.ema_decay > 0 else None
        fused = self._speed_option("fused_adam", options.fused_adam)
        self.opt_g = components.make_optimizer("optim_g", self.G_core.parameters(), fused)
        self.opt_d = components.make_optimizer("optim_d", self.D_core.parameters(), fused)
        compile_ = self._speed_option("compile", options.compile)
        self.G, self.D = self._wrap(self.G_core, compile_), self._wrap(self.D_core, compile_)
        # The G update goes through D's own module: no DDP gradient sync for D there.
        self.D_for_g = torch.compile(self.D_core) if compile_ else self.D_core
        # The latents of training have their own stream, independent of other RNG users.
        self.latent_rng = torch.Generator(device=self.device).manual_seed(self.seed + 2)
        self.game = self._game_step()

        self.fixed_z, self.fixed_labels, self.grid_columns = self._fixed_inputs()
        self.step_done = 0
        self.batches_drawn = 0
        self.stop_signal: int | None = None  # set by SIGINT / SIGTERM (stop_on_signals)
        self.checkpoints = CheckpointStore(run.checkpoints_dir, options.keep_checkpoints)
        self.loggers = components.loggers if self.dist.is_main else []  # opened by fit
        if self.dist.is_main:
            self.run.write_meta({"sample_kind": "images" if self.is_image else "points",
                                 "image_shape": list(self.G_core.image_shape),
                                 "num_samples": len(self.fixed_z),
                                 "num_classes": self.num_classes,
                                 "grid_columns": self.grid_columns})

    # ---- set-up ----------------------------------------------------------------------------

    def _game_step(self) -> GameStep:
        by_player = {"generator": [], "discriminator": []}
        for entry in self.c.regularizers:
            by_player[entry.regularizer.player].append(entry)
        steps = self.options.steps
        generator = Player("generator", self.G_core, self.G, self.opt_g,
                           self.c.schedules["generator"], steps, by_player["generator"])
        discriminator = Player("discriminator", self.D_core, self.D, self.opt_d,
                               self.c.schedules["discriminator"], steps,
                               by_player["discriminator"])
        return GameStep(generator=generator, discriminator=discriminator,
                        discriminator_for_g=self.D_for_g, loss=self.c.loss,
                        augmentation=self.c.augmentation, num_classes=self.num_classes,
                        n_critic=self.options.n_critic, autocast=self.autocast,
                        latent_rng=self.latent_rng, next_real=self.next_real)

    def _fixed_inputs(self) -> tuple[Tensor, Tensor | None, int]:
        """The z (and labels) of every sample picture, and its columns: for a conditional G,
        one row per class (the first 10 classes), the same z down each column."""
        rng = torch.Generator().manual_seed(self.options.seed + 1)
        G = self.G_core
        if not self.is_image:  # points of every class alike, when conditional
            z = G.sample_latent(POINTS_IN_PICTURE, generator=rng).to(self.device)
            labels = (torch.arange(POINTS_IN_PICTURE, device=self.device) % self.num_classes
                      if self.num_classes else None)
            return z, labels, 1
        n = self.options.num_samples
        if not self.num_classes:
            return G.sample_latent(n, generator=rng).to(self.device), None, isqrt(n)
        rows = min(self.num_classes, MAX_CLASS_ROWS)
        columns = max(1, n // rows)
        z = G.sample_latent(columns, generator=rng).repeat(rows, 1)
        labels = torch.arange(rows).repeat_interleave(columns)
        return z.to(self.device), labels.to(self.device), columns

    def _device(self) -> torch.device:
        if self.dist.enabled and torch.cuda.is_available() and self.options.device != "cpu":
            return torch.device("cuda", self.dist.local_rank)
        return pick_device(self.options.device)

    def _speed_option(self, name: str, wanted: bool) -> bool:
        if wanted and self.device.type not in SPEED_OPTION_DEVICES:
            self.notes.append(f"train.{name} is not supported on {self.device.type}: it is "
                              "left off")
            return False
        return wanted

    def _wrap(self, module: torch.nn.Module, compile_: bool) -> torch.nn.Module:
        if self.dist.enabled:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [self.device.index] if self.device.type == "cuda" else None
            # Buffers stay per rank: re-broadcasting BatchNorm statistics between D's real and
            # fake passes would modify tensors autograd still needs.
            module = DDP(module, device_ids=ids, broadcast_buffers=False)
        return torch.compile(module) if compile_ else module

    def autocast(self) -> Any:
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16)

    # ---- the game --------------------------------------------------------------------------

    def next_real(self, batches: Iterator[Batch]) -> Batch:
        real = next(batches)
        self.batches_drawn += 1
        if self.channels_last:
            real = Batch(real.x.contiguous(memory_format=torch.channels_last), real.labels)
        return real

    def step(self, batches: Iterator[Batch]) -> dict[str, Tensor]:
        """One step of the game (the next one), then the EMA of G's weights; the step's
        statistics by name, on the device."""
        stats = self.game(batches, self.step_done + 1)
        if self.ema is not None:
            self.ema.update(self.G_core)
        return stats

    def fit(self, on_log: Callable[[dict[str, Any]], None] | None = None) -> TrainResult:
        """Train from ``step_done`` to ``options.steps``, logging, sampling and checkpointing;
        the loggers of train.loggers are open meanwhile."""
        for logger in self.loggers:
            logger.open(self.run.path, self.recipe, self.step_done)
        try:
            return self._train(on_log)
        finally:
            for logger in self.loggers:
                logger.close()

    def _train(self, on_log: Callable[[dict[str, Any]], None] | None) -> TrainResult:
        o, main = self.options, self.dist.is_main
        batches = self.c.dataset.batches(o.batch_size, self.device, self.seed,
                                         start=self.batches_drawn)
        meter = MetricMeter()
        record: dict[str, Any] = {}
        start = last_time = time.perf_counter()
        last_step = self.step_done
        for step in range(self.step_done + 1, o.steps + 1):
            meter.add(self.step(batches))
            self.step_done = step
            if step % o.log_every == 0 or step == o.steps:
                now = time.perf_counter()
                record = {"step": step, **meter.flush(),
                          "images_per_s": (step - last_step) * o.batch_size * self.dist.world_size
                          / max(now - last_time, 1e-9),
                          "elapsed_s": now - start}
                last_time, last_step = now, step
                if main:
                    self.run.log(record)
                    for logger in self.loggers:
                        logger.log_metrics(record, step)
                check_finite(record)
                if on_log:
                    on_log(record)
            if main and (step % o.sample_every == 0 or step == o.steps):
                self.save_samples(step)
            # Evaluate before checkpointing, so the checkpoint carries this step's best score.
            if main and self.evaluator is not None and self.eval_every and (
                    step % self.eval_every == 0 or step == o.steps):
                self.evaluate_now(step)
            stopping = self.stop_requested(step)
            if step % o.checkpoint_every == 0 or step == o.steps or stopping:
                if meter.count:  # never checkpoint a run that has just diverged
                    check_finite({"step": step, **meter.peek()})
                check_finite_parameters(step, self.G_core, self.D_core)
                rngs = self.rng_by_rank()  # a collective call: every rank takes part
                if main:
                    self.checkpoints.save(self.state_dict(rngs))
            if stopping:
                break
        agree = (parameters_agree(self.G_core, self.dist)
                 and parameters_agree(self.D_core, self.dist))
        return TrainResult(steps=self.step_done, seconds=time.perf_counter() - start,
                           last=record, checkpoint=str(self.checkpoints.path(self.step_done)),
                           samples=str(self.run.sample_path(self.step_done)), ranks_agree=agree,
                           stopped_by=self.stop_signal if self.step_done < o.steps else None,
                           run_dir=str(self.run.path))

    def stop_requested(self, step: int) -> bool:
        """Whether a stop signal arrived. Under torchrun the ranks agree on it at log steps,
        where they synchronise anyway, so that all of them stop at the same step."""
        if not self.dist.enabled:
            return self.stop_signal is not None
        if step % self.options.log_every:
            return False
        return any_rank(self.stop_signal is not None, self.dist, self.device)

    def evaluate_now(self, step: int) -> None:
        """Evaluate the sampling weights; keep the best-scoring checkpoint as best.pt."""
        from ganzoo.evaluation import best_score

        G = self.sampling_generator
        was_training = G.training
        result = self.evaluator(G, step)
        G.train(was_training)
        score, direction = best_score(result, self.best)
        self.run.log_eval({"step": step, "score": score, **result["metrics"],
                           "directions": result.get("directions", {})})
        for logger in self.loggers:
            logger.log_evaluation(result["metrics"], step)
        better = (lambda a, b: a > b) if direction == "max" else (lambda a, b: a < b)
        if score is not None and (self.best_score is None or better(score, self.best_score)):
            self.best_score = score
            save_atomic({**self.state_dict(), "best_score": score},
                        self.run.checkpoints_dir / "best.pt")

    # ---- pictures and logs -----------------------------------------------------------------

    @property
    def sampling_generator(self) -> Generator:
        """The EMA weights when there are any (their BatchNorm statistics recomputed for
        them): they give the better samples."""
        if self.ema is None:
            return self.G_core
        self.ema.calibrate(self.calibration_inputs)
        return self.ema.model

    def calibration_inputs(self) -> Iterator[tuple[Tensor, Tensor | None]]:
        """The G inputs EMA.calibrate averages over: the same batches at every call, drawn
        from an RNG of their own so that training's random streams are untouched."""
        rng = torch.Generator(device=self.device).manual_seed(self.seed + 3)
        n = self.options.batch_size
        for _ in range(CALIBRATION_BATCHES):
            z = self.G_core.sample_latent(n, self.device, rng)
            labels = (torch.randint(self.num_classes, (n,), device=self.device, generator=rng)
                      if self.num_classes else None)
            yield z, labels

    @torch.no_grad()
    def save_samples(self, step: int) -> None:
        """The picture of G's output for the fixed z (for points: with real ones beside)."""
        G = self.sampling_generator
        was_training = G.training
        G.eval()
        fake = G(self.fixed_z, self.fixed_labels).float()
        G.train(was_training)
        path = self.run.sample_path(step)
        if self.is_image:
            save_image_grid(fake, path, nrow=self.grid_columns)
            for logger in self.loggers:
                logger.log_images("samples", fake, step)
        else:
            real = next(self.c.dataset.batches(fake.shape[0], self.device, self.options.seed)).x
            save_point_cloud(real[:, :2], fake[:, :2], path, title=f"step {step}")

    # ---- state -----------------------------------------------------------------------------

    def rng_states(self) -> dict[str, Any]:
        """This process's RNG states: the global ones and the latent stream."""
        return {"rng": rng_state(), "latent_rng": self.latent_rng.get_state()}

    def rng_by_rank(self) -> list[dict[str, Any]]:
        """Every rank's RNG states, in rank order (under torchrun, gathered from all ranks)."""
        return all_gather(self.rng_states(), self.dist)

    def state_dict(self, rngs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """Everything a resumed run needs to continue as if it had never stopped. ``rngs``:
        every rank's RNG states (``rng_by_rank``); this process's alone when not given."""
        return {
            "step": self.step_done,
            "batches_drawn": self.batches_drawn,
            "generator": self.G_core.state_dict(),
            "discriminator": self.D_core.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "ema": self.sampling_generator.state_dict() if self.ema is not None else None,
            "augmentation": (self.c.augmentation.state_dict()
                             if self.c.augmentation is not None else None),
            "regularizers": [entry.regularizer.state_dict() for entry in self.c.regularizers],
            "rng_by_rank": rngs or [self.rng_states()],
            "world_size": self.dist.world_size,
            "best_score": self.best_score,
            "image_shape": list(self.G_core.image_shape),
            "num_classes": self.num_classes,
            "recipe": self.recipe,
        }

    def load_state_dict(self, state: dict[str, Any], where: str = "checkpoint") -> None:
        load_weights(self.G_core, state["generator"], "generator", where)
        load_weights(self.D_core, state["discriminator"], "discriminator", where)
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        if self.ema is not None:
            if state.get("ema") is not None:
                self.ema.model.load_state_dict(state["ema"])
            else:  # EMA switched on at resume: start it from the current weights
                self.ema.model.load_state_dict(self.G_core.state_dict())
        if self.c.augmentation is not None and state.get("augmentation") is not None:
            self.c.augmentation.load_state_dict(state["augmentation"])
        for entry, saved_state in zip(self.c.regularizers, state.get("regularizers") or [],
                                      strict=False):
            entry.regularizer.load_state_dict(saved_state)
        self.step_done, self.batches_drawn = int(state["step"]), int(state["batches_drawn"])
        self.best_score = state.get("best_score")  # so best.pt is only replaced by a better one
        saved = state["rng_by_rank"]
        if state.get("world_size", 1) == self.dist.world_size == len(saved):
            set_rng_state(saved[self.dist.rank]["rng"])
            self.latent_rng.set_state(saved[self.dist.rank]["latent_rng"])
        else:  # another number of processes: every rank re-seeds from (seed, rank, step)
            self.latent_rng.manual_seed(self.seed * 1_000_003 + self.step_done)
            seed_everything(self.seed * 1_000_003 + self.step_done)


@contextmanager
def stop_on_signals(trainer: Trainer) -> Iterator[None]:
    """Ctrl-C (SIGINT) and SIGTERM (what schedulers send before they kill a job) ask the loop to
    finish its step and write a checkpoint; a second signal acts as it normally would."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}

    def ask_to_stop(signum: int, frame: Any) -> None:
        trainer.stop_signal = signum
        signal.signal(signum, previous[signum])

    for signum in previous:
        signal.signal(signum, ask_to_stop)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def check_finite_parameters(step: int, *networks: torch.nn.Module) -> None:
    """Refuse to checkpoint weights that hold NaN or Inf (one device sync, at checkpoints only)."""
    named = [(name, p) for net in networks for name, p in net.named_parameters()]
    if torch.stack([torch.isfinite(p).all() for _, p in named]).all():
        return
    bad = next(name for name, p in named if not torch.isfinite(p).all())
    raise GanzooError(f"Training diverged: the weights hold NaN or Inf ({bad}) at step {step}. "
                      "The last good checkpoint is kept; lower optim_g.lr / optim_d.lr or try "
                      "another loss.")


def isqrt(n: int) -> int:
    return max(1, int(math.sqrt(n)))


def check_finite(record: dict[str, Any]) -> None:
    """Stop a diverged run with one line naming the step and the loss."""
    for name in ("d_loss", "g_loss"):
        if name in record and not math.isfinite(record[name]):
            raise GanzooError(
                f"Training diverged: {name} is {record[name]} at step {record['step']}. The last "
                "good checkpoint is kept; lower optim_g.lr / optim_d.lr or try another loss."
            )
