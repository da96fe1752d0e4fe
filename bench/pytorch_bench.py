"""PyTorch eager twin of `selftrain bench`: the same CNN, batch, data shape and optimizer.

Prints one JSON object with the same fields as `selftrain bench`, so the two can be compared
side by side (see bench/compare.sh).

    python bench/pytorch_bench.py [--device cpu|cuda] [--batch-size 64]
        [--model default|small|resnet8|resnet20|resnet18] [--size 28x28] [--channels 1]

The ResNets are those of src/model/resnet.rs: ResNet-8/20 in the CIFAR layout (3×3 stem of 16
channels, three stages of 1 or 3 basic blocks, 1×1-convolution shortcuts where the shape changes)
and torchvision's own ResNet-18 (torchvision must be installed for it).
"""

import argparse
import json
import os
import resource
import time

import torch
from torch import nn


class Cnn(nn.Module):
    """conv(32)-[bn]-relu-pool-conv(64)-[bn]-relu-pool-fc(128)-relu-[dropout]-fc, 3x3 'same' convs."""

    def __init__(self, kind, channels, height, width, classes, filters=32, hidden=128, dropout=0.3):
        super().__init__()
        bn = kind == "default"
        self.conv1 = nn.Conv2d(channels, filters, 3, padding=1, bias=not bn)
        self.bn1 = nn.BatchNorm2d(filters) if bn else nn.Identity()
        self.conv2 = nn.Conv2d(filters, filters * 2, 3, padding=1, bias=not bn)
        self.bn2 = nn.BatchNorm2d(filters * 2) if bn else nn.Identity()
        self.pool = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(filters * 2 * (height // 4) * (width // 4), hidden)
        self.dropout = nn.Dropout(dropout if bn else 0.0)
        self.fc2 = nn.Linear(hidden, classes)

    def forward(self, x):
        x = self.pool(torch.relu(self.bn1(self.conv1(x))))
        x = self.pool(torch.relu(self.bn2(self.conv2(x))))
        x = torch.relu(self.fc1(x.flatten(1)))
        return self.fc2(self.dropout(x))


class CifarResNet(nn.Module):
    """ResNet-(6n+2) in the CIFAR layout with global average pooling, as src/model/resnet.rs."""

    def __init__(self, blocks_per_stage, channels, classes, filters=16):
        super().__init__()
        from torchvision.models.resnet import BasicBlock

        def stage(cin, cout, stride):
            down = None
            if stride != 1 or cin != cout:
                down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
            blocks = [BasicBlock(cin, cout, stride, down)]
            blocks += [BasicBlock(cout, cout) for _ in range(blocks_per_stage - 1)]
            return nn.Sequential(*blocks)

        self.stem = nn.Sequential(
            nn.Conv2d(channels, filters, 3, 1, 1, bias=False), nn.BatchNorm2d(filters), nn.ReLU()
        )
        self.stages = nn.Sequential(
            stage(filters, filters, 1), stage(filters, 2 * filters, 2), stage(2 * filters, 4 * filters, 2)
        )
        self.fc = nn.Linear(4 * filters, classes)

    def forward(self, x):
        x = self.stages(self.stem(x))
        return self.fc(x.mean((2, 3)))


def build_model(kind, channels, h, w, classes):
    if kind in ("default", "small"):
        return Cnn(kind, channels, h, w, classes)
    if kind in ("resnet8", "resnet20"):
        return CifarResNet(1 if kind == "resnet8" else 3, channels, classes)
    if kind == "resnet18":
        import torchvision

        model = torchvision.models.resnet18(num_classes=classes)
        if channels != 3:
            model.conv1 = nn.Conv2d(channels, 64, 7, 2, 3, bias=False)
        return model
    raise SystemExit(f"unknown model {kind}")


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--device", default="cpu")
    p.add_argument("--model", default="default", choices=["default", "small", "resnet8", "resnet20", "resnet18"])
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--size", default="28x28")
    p.add_argument("--channels", type=int, default=1)
    p.add_argument("--train-steps", type=int, default=30)
    p.add_argument("--infer-batches", type=int, default=60)
    p.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0 = all cores)")
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    h, w = (int(v) for v in a.size.lower().split("x"))
    device = torch.device(a.device)
    torch.manual_seed(0)
    model = build_model(a.model, a.channels, h, w, 10).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    # Same input pipeline as selftrain: u8 pixels converted to f32 in [0, 1] on every step.
    pixels = torch.randint(0, 256, (a.batch_size, a.channels, h, w), dtype=torch.uint8)
    targets = torch.arange(a.batch_size) % 10
    loss_fn = nn.CrossEntropyLoss()

    def step():
        x = (pixels.to(device).float() / 255.0)
        y = targets.to(device)
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()  # selftrain reads the per-sample losses back every step too

    model.train()
    for _ in range(3):
        step()
    sync(device)
    t0 = time.perf_counter()
    for _ in range(a.train_steps):
        step()
    sync(device)
    train_s = time.perf_counter() - t0

    model.eval()
    with torch.no_grad():

        def infer():
            x = pixels.to(device).float() / 255.0
            return torch.softmax(model(x), 1).cpu()

        for _ in range(3):
            infer()
        sync(device)
        t0 = time.perf_counter()
        for _ in range(a.infer_batches):
            infer()
        sync(device)
        infer_s = time.perf_counter() - t0

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({
        "device": f"pytorch-{a.device}",
        "torch": torch.__version__,
        "model": a.model,
        "batch_size": a.batch_size,
        "shape": [a.channels, h, w],
        "threads": torch.get_num_threads(),
        "train_ms_per_step": train_s * 1000 / a.train_steps,
        "train_images_per_sec": a.train_steps * a.batch_size / train_s,
        "infer_ms_per_batch": infer_s * 1000 / a.infer_batches,
        "infer_images_per_sec": a.infer_batches * a.batch_size / infer_s,
        "peak_rss_mib": rss,
    }))


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", str(os.cpu_count()))
    main()
