"""Text-to-image (GAN-CLS with GAN-INT), a built-in game with a text encoder, a network kind of
its own: the networks as the paper builds them, MNIST captioned from measured ink, captions
from a folder, D's objective written out by hand, exact resume, and sampling by text."""

from __future__ import annotations

import copy
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import make_trainer, one_line_error
from test_resume import assert_same_state

from ganzoo.api import build
from ganzoo.cli import main
from ganzoo.errors import GanzooError

RECIPE = Path(__file__).resolve().parent.parent / "recipes" / "text2image_mnist.yaml"
SMALL = ["generator.ngf=8", "discriminator.ndf=8", "text_encoder.embedding_dim=16",
         "text_encoder.word_dim=8", "text_encoder.channels=8", "text_encoder.hidden=8",
         "train.batch_size=8", "train.device=cpu", "train.log_every=1", "train.num_samples=4"]


def tiny(fake_data: Path, steps: int = 6) -> list[str]:
    return [*SMALL, f"train.steps={steps}", "train.sample_every=3", "train.checkpoint_every=3",
            f"data.root={fake_data}"]


# ---- the kind, the networks ----------------------------------------------------------------

def test_text_encoders_are_a_kind_a_game_has_a_role_of(capsys):
    from ganzoo.plugins import load_registry

    assert main(["list", "text_encoders"]) == 0
    assert "cnn_rnn" in capsys.readouterr().out
    roles = load_registry().get("game", "gan_cls").roles
    assert {name: role.kind for name, role in roles.items()} == {
        "generator": "generator", "discriminator": "discriminator",
        "text_encoder": "text_encoder"}
    assert roles["text_encoder"].optimizer == roles["discriminator"].optimizer  # trained with D


def test_the_networks_are_the_papers():
    """The embedding compressed to 128 by FC + leaky ReLU, joined to z (100) in G and over D's
    4x4 features; DCGAN's layers between."""
    G = build("generator", "gan_cls", image_shape=(1, 32, 32))
    D = build("discriminator", "gan_cls", image_shape=(1, 32, 32))
    for net in (G, D):
        fc, act = net.compress
        assert (fc.in_features, fc.out_features, act.negative_slope) == (1024, 128, 0.2)
    assert G.decode[0].in_channels == 100 + 128 and G.decode[0].out_channels == 128 * 4
    assert D.joint[0].in_channels == 64 * 4 + 128 and D.joint[-1].kernel_size == (4, 4)
    with torch.no_grad():
        assert D.body(torch.zeros(2, 1, 32, 32)).shape == (2, 256, 4, 4)
        images = G.eval()(torch.zeros(2, 100), torch.randn(2, 1024))
        assert images.shape == (2, 1, 32, 32) and images.abs().max() <= 1
        assert D(images, torch.randn(2, 1024)).shape == (2,)
        t = torch.randn(2, 1024)  # the text matters to both
        assert not torch.equal(G(torch.zeros(2, 100), t), G(torch.zeros(2, 100), -t))
        assert not torch.equal(D.eval()(images, t), D(images, -t))
    with pytest.raises(GanzooError, match="power-of-2 size of at least 8"):
        build("generator", "gan_cls", image_shape=(1, 28, 28))


def test_the_text_encoder_tokenizes_and_refuses_what_it_cannot_read():
    T = build("text_encoder", "cnn_rnn", caption_shape=(5,), vocabulary=("a", "seven", "thick"),
              embedding_dim=16, word_dim=4, channels=4, hidden=4)
    tokens = T.tokenize(["A thick seven.", "seven"])
    assert tokens.tolist() == [[1, 3, 2, 0, 0], [2, 0, 0, 0, 0]]
    assert T(tokens).shape == (2, 16)
    # padding is not read: a caption's embedding does not depend on the length it is padded to
    longer = build("text_encoder", "cnn_rnn", caption_shape=(9,), vocabulary=T.vocabulary,
                   embedding_dim=16, word_dim=4, channels=4, hidden=4)
    longer.load_state_dict(T.state_dict())
    assert torch.allclose(longer(longer.tokenize(["seven"])), T(T.tokenize(["seven"])))
    with pytest.raises(GanzooError, match="caption ' ,' has no words"):
        T.tokenize([" ,"])
    with pytest.raises(GanzooError, match="has 6 words, more than the 5"):
        T.tokenize(["a a a a a a"])
    with pytest.raises(GanzooError, match="text: 'purple', 'dragon' not in the vocabulary"):
        T.tokenize(["a purple dragon seven"])


