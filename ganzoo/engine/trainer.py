"""The loop around the game's steps: logging, samples, evaluation and checkpoints.

The game (``ganzoo.interfaces.Game``) plays each step in the arena (``ganzoo.engine.arena``);
the device and speed options are the runtime's (``ganzoo.engine.runtime``), the sample
pictures' inputs the samples module's, and what a checkpoint holds the checkpoint module's.
The loop knows the interfaces and never a plugin by name.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf
from torch import Tensor

from ganzoo.components import Components
from ganzoo.engine import checkpoint, finetune
from ganzoo.engine.arena import Arena, MetricMeter, OptimizerGroup
from ganzoo.engine.checkpoint import CheckpointStore, check_finite, check_finite_parameters
from ganzoo.engine.distributed import Dist, all_gather, any_rank, parameters_agree
from ganzoo.engine.ema import EMA, calibration_inputs
from ganzoo.engine.runs import RunFolder
from ganzoo.engine.runtime import Runtime, seed_everything
from ganzoo.engine.samples import SamplePictures
from ganzoo.files import save_atomic
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
    started_at: int = 0  # the step this session began from (0 for a new run)


class Trainer:
    """One GAN run: the game's steps, repeated, with metrics, samples, evaluation and
    checkpoints. With several processes (torchrun), every network is wrapped in DDP."""

    def __init__(self, components: Components, options: TrainOptions, run: RunFolder,
                 recipe: DictConfig | None = None, dist: Dist | None = None,
                 evaluator: Callable[[Generator, int], dict] | None = None, eval_every: int = 0,
                 best: str = "auto", start: finetune.StartingWeights | None = None):
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
        # fine-tuning: the networks hold their starting weights already, and D's frozen layers
        # are marked (finetune.prepare, before the optimizers and DDP see the parameters)
        self.notes += start.notes if start is not None else []
        self.emas = {role: EMA(self.networks[role], options.ema_decay)
                     for role in components.roles_of_kind("generator") if options.ema_decay > 0}
        if start is not None:
            finetune.start_emas(self.emas, start)
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
                                      c.schedules[key], self.options.steps,
                                      c.beta2_schedules.get(key))
                  for key, roles in c.optimizers.items()}
        return Arena(
            roles=self.game.roles, networks=self.networks,
            calls={role: rt.wrap(net) for role, net in self.networks.items()},
            frozen_calls={role: rt.frozen(self.networks[role])
                          for role in c.roles_of_kind("discriminator")},
            groups=groups, regularizers=c.regularizers, loss=c.loss,
            augmentation=c.augmentation, num_classes=c.num_classes, n_critic=self.options.n_critic,
            autocast=rt.autocast, prepare=rt.prepare, device=self.device,
            total_steps=self.options.steps,
            # the latents of training have their own stream, independent of other RNG users
            latent_rng=torch.Generator(device=self.device).manual_seed(self.seed + 2))

    # ---- the loop --------------------------------------------------------------------------

    def step(self, batches: Iterator[Batch]) -> dict[str, Tensor]:
        """One step of the game (the next one), then the EMA of each generator's weights; the
        step's statistics by name, on the device."""
        step = self.step_done + 1
        stats = self.arena.play(self.game, batches, step)
        decay = self.ema_decay(step)
        for role, ema in self.emas.items():
            ema.update(self.networks[role], decay)
        return stats

    def ema_decay(self, step: int) -> float:
        """The EMA's decay at ``step``: 0 (a copy) before train.ema_start, as BigGAN's code
        does; with train.ema_schedule, that of train.ema_decay's half-life times the schedule's
        factor (R3GAN's half-life rising from 0), a pure function of the step."""
        if step < self.options.ema_start:
            return 0.0
        schedule = self.c.ema_schedule
        if schedule is None:
            return self.options.ema_decay
        factor = schedule.factor(step, self.options.steps)
        # decay = 0.5 ** (batch / half-life): scaling the half-life by f takes it to the 1/f
        return self.options.ema_decay ** (1.0 / factor) if factor > 0 else 0.0

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
        last_step = last_step_at_start = self.step_done
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
                           run_dir=str(self.run.path), started_at=last_step_at_start)

    def stop_requested(self, step: int) -> bool:
        """Whether a stop signal arrived. Under torchrun the ranks agree on it at log steps,
        where they synchronise anyway, so that all of them stop at the same step."""
        if not self.dist.enabled:
            return self.stop_signal is not None
        if step % self.options.log_every:
            return False
        return any_rank(self.stop_signal is not None, self.dist, self.device)

    def evaluate_now(self, step: int) -> None:
        """Evaluate the sampling weights; keep the best-scoring checkpoint as best.pt (a score
        that is NaN or infinite never makes it)."""
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
        # NaN compares false with everything: a NaN (or infinite) score is never the best, and
        # a best that is not a number (from a checkpoint written before this check) is
        # replaced by the first score that is one
        finite = score is not None and math.isfinite(score)
        best = self.best_score
        if finite and (best is None or not math.isfinite(best) or better(score, best)):
            self.best_score = score
            save_atomic({**self.state_dict(), "best_score": score},
                        self.run.checkpoints_dir / "best.pt")

    # ---- samples ---------------------------------------------------------------------------

    def sampling_network(self, role: str) -> torch.nn.Module:
        """A generator role's EMA weights when there are any (their BatchNorm statistics
        recomputed for them): they give the better samples."""
        if role not in self.emas:
            return self.networks[role]
        self.emas[role].calibrate(lambda: calibration_inputs(
            self.networks[role], self.game.roles[role], self.c.dataset, self.options.batch_size,
            self.c.num_classes, self.device, self.seed + 3))
        return self.emas[role].model

    @property
    def sampling_generator(self) -> Generator:
        return self.sampling_network(self.primary)

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
        return checkpoint.run_state(self, rngs)

    def load_state_dict(self, state: dict[str, Any], where: str = "checkpoint") -> None:
        checkpoint.restore_run(self, state, where)
