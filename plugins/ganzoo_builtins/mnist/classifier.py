"""A small digit classifier for mode coverage, shipped trained with the package.

``digit_classifier.pt`` beside this file holds its weights (fp16, under 1 MiB), trained by

    python -m ganzoo_builtins.mnist.classifier --data-root ../shared/data

(about two minutes on 2 CPU cores; docs/evaluation.md gives its test accuracy). Where the file
is missing, the classifier is trained on first use from the MNIST files given and cached.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganzoo.errors import GanzooError

TARGET_ACCURACY = 0.99  # what the classifier must reach on MNIST-test
STOP_AT = 0.992  # train until this, for a margin over the target
SHIPPED = Path(__file__).with_name("digit_classifier.pt")
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
    """The shipped classifier; without it, one trained on the MNIST files under ``root`` on
    first use and cached."""
    from ganzoo.engine.checkpoint import load_checkpoint
    from ganzoo.files import save_atomic
    from ganzoo.imagefiles import cache_dir, fingerprint
    from ganzoo_builtins.mnist.loader import FILES, check_layout

    if "shipped" in _LOADED:
        return _LOADED["shipped"]
    if SHIPPED.is_file():
        net = DigitNet()
        weights = load_checkpoint(SHIPPED)["weights"]
        net.load_state_dict({name: value.float() for name, value in weights.items()})
        _LOADED["shipped"] = net.eval()
        return net
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
    try:
        save_atomic({"weights": net.state_dict(), "test_accuracy": test_accuracy}, path)
    except GanzooError:  # a read-only or full cache: keep the trained network for this process
        pass
    _LOADED[key] = net
    return net


@torch.no_grad()
def classify(net: nn.Module, images: Tensor) -> Tensor:
    """Digit labels for (N, 1, H, W) images in [-1, 1]."""
    return torch.cat([net(to_input(images[i:i + 1000])).argmax(1)
                      for i in range(0, len(images), 1000)])


def main() -> None:
    """Train the classifier and write the weights shipped with the package (fp16)."""
    import argparse

    from ganzoo.files import save_atomic

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--data-root", default="../shared/data",
                        help="the folder that holds MNIST/raw/")
    parser.add_argument("--out", default=str(SHIPPED))
    args = parser.parse_args()
    net, test_accuracy = train_classifier(Path(args.data_root))
    weights = {name: value.half() for name, value in net.state_dict().items()}
    net.load_state_dict({name: value.float() for name, value in weights.items()})
    test_x, test_y = load_split(Path(args.data_root), "test")
    stored_accuracy = accuracy(net, test_x, test_y)  # after the round trip through fp16
    save_atomic({"weights": weights, "test_accuracy": stored_accuracy}, args.out)
    print(f"wrote {args.out}: MNIST-test accuracy {test_accuracy:.4f} "
          f"(fp32), {stored_accuracy:.4f} (as stored, fp16)")


if __name__ == "__main__":
    main()
