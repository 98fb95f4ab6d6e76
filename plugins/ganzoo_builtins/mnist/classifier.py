"""A small digit classifier, trained once on MNIST-train and cached, for mode coverage."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganzoo.errors import GanzooError

TARGET_ACCURACY = 0.99  # what the classifier must reach on MNIST-test
STOP_AT = 0.992  # train until this, for a margin over the target
_LOADED: dict[str, nn.Module] = {}


class DigitNet(nn.Module):
    """Two 5x5 conv layers and two linear ones: about 99% on MNIST after a few epochs."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(0.25), nn.Linear(64 * 7 * 7, 128),
                                  nn.ReLU(), nn.Linear(128, 10))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))


def load_split(root: Path, split: str) -> tuple[Tensor, Tensor]:
    from ganzoo_builtins.mnist import MNISTOptions
    from ganzoo_builtins.mnist.loader import load_mnist

    data = load_mnist(MNISTOptions(root=str(root), split=split))
    return data.samples, data.labels


def to_input(images: Tensor) -> Tensor:
    """uint8 or [-1, 1] images of any size -> [-1, 1] float 1x28x28."""
    x = images.float() / 127.5 - 1 if images.dtype == torch.uint8 else images.float()
    if x.shape[-1] != 28:
        x = F.interpolate(x, size=(28, 28), mode="bilinear", antialias=True, align_corners=False)
    return x


@torch.no_grad()
def accuracy(net: nn.Module, images: Tensor, labels: Tensor) -> float:
    net.eval()
    predicted = torch.cat([net(to_input(images[i:i + 1000])).argmax(1)
                           for i in range(0, len(images), 1000)])
    return float((predicted == labels).float().mean())


def train_classifier(root: Path, seed: int = 0, max_epochs: int = 8) -> tuple[nn.Module, float]:
    """Train until the test accuracy reaches STOP_AT (or max_epochs); returns (net, accuracy).

    Adam at 1e-3 for two epochs, then 3e-4.
    """
    from rich.progress import track

    torch.manual_seed(seed)
    train_x, train_y = load_split(root, "train")
    test_x, test_y = load_split(root, "test")
    net = DigitNet()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    best = 0.0
    for epoch in range(max_epochs):
        if epoch == 2:
            for group in opt.param_groups:
                group["lr"] = 3e-4
        net.train()
        order = torch.randperm(len(train_x))
        batches = range(0, len(order), 128)
        for i in track(batches, description=f"digit classifier, epoch {epoch + 1}",
                       transient=True):
            idx = order[i:i + 128]
            loss = F.cross_entropy(net(to_input(train_x[idx])), train_y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        best = accuracy(net, test_x, test_y)
        if best >= STOP_AT:
            break
    if best < TARGET_ACCURACY:
        raise GanzooError(f"the digit classifier reached only {best:.2%} on MNIST-test "
                          f"(needs {TARGET_ACCURACY:.0%}); are the files under '{root}' MNIST?")
    return net.eval(), best


def digit_classifier(root: str | Path) -> nn.Module:
    """The cached classifier for the MNIST files under ``root``, trained on first use."""
    from ganzoo.engine.checkpoint import load_checkpoint, save_atomic
    from ganzoo.imagefiles import cache_dir, fingerprint
    from ganzoo_builtins.mnist.loader import FILES, check_layout

    root = Path(root).expanduser()
    check_layout(root, "train")
    files = [root / "MNIST" / "raw" / name for split in FILES.values() for name in split]
    key = "-".join(str(v) for v in fingerprint(files).values())
    if key in _LOADED:
        return _LOADED[key]
    path = cache_dir() / f"mnist_digit_classifier-{key}.pt"
    net = DigitNet()
    if path.is_file():
        try:
            net.load_state_dict(load_checkpoint(path)["weights"])
            _LOADED[key] = net.eval()
            return net
        except (GanzooError, KeyError, RuntimeError):
            path.unlink(missing_ok=True)
    net, test_accuracy = train_classifier(root)
    save_atomic({"weights": net.state_dict(), "test_accuracy": test_accuracy}, path)
    _LOADED[key] = net
    return net


@torch.no_grad()
def classify(net: nn.Module, images: Tensor) -> Tensor:
    """Digit labels for (N, 1, H, W) images in [-1, 1]."""
    return torch.cat([net(to_input(images[i:i + 1000])).argmax(1)
                      for i in range(0, len(images), 1000)])