# ---- captions ------------------------------------------------------------------------------

def stroke(width: int, lean: int) -> torch.Tensor:
    """A 28x28 uint8 bar from row 4 to 23, ``width`` wide, its top ``lean`` pixels right."""
    image = torch.zeros(1, 1, 28, 28, dtype=torch.uint8)
    for row in range(4, 24):
        centre = 14 + round(lean * (13.5 - row) / 19)
        image[0, 0, row, centre - width // 2:centre - width // 2 + width] = 255
    return image


def test_the_ink_measures_read_thickness_and_slant():
    from ganzoo_builtins.text2image.captions import bins, measure_ink

    thickness, slant = measure_ink(torch.cat([stroke(2, 0), stroke(6, 0), stroke(3, 8),
                                              stroke(3, -8)]))
    assert thickness[1] > 2 * thickness[0]  # half the stroke's width: 1 and about 2.6
    assert abs(slant[0]) < 1 and slant[2] > 15 and slant[3] < -15
    assert bins(slant, torch.tensor([-5.0, 5.0])).tolist() == [1, 1, 2, 0]


def test_the_captions_and_the_held_out_phrasings():
    from ganzoo_builtins.text2image.captions import PHRASINGS, every_caption
    from ganzoo_builtins.text2image.data import mnist_vocabulary, vocabulary_of

    train, held = every_caption(PHRASINGS["train"]), every_caption(PHRASINGS["held_out"])
    texts = {c.text for c in train}
    assert "a thick slanted seven" in texts
    assert "the digit 7, written thick and leaning right" in texts
    assert not texts & {c.text for c in held}  # held-out captions are never trained on
    # ... but they use training words only, so their words have been learnt
    assert set(vocabulary_of([c.text for c in held])) <= set(vocabulary_of(list(texts)))
    assert mnist_vocabulary() == vocabulary_of(list(texts))
    assert max(len(c.text.split()) for c in train + held) <= 9
    assert len(train) == 6 * 90 and len(held) == 2 * 90


def test_captioned_mnist_says_each_digit(fake_data):
    from ganzoo_builtins.mnist.classifier import load_split
    from ganzoo_builtins.text2image.captions import DIGITS

    dataset = build("dataset", "mnist_captions", root=str(fake_data))
    _, labels = load_split(fake_data, "train")
    for i in range(len(dataset)):
        for k in range(int(dataset.counts[i])):
            words = [dataset.vocabulary[t - 1] for t in dataset.table[dataset.choices[i, k]]
                     if t]
            assert DIGITS[labels[i]] in words or str(int(labels[i])) in words
    assert dataset.fields["caption"].vocabulary == dataset.vocabulary
    first = next(dataset.batches(8, torch.device("cpu"), seed=3))
    assert first.x.shape == (8, 1, 32, 32) and first.caption.shape == (8, 12)
    assert first.caption.dtype == torch.long
    again = dataset.batches(8, torch.device("cpu"), seed=3, start=5)
    batches = dataset.batches(8, torch.device("cpu"), seed=3)
    sixth = [next(batches) for _ in range(6)][5]
    assert torch.equal(next(again).caption, sixth.caption)  # batch k from (seed, k) alone


def caption_folder(root: Path, captions: dict[str, str]) -> Path:
    from PIL import Image

    root.mkdir()
    rng = np.random.default_rng(0)
    for name, text in captions.items():
        Image.fromarray(rng.integers(0, 256, (12, 12), dtype=np.uint8)).save(root / f"{name}.png")
        if text is not None:
            (root / f"{name}.txt").write_text(text)
    return root


def test_a_folder_of_captioned_images(tmp_path):
    root = caption_folder(tmp_path / "birds", {"a": "a red bird\nA small red bird.\n",
                                               "b": "blue fish", "c": None})
    dataset = build("dataset", "caption_folder", root=str(root), image_size=8, channels=1,
                    max_words=4)
    assert len(dataset) == 2 and dataset.vocabulary == ("a", "bird", "blue", "fish", "red",
                                                        "small")
    assert dataset.warnings == [f"data: 1 image(s) under '{root}' have no caption file beside "
                                "them and were left out"]
    batches = dataset.batches(2, torch.device("cpu"), 0)
    seen = {tuple(t for t in row.tolist() if t) for _ in range(20) for row in next(batches).caption}
    assert seen == {(1, 5, 2), (1, 6, 5, 2), (3, 4)}  # both captions of a, and b's
    with pytest.raises(GanzooError, match="more than 3; raise data.max_words"):
        build("dataset", "caption_folder", root=str(root), max_words=3)


def test_the_recipe_trains_on_a_caption_folder(tmp_path):
    root = caption_folder(tmp_path / "pets", {"a": "a cat", "b": "a dog\na brown dog"})
    data = f"data={{name: caption_folder, root: {root}, image_size: 8, channels: 1}}"
    run = tmp_path / "run"
    assert main(["run", str(RECIPE), *SMALL, data, "train.batch_size=2", "train.steps=2",
                 f"train.run_dir={run}"]) == 0
    assert load_run_sample(run, "a brown cat").shape == (2, 1, 8, 8)


def load_run_sample(run: Path, text: str) -> torch.Tensor:
    import ganzoo

    return ganzoo.load_run(run).sample(2, text=text)


# ---- the game ------------------------------------------------------------------------------

def test_one_step_is_the_papers_objective(tmp_path, fake_data):
    """D's: log D(x, t) + (log(1 - D(x, t')) + log(1 - D(G(z, t), t))) / 2, t' another image's
    caption, D and T updated together; G's: its term on t plus GAN-INT's on (t + t') / 2."""
    trainer = make_trainer(tmp_path / "run", tiny(fake_data), recipe=RECIPE.name)
    before = copy.deepcopy(trainer.networks)
    rng = torch.Generator().set_state(trainer.arena.latent_rng.get_state())
    dataset, cpu = trainer.c.dataset, torch.device("cpu")
    stats = trainer.step(dataset.batches(8, cpu, trainer.seed))
    real = next(dataset.batches(8, cpu, trainer.seed))
    G, D, T = before["generator"], before["discriminator"], before["text_encoder"]
    with torch.no_grad():
        t = T(real.caption)
        fake = G(G.sample_latent(8, "cpu", rng), t)
        r, w, f = D(real.x, t), D(real.x, t.roll(1, 0)), D(fake, t)
    softplus = torch.nn.functional.softplus
    expected = softplus(-r).mean() + 0.5 * softplus(w).mean() + 0.5 * softplus(f).mean()
    assert stats["d_loss"].item() == pytest.approx(expected.item(), rel=1e-5)
    assert stats["g_loss"].item() == pytest.approx((stats["g_cls"] + stats["g_int"]).item(),
                                                   rel=1e-5)
    assert stats["d_mismatched"].item() == pytest.approx(torch.sigmoid(w).mean().item(),
                                                         rel=1e-5)
    moved = [not torch.equal(p, q) for p, q in zip(T.parameters(),
             trainer.networks["text_encoder"].parameters(), strict=True)]
    assert all(moved)  # T learns from D's objective


def test_gan_int_can_be_switched_off(tmp_path, fake_data):
    trainer = make_trainer(tmp_path / "run", [*tiny(fake_data), "game.interp_weight=0"],
                           recipe=RECIPE.name)
    stats = trainer.step(trainer.c.dataset.batches(8, torch.device("cpu"), trainer.seed))
    assert "g_int" not in stats and torch.equal(stats["g_loss"], stats["g_cls"])


def test_a_run_resumes_bit_identically(tmp_path, fake_data):
    from ganzoo.engine.checkpoint import load_checkpoint

    straight, stopped = tmp_path / "straight", tmp_path / "stopped"
    assert main(["run", str(RECIPE), *tiny(fake_data), f"train.run_dir={straight}"]) == 0
    assert main(["run", str(RECIPE), *tiny(fake_data, 3), f"train.run_dir={stopped}"]) == 0
    assert main(["resume", str(stopped), "train.steps=6"]) == 0
    a = load_checkpoint(straight / "checkpoints" / "step_0000006.pt")
    b = load_checkpoint(stopped / "checkpoints" / "step_0000006.pt")
    assert set(a["networks"]) == {"generator", "discriminator", "text_encoder"}
    assert_same_state(a, b)
    assert a["roles"]["text_encoder"]["vocabulary"][:3] == ["0", "1", "2"]  # kept for sampling


# ---- a run: sample by text, show, eval, export ---------------------------------------------

@pytest.fixture(scope="module")
def run(tmp_path_factory, fake_data) -> Path:
    folder = tmp_path_factory.mktemp("text2image") / "run"
    assert main(["run", str(RECIPE), *tiny(fake_data), f"train.run_dir={folder}"]) == 0
    return folder


def test_sample_by_text(run, tmp_path, capsys):
    import ganzoo

    out = tmp_path / "sevens"
    assert main(["sample", str(run), "--text", "a thick slanted seven", "--n", "4", "--out",
                 str(out)]) == 0
    assert len(list(out.glob("*.png"))) == 4
    loaded = ganzoo.load_run(run)
    images = loaded.sample(16, text=["a thick slanted seven", "zero"])
    assert images.shape == (16, 1, 32, 32)
    assert not torch.equal(images[0], images[2])  # one caption, two z
    zeros, nines = loaded.sample(4, text="zero"), loaded.sample(4, text="nine")
    assert not torch.equal(zeros, nines)  # the same z, other text
    assert torch.equal(loaded.sample(4, text="zero"), zeros)
    from PIL import Image

    first = np.asarray(Image.open(out / "000000.png"), dtype=np.float32) / 127.5 - 1
    assert np.abs(first - images[0, 0].numpy()).max() < 0.01  # the CLI draws the same


@pytest.mark.parametrize("text, message", [
    ("", "--text: caption '' has no words"),
    ("the digit 7 leaning right " * 3, "has 15 words, more than the 12 this text encoder "
                                       "takes"),
    ("a purple seven dragon", "--text: 'purple', 'dragon' not in the vocabulary of this text "
                              "encoder (38 words: 0, 1, 2"),
])
def test_bad_captions_are_one_line_and_exit_2(run, tmp_path, capsys, text, message):
    one_line_error(capsys, ["sample", str(run), "--text", text, "--n", "2", "--out",
                            str(tmp_path / "x")], message)


def test_a_caption_of_as_many_words_as_the_encoder_takes_is_taken(run, tmp_path):
    twelve = "a thick slanted seven " * 3
    assert main(["sample", str(run), "--text", twelve, "--n", "2", "--out",
                 str(tmp_path / "ok")]) == 0
    assert len(list((tmp_path / "ok").glob("*.png"))) == 2


def test_text_for_a_generator_without_text(tmp_path, capsys, tiny_train):
    import ganzoo

    plain = tmp_path / "plain"
    assert main(["run", str(RECIPE.with_name("quickstart.yaml")), *tiny_train,
                 f"train.run_dir={plain}"]) == 0
    one_line_error(capsys, ["sample", str(plain), "--text", "a seven", "--out",
                            str(tmp_path / "x")],
                   "--text: this generator is not conditioned on text; leave --text out")
    with pytest.raises(GanzooError, match="text: this generator is not conditioned on text"):
        ganzoo.load_run(plain).sample(2, text="a seven")


def test_show_eval_and_export(run, fake_data, tmp_path, capsys):
    import ganzoo
    from ganzoo.interfaces import Generator

    assert main(["show", str(RECIPE), f"data.root={fake_data}"]) == 0
    shown = capsys.readouterr().out
    assert "generator gan_cls: z (100) -> 1x32x32" in shown
    assert re.search(r"text_encoder cnn_rnn: caption of 12 tokens \(\d+ words\) -> embedding "
                     r"\(1024\)", shown) and "SequenceGRU" in shown and "-> logit" not in \
        shown.split("text_encoder cnn_rnn")[1].split("\n")[0]
    assert main(["eval", str(run), "eval.metrics=[modes]", "eval.n=8", "eval.ref=train"]) == 0
    saved = json.loads(next((run / "checkpoints").glob("*.eval.json")).read_text())
    saved = saved[-1] if isinstance(saved, list) else saved
    assert saved["metrics"]["digit_classes_total"] == 10  # read by the digit classifier
    out = tmp_path / "export"
    assert main(["export", str(run), "--out", str(out)]) == 0
    G = Generator.from_pretrained(out)
    assert G(torch.zeros(2, 100)).shape == (2, 1, 32, 32)
    assert G.text_dim == 16
    # the export samples by text as the run does: its text encoder travels with G
    encoder = ganzoo.load_exported_text_encoder(out)
    text = encoder.embed_captions(["a thick seven", "a thin one"], 4)
    assert text.shape == (4, 16) and torch.equal(text[0], text[2])
    assert torch.allclose(ganzoo.sample(G, 4, seed=3, text=text),
                          ganzoo.load_run(run).sample(4, seed=3, text=["a thick seven",
                                                                        "a thin one"]),
                          atol=1e-5)
    assert "load_exported_text_encoder" in (out / "README.md").read_text()
    with pytest.raises(GanzooError, match="this export has no text encoder"):
        bare = Path(shutil.copytree(out, tmp_path / "bare"))
        (bare / "text_encoder.safetensors").unlink()
        ganzoo.load_exported_text_encoder(bare)
