"""Helpers shared by the tests (importable as ``helpers``: pytest puts tests/ on sys.path)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch.utils._python_dispatch import TorchDispatchMode

from ganzoo.components import build_components
from ganzoo.engine.runs import RunFolder
from ganzoo.engine.trainer import Trainer
from ganzoo.plugins import load_registry
from ganzoo.recipe import load_recipe, train_options
from ganzoo.registry import Registry

RECIPES = Path(__file__).resolve().parent.parent / "recipes"
#: the quickstart without R1 and the lr decay (nor BatchNorm in G): tests of bit-exact resume across
#: processes and thread counts, of DDP and of compile check the engine, and batch statistics
#: summed in another order (another thread count) or a schedule would blur what they compare
PLAIN = ["generator.batch_norm=false", "regularizers=[]", "optim_g.schedule.name=constant",
         "optim_d.schedule.name=constant"]


def make_trainer(run_dir: Path, overrides: list[str], recipe: str = "quickstart.yaml",
                 registry: Registry | None = None, existing: bool = False,
                 **trainer_options: Any) -> Trainer:
    """A Trainer in this process for one of the shipped recipes, writing into ``run_dir``: a
    new run folder, or with ``existing`` the one an earlier trainer made (to resume it)."""
    registry = registry or load_registry()
    config = load_recipe(RECIPES / recipe, [*overrides, f"train.run_dir={run_dir}"], registry)
    components = build_components(config, registry)
    run = RunFolder(run_dir) if existing else RunFolder.create(config, "test", str(run_dir))
    return Trainer(components, train_options(config), run, config, **trainer_options)


def one_line_error(capsys: Any, argv: list[str], expected: str) -> str:
    """``ganzoo argv`` ends with exit code 2 and one line on stderr holding ``expected``."""
    from ganzoo.cli import main

    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    assert err.count("\n") == 1, err
    assert expected in err, err
    return err


def assert_steps_read_no_value(trainer: Trainer, batches: Any, monkeypatch: Any,
                               steps: range = range(2, 5)) -> dict[str, Any]:
    """Run ``steps`` of the trainer with every way of copying a tensor to the host refused
    (on a GPU each would be a sync); the last step's statistics."""
    import torch

    def refuse(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a training step copied a tensor to the host")

    for method in ("tolist", "numpy", "cpu", "item"):
        monkeypatch.setattr(torch.Tensor, method, refuse)
    stats: dict[str, Any] = {}
    with ValueReads() as reads:
        for step in steps:
            trainer.step_done = step - 1
            stats = trainer.step(batches)
    assert reads.seen == []
    return stats


class ValueReads(TorchDispatchMode):
    """Records the ops that copy a tensor's value to Python: on a GPU, each is a host sync."""

    READS = {"_local_scalar_dense", "is_nonzero", "equal"}

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None):
        name = func.__name__.split(".")[0]
        if name in self.READS:
            self.seen.append(name)
        return func(*args, **(kwargs or {}))


def evaluate_with_tiny_extractor(run: Path, monkeypatch: Any, n: int, step: int,
                                 *extra: str) -> tuple[Registry, dict[str, Any]]:
    """``ganzoo eval run`` with the tests' tiny feature extractor, FID and KID on n samples;
    the registry that knows the extractor (patched in for later commands) and the saved entry."""
    import json

    from test_evaluation import TinyPlugin

    from ganzoo import plugins
    from ganzoo.cli import main

    registry = load_registry(extra_plugins={"tiny": TinyPlugin()})
    monkeypatch.setattr(plugins, "load_registry", lambda extra_plugins=None: registry)
    assert main(["eval", str(run), "--n", str(n), "--extractor", "tiny",
                 "--metrics", "fid,kid", *extra]) == 0
    saved = json.loads((run / "checkpoints" / f"step_{step:07d}.eval.json").read_text())
    saved = saved[-1] if isinstance(saved, list) else saved
    assert saved["metrics"]["fid"] > 0 and saved["protocol"]["n_generated"] == n
    return registry, saved


def assert_onnx_export_gives_the_samples(run: Path, out: Path, registry: Registry,
                                         num_classes: int | None = None) -> None:
    """``ganzoo export --format onnx`` of the run: the ONNX generator's images for 5 z's (and
    labels 0, 1, ... where num_classes is given) are G's; skipped without onnxruntime."""
    import numpy as np
    import pytest
    import torch

    from ganzoo.cli import main
    from ganzoo.sampling import load_generator

    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    pytest.importorskip("onnxscript", reason="onnxscript is not installed")
    assert main(["export", str(run), "--out", str(out), "--format", "onnx"]) == 0
    G, _, _ = load_generator(run, registry, device="cpu")
    z = G.sample_latent(5, generator=torch.Generator().manual_seed(3))
    labels = None if num_classes is None else torch.arange(5) % num_classes
    with torch.no_grad():
        expected = (G(z) if labels is None else G(z, labels)).numpy()
    session = ort.InferenceSession(str(out / "generator.onnx"))
    names = [i.name for i in session.get_inputs()]
    feeds = {"z": z.numpy(), **({"labels": labels.numpy()} if "labels" in names else {})}
    (got,) = session.run(None, feeds)
    np.testing.assert_allclose(got, expected, atol=1e-4)
