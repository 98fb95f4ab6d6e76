"""A plain PyTorch DCGAN loop, written the way the well-known DCGAN example writes it.

    python bench/reference_dcgan.py --case cifar --steps 50 [--batch-size 64] [--device auto]

It is the baseline that bench/throughput.py measures ganzoo against:
- a torchvision Dataset with PIL transforms behind DataLoader(num_workers=2, shuffle=True);
- D ends in a Sigmoid and the loss is BCELoss;
- every step reads errD, errG, D(x) and D(G(z)) back with .item();
- Adam(2e-4, betas=(0.5, 0.999)), the DCGAN recipes' batch size and architecture: the very
  same G and D modules as ganzoo's dcgan plugin, so only the loop differs.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import add_common_args, device_name, pick, sync  # noqa: E402

CASES = ("mnist", "cifar", "celeba")
IMAGE_SIZE = {"mnist": 28, "cifar": 32, "celeba": 64}
CHANNELS = {"mnist": 1, "cifar": 3, "celeba": 3}


def reference_cifar(folder: Path):
    """torchvision's CIFAR10 Dataset (its per-item PIL + transform path) over the same pickles.

    Its own constructor is bypassed because it cannot read a subset (MD5s, bytes keys).
    """
    import numpy as np
    import torchvision.transforms as T
    from torchvision.datasets import CIFAR10

    from ganzoo_builtins.cifar10.loader import SPLITS, read_batch

    dataset = CIFAR10.__new__(CIFAR10)
    batches = [read_batch(folder / name) for name in SPLITS["train"]]
    dataset.data = np.concatenate([b["data"] for b in batches]).reshape(-1, 3, 32, 32)
    dataset.data = dataset.data.transpose(0, 2, 3, 1)  # HWC, as torchvision stores it
    dataset.targets = np.concatenate([b["labels"] for b in batches]).tolist()
    dataset.transform = T.Compose([T.ToTensor(), T.Normalize((0.5,) * 3, (0.5,) * 3)])
    dataset.target_transform = None
    return dataset


def reference_dataset(case: str, root: Path):
    """The torchvision Dataset the usual script would use, on the files ganzoo reads."""
    import torchvision.transforms as T
    from torchvision.datasets import MNIST, ImageFolder

    if case == "mnist":
        return MNIST(str(root), train=True, download=False,
                     transform=T.Compose([T.ToTensor(), T.Normalize((0.5,), (0.5,))]))
    if case == "cifar":
        return reference_cifar(root)
    # ImageFolder takes img_align_celeba/ as the one class folder under root.
    return ImageFolder(str(root), transform=T.Compose([
        T.Resize(64), T.CenterCrop(64), T.ToTensor(), T.Normalize((0.5,) * 3, (0.5,) * 3)]))


def build_networks(case: str) -> tuple[nn.Module, nn.Module]:
    """ganzoo's DCGAN G, and its D followed by a Sigmoid, as the example's netD ends."""
    from ganzoo_builtins.dcgan import DCGANDiscriminatorOptions, DCGANGeneratorOptions
    from ganzoo_builtins.dcgan.networks import DCGANDiscriminator, DCGANGenerator

    shape = (CHANNELS[case], IMAGE_SIZE[case], IMAGE_SIZE[case])
    netG = DCGANGenerator(DCGANGeneratorOptions(), shape)
    netD = nn.Sequential(DCGANDiscriminator(DCGANDiscriminatorOptions(), shape), nn.Sigmoid())
    return netG, netD


class ReferenceLoop:
    """The example's training loop, one step at a time."""

    def __init__(self, case: str, root: Path, batch_size: int, device: torch.device):
        from torch.utils.data import DataLoader

        self.device, self.batch_size = device, batch_size
        self.netG, self.netD = (m.to(device) for m in build_networks(case))
        self.nz = self.netG.latent_dim
        self.criterion = nn.BCELoss()
        self.optimizerD = torch.optim.Adam(self.netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.optimizerG = torch.optim.Adam(self.netG.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.dataloader = DataLoader(reference_dataset(case, root), batch_size=batch_size,
                                     shuffle=True, num_workers=2, drop_last=True)
        self.batches = self._endless()
        self.last: tuple[float, ...] = ()

    def _endless(self) -> Iterator[torch.Tensor]:
        while True:
            for data, _ in self.dataloader:
                yield data

    def step(self) -> None:
        real_label, fake_label = 1.0, 0.0
        # (1) Update D network: maximize log(D(x)) + log(1 - D(G(z)))
        self.netD.zero_grad()
        real_cpu = next(self.batches).to(self.device)
        b_size = real_cpu.size(0)
        label = torch.full((b_size,), real_label, dtype=torch.float, device=self.device)
        output = self.netD(real_cpu).view(-1)
        errD_real = self.criterion(output, label)
        errD_real.backward()
        D_x = output.mean().item()
        noise = torch.randn(b_size, self.nz, 1, 1, device=self.device)
        fake = self.netG(noise)
        label.fill_(fake_label)
        output = self.netD(fake.detach()).view(-1)
        errD_fake = self.criterion(output, label)
        errD_fake.backward()
        D_G_z1 = output.mean().item()
        errD = errD_real + errD_fake
        self.optimizerD.step()
        # (2) Update G network: maximize log(D(G(z)))
        self.netG.zero_grad()
        label.fill_(real_label)
        output = self.netD(fake).view(-1)
        errG = self.criterion(output, label)
        errG.backward()
        D_G_z2 = output.mean().item()
        self.optimizerG.step()
        self.last = (errD.item(), errG.item(), D_x, D_G_z1, D_G_z2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser)
    parser.add_argument("--case", choices=CASES, default="cifar")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    from throughput import case_root

    device = pick(args.device)
    loop = ReferenceLoop(args.case, case_root(args.case, args.data_root), args.batch_size,
                         device)
    loop.step()
    sync(device)
    start = time.perf_counter()
    for _ in range(args.steps):
        loop.step()
    sync(device)
    rate = args.steps * args.batch_size / (time.perf_counter() - start)
    print(f"reference DCGAN {args.case}: {rate:,.0f} images/s on {device_name(device)}; "
          f"last errD, errG, D(x), D(G(z)): {loop.last}")


if __name__ == "__main__":
    main()
