"""Writes torchvision's ResNet-18 (random weights, random BatchNorm statistics) as a state_dict
(.pth), as .safetensors and as a whole pickled model, with an input batch and PyTorch's logits
for it, so that tests/torchvision_init.rs can check that selftrain computes the same logits.

Usage: python tests/torchvision_reference.py OUT_DIR
"""

import sys
from pathlib import Path

import torch
import torchvision
from safetensors.torch import save_file


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=10)
    # Random running statistics, so that loading them (not just the weights) is checked.
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.2, 0.2)
    model.eval()
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        logits = model(x)
    state = model.state_dict()
    torch.save(state, out / "resnet18.pth")
    save_file({k: v.contiguous() for k, v in state.items()}, str(out / "resnet18.safetensors"))
    torch.save(model, out / "resnet18-whole.pt")
    x.numpy().astype("<f4").tofile(out / "input.f32")
    logits.numpy().astype("<f4").tofile(out / "logits.f32")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
