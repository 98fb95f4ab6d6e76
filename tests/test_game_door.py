"""The game as a plugin: the built-in adversarial game against the step it replaced and against
the reference DCGAN script, games of other roles from the testkit, and the checks at build time."""

from __future__ import annotations

import copy
import hashlib

import pytest
import torch
from helpers import make_trainer
from torch import nn

#: The quickstart's weights (G, then D) after 60 steps at seed 0 on one CPU thread, as the
#: two-player step before games were a kind computed them (torch 2.14.1, x86-64 CPU).
QUICKSTART_60_STEPS = ("2.14.1", "726bcf5c3b1b3cc27cc74d4018d27cf9740f3e28138b58917a71c43e61131a76")


def digest(*networks: nn.Module) -> str:
    h = hashlib.sha256()
    for net in networks:
        for name, value in net.state_dict().items():
            h.update(name.encode())
            h.update(value.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


@pytest.fixture
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_the_adversarial_game_gives_the_quickstart_bit_identical_weights(tmp_path, one_thread):
    version, expected = QUICKSTART_60_STEPS
    if torch.__version__.split("+")[0] != version:
        pytest.skip(f"the digest was recorded with torch {version}; this is {torch.__version__}")
    trainer = make_trainer(tmp_path / "run", ["train.steps=60", "train.device=cpu",
                                              "train.log_every=10"])
    trainer.fit()
    assert digest(trainer.networks["generator"], trainer.networks["discriminator"]) == expected


def test_the_adversarial_game_plays_the_reference_dcgan_step(tmp_path, fake_data):
    """DCGAN networks with the same initial weights, real batches and z: the game and a plain
    loop written as the reference DCGAN script writes it (zero_grad, errD_real.backward(),
    errD_fake.backward(), step; then G through D) end with the same weights."""
    steps, batch = 4, 8
    trainer = make_trainer(tmp_path / "run", [
        f"data.root={fake_data}", "data.verify=false", f"train.steps={steps}",
        f"train.batch_size={batch}", "train.device=cpu", "generator.ngf=8",
        "discriminator.ndf=8", "loss.name=nonsaturating"], recipe="dcgan_cifar.yaml")
    netG = copy.deepcopy(trainer.networks["generator"])
    netD = copy.deepcopy(trainer.networks["discriminator"])
    real_batches = trainer.c.dataset.batches(batch, torch.device("cpu"), trainer.seed)
    noise_rng = torch.Generator().manual_seed(trainer.seed + 2)  # the game's latent stream
    trainer.fit()

    criterion = nn.BCEWithLogitsLoss()
    optimizerD = torch.optim.Adam(netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
    optimizerG = torch.optim.Adam(netG.parameters(), lr=2e-4, betas=(0.5, 0.999))
    for _ in range(steps):
        # (1) Update D network: maximize log(D(x)) + log(1 - D(G(z)))
        netD.zero_grad()
        real = next(real_batches).x
        label = torch.ones(batch)
        errD_real = criterion(netD(real), label)
        errD_real.backward()
        noise = torch.randn(batch, netG.latent_dim, generator=noise_rng)
        fake = netG(noise)
        errD_fake = criterion(netD(fake.detach()), label * 0)
        errD_fake.backward()
        optimizerD.step()
        # (2) Update G network: maximize log(D(G(z)))
        netG.zero_grad()
        errG = criterion(netD(fake), label)
        errG.backward()
        optimizerG.step()

    for mine, theirs in ((trainer.networks["generator"], netG),
                         (trainer.networks["discriminator"], netD)):
        for (name, a), b in zip(mine.state_dict().items(), theirs.state_dict().values(),
                                strict=True):
            if a.is_floating_point():
                torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5, msg=name)
            else:
                assert torch.equal(a, b), name
