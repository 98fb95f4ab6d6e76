"""The loop around the game's steps: logging, samples, evaluation and checkpoints.

The game (``ganzoo.interfaces.Game``) plays each step in the arena (``ganzoo.engine.arena``);
the device and speed options are the runtime's (``ganzoo.engine.runtime``), the sample
pictures' inputs the samples module's, and what a checkpoint holds the checkpoint module's.
The loop knows the interfaces and never a plugin by name.
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
from ganzoo.engine import checkpoint
from ganzoo.engine.arena import Arena, MetricMeter, OptimizerGroup
from ganzoo.engine.checkpoint import CheckpointStore, save_atomic
from ganzoo.engine.distributed import Dist, all_gather, any_rank, parameters_agree
from ganzoo.engine.ema import EMA
from ganzoo.engine.runs import RunFolder
from ganzoo.engine.runtime import Runtime, seed_everything
from ganzoo.engine.samples import SamplePictures
from ganzoo.errors import GanzooError
from ganzoo.interfaces import Batch, Generator, is_image_shape
from ganzoo.recipe import TrainOptions


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
    """One GAN run: the game's steps, repeated, with metrics, samples, evaluation and
    checkpoints. With several processes (torchrun), every network is wrapped in DDP."""

    def __init__(self, components: Components, options: TrainOptions, run: RunFolder,
                 recipe: DictConfig | None = None, dist: Dist | None = None,
                 evaluator: Callable[[Generator, int], dict] | None = None, eval_every: int = 0,
                 best: str = "auto"):
        self.c, self.options, self.run = components, options, run
        self.evaluator, self.eval_every, self.best = evaluator, eval_every, best
        self.best_score: float | None = None
        self.dist = dist or Dist()
        self.recipe = OmegaConf.to_container(recipe, resolve=True) if recipe is not None else {}
        self.game, self.primary = components.game, components.game.primary
        shape = components.shapes[self.primary].image_shape
        self.runtime = Runtime(options, self.dist, images=is_image_shape(tuple(shape)))
        self.device, self.notes = self.runtime.device, self.runtime.notes
        self.seed = options.seed + self.dist.rank  # each rank its own data and latents
        seed_everything(self.seed)

        self.networks = {role: self.runtime.place(net) for role, net in components.networks.items()}
        self.emas = {role: EMA(self.networks[role], options.ema_decay)
                     for role in components.roles_of_kind("generator") if options.ema_decay > 0}
        self.optimizers = {key: components.make_optimizer(
            key, [p for role in roles for p in self.networks[role].parameters()],
            self.runtime.fused_adam) for key, roles in components.optimizers.items()}
        self.arena = self._arena()
        self.pictures = SamplePictures(self.networks[self.primary], self.game.roles[self.primary],
                                       components.dataset, options.num_samples,
                                       components.num_classes, self.device, options.seed)
        self.step_done = 0
        self.stop_signal: int | None = None  # set by SIGINT / SIGTERM (stop_on_signals)
        self.checkpoints = CheckpointStore(run.checkpoints_dir, options.keep_checkpoints)
        self.loggers = components.loggers if self.dist.is_main else []  # opened by fit
        if self.dist.is_main:
            self.run.write_meta({"sample_kind": "images" if self.pictures.is_image else "points",
                                 "image_shape": list(shape), "num_samples": self.pictures.count,
                                 "num_classes": components.num_classes,
                                 "grid_columns": self.pictures.columns, "primary": self.primary})

    def _arena(self) -> Arena:
        c, rt = self.c, self.runtime
        groups = {key: OptimizerGroup(key, [self.networks[r] for r in roles], self.optimizers[key],
                                      c.schedules[key], self.options.steps)
                  for key, roles in c.optimizers.items()}
        return Arena(
            roles=self.game.roles, networks=self.networks,
            calls={role: rt.wrap(net) for role, net in self.networks.items()},
            frozen_calls={role: rt.frozen(self.networks[role])
                          for role in c.roles_of_kind("discriminator")},
            groups=groups, regularizers=c.regularizers, loss=c.loss,
            augmentation=c.augmentation, num_classes=c.num_classes, n_critic=self.options.n_critic,
            autocast=rt.autocast, prepare=rt.prepare, device=self.device,
            # the latents of training have their own stream, independent of other RNG users
            latent_rng=torch.Generator(device=self.device).manual_seed(self.seed + 2))

    # ---- the loop --------------------------------------------------------------------------

    def step(self, batches: Iterator[Batch]) -> dict[str, Tensor]:
        """One step of the game (the next one), then the EMA of each generator's weights; the
        step's statistics by name, on the device."""
        stats = self.arena.play(self.game, batches, self.step_done + 1)
        for role, ema in self.emas.items():
            ema.update(self.networks[role])
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
                                         start=self.arena.batches_drawn)
        meter, record = MetricMeter(), {}
        start = last_time = time.perf_counter()
        last_step = self.step_done
        for step in range(self.step_done + 1, o.steps + 1):
            meter.add(self.step(batches))
            self.step_done = step
            if step % o.log_every == 0 or step == o.steps:
                now = time.perf_counter()
                record = {"step": step, **meter.flush(),
                          "images_per_s": (step - last_step) * o.batch_size * self.dist.world_size
                          / max(now - last_time, 1e-9), "elapsed_s": now - start}
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
                check_finite_parameters(step, *self.networks.values())
                rngs = all_gather(checkpoint.run_rng_states(self.arena.latent_rng), self.dist)
                if main:  # (gathering the RNG states is collective: every rank takes part)
                    self.checkpoints.save(self.state_dict(rngs))
            if stopping:
                break
        agree = all(parameters_agree(net, self.dist) for net in self.networks.values())
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

    # ---- samples ---------------------------------------------------------------------------

    def sampling_network(self, role: str) -> torch.nn.Module:
        """A generator role's EMA weights when there are any (their BatchNorm statistics
        recomputed for them): they give the better samples."""
        if role not in self.emas:
            return self.networks[role]
        self.emas[role].calibrate(lambda: self.calibration_inputs(role))
        return self.emas[role].model

    @property
    def sampling_generator(self) -> Generator:
        return self.sampling_network(self.primary)

    def calibration_inputs(self, role: str) -> Iterator[tuple[Tensor, Tensor | None]]:
        """The inputs EMA.calibrate averages over: the same batches at every call, drawn
        from an RNG (or data stream) of their own, so that training's are untouched."""
        from ganzoo.engine.ema import CALIBRATION_BATCHES

        n, spec, classes = self.options.batch_size, self.game.roles[role], self.c.num_classes
        if spec.input is not None:
            data = self.c.dataset.batches(n, self.device, self.seed + 3)
            for _ in range(CALIBRATION_BATCHES):
                batch = next(data)
                yield batch[spec.input], batch.labels if classes else None
            return
        rng = torch.Generator(device=self.device).manual_seed(self.seed + 3)
        for _ in range(CALIBRATION_BATCHES):
            z = self.networks[role].sample_latent(n, self.device, rng)
            yield z, (torch.randint(classes, (n,), device=self.device, generator=rng)
                      if classes else None)

    def save_samples(self, step: int) -> None:
        """The picture of the primary G's output for the fixed inputs."""
        fake = self.pictures.draw(self.sampling_generator)
        shown = self.pictures.save(fake, self.run.sample_path(step), step)
        if self.pictures.is_image:
            for logger in self.loggers:
                logger.log_images("samples", shown, step)

    # ---- state -----------------------------------------------------------------------------

    def state_dict(self, rngs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """Everything a resumed run needs to continue as if it had never stopped. ``rngs``:
        every rank's RNG states; this process's alone when not given."""
        emas = {role: self.sampling_network(role).state_dict() for role in self.emas}
        shapes = {role: shape.as_dict() for role, shape in self.c.shapes.items()}
        return {
            "step": self.step_done, "batches_drawn": self.arena.batches_drawn,
            "networks": {role: net.state_dict() for role, net in self.networks.items()},
            "optimizers": {key: opt.state_dict() for key, opt in self.optimizers.items()},
            "ema": emas or None, "game": self.game.state_dict(),
            "augmentation": (self.c.augmentation.state_dict()
                             if self.c.augmentation is not None else None),
            "regularizers": [entry.regularizer.state_dict() for entry in self.c.regularizers],
            "rng_by_rank": rngs or [checkpoint.run_rng_states(self.arena.latent_rng)],
            "world_size": self.dist.world_size, "best_score": self.best_score,
            "roles": shapes, "primary": self.primary,
            "image_shape": shapes[self.primary]["image_shape"],
            "num_classes": self.c.num_classes, "recipe": self.recipe,
        }

    def load_state_dict(self, state: dict[str, Any], where: str = "checkpoint") -> None:
        state = checkpoint.upgrade_layout(state)
        for role, net in self.networks.items():
            checkpoint.load_weights(net, state["networks"][role], role, where)
        for key, opt in self.optimizers.items():
            opt.load_state_dict(state["optimizers"][key])
        for role, ema in self.emas.items():  # EMA switched on at resume: start from the weights
            ema.model.load_state_dict((state.get("ema") or {}).get(role)
                                      or self.networks[role].state_dict())
        self.game.load_state_dict(state.get("game") or {})
        if self.c.augmentation is not None and state.get("augmentation") is not None:
            self.c.augmentation.load_state_dict(state["augmentation"])
        for entry, saved_state in zip(self.c.regularizers, state.get("regularizers") or [],
                                      strict=False):
            entry.regularizer.load_state_dict(saved_state)
        self.step_done, self.arena.batches_drawn = int(state["step"]), int(state["batches_drawn"])
        self.best_score = state.get("best_score")  # so best.pt is only replaced by a better one
        checkpoint.restore_rngs(state, self.arena.latent_rng, self.dist.rank,
                                self.dist.world_size, self.seed, self.step_done)


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


def check_finite(record: dict[str, Any]) -> None:
    """Stop a diverged run with one line naming the step and the loss."""
    for name, value in record.items():
        if name.endswith("_loss") and not math.isfinite(value):
            raise GanzooError(
                f"Training diverged: {name} is {value} at step {record['step']}. The last "
                "good checkpoint is kept; lower optim_g.lr / optim_d.lr or try another loss."
            )
