"""The one table of component kinds.

Each kind says which hook registers its members, which recipe sections name them, what a
member's ``build`` receives after its options, and what it must return. The registry, the
recipe, the builders and ``ganzoo list`` all read this table; a test checks that the hookspecs
and the recipe schema agree with it. Nothing here imports torch: ``ganzoo list`` stays quick.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    """One kind of component."""

    name: str  # singular: 'generator'
    plural: str  # as in 'ganzoo list generators'
    hook: str  # the hookspec that registers members
    # recipe keys that name members ('[]': a list of them; '<roles>': one section per role of
    # the game of this kind; '<optimizers>': each optimizer section the game's roles name)
    sections: tuple[str, ...]
    build_args: tuple[str, ...]  # what build() receives after its options
    base: str  # 'module:Class' that what build() returns must be an instance of


KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind("game", "games", "ganzoo_register_games", ("game",), (),
             "ganzoo.interfaces:Game"),
        Kind("generator", "generators", "ganzoo_register_generators", ("<roles>",),
             ("image_shape", "num_classes"), "ganzoo.interfaces:Generator"),
        Kind("discriminator", "discriminators", "ganzoo_register_discriminators",
             ("<roles>",), ("image_shape", "num_classes"),
             "ganzoo.interfaces:Discriminator"),
        Kind("text_encoder", "text_encoders", "ganzoo_register_text_encoders", ("<roles>",),
             ("caption_shape", "vocabulary"), "ganzoo.interfaces:TextEncoder"),
        Kind("loss", "losses", "ganzoo_register_losses", ("loss",), (),
             "ganzoo.interfaces:Loss"),
        Kind("dataset", "datasets", "ganzoo_register_datasets", ("data",), (),
             "ganzoo.interfaces:Dataset"),
        Kind("augmentation", "augmentations", "ganzoo_register_augmentations", ("augment",), (),
             "ganzoo.interfaces:Augmentation"),
        Kind("regularizer", "regularizers", "ganzoo_register_regularizers",
             ("regularizers[]",), (), "ganzoo.interfaces:Regularizer"),
        Kind("optimizer", "optimizers", "ganzoo_register_optimizers", ("<optimizers>",),
             ("params",), "torch.optim:Optimizer"),
        Kind("schedule", "schedules", "ganzoo_register_schedules",
             ("<optimizers>.schedule", "<optimizers>.beta2_schedule", "train.ema_schedule"), (),
             "ganzoo.interfaces:Schedule"),
        Kind("metric", "metrics", "ganzoo_register_metrics", ("eval.metrics[]",), (),
             "ganzoo.interfaces:Metric"),
        Kind("feature_extractor", "feature_extractors", "ganzoo_register_feature_extractors",
             ("eval.extractor",), (), "ganzoo.interfaces:FeatureExtractor"),
        Kind("logger", "loggers", "ganzoo_register_loggers", ("train.loggers[]",), (),
             "ganzoo.interfaces:Logger"),
    )
}


def base_class(kind: Kind) -> type:
    """The class a kind's members are instances of (imports its module, so torch, lazily)."""
    import importlib

    module, name = kind.base.split(":")
    return getattr(importlib.import_module(module), name)
