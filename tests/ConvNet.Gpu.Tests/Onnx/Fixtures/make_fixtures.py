#!/usr/bin/python3
"""Regenerates the PyTorch-exported ONNX fixtures of the import tests (tests/ConvNet.Gpu.Tests/Onnx/Fixtures).

Run with Debian's Python and PyTorch (apt-get install python3-torch; written against torch 1.13):

    /usr/bin/python3 tests/ConvNet.Gpu.Tests/Onnx/Fixtures/make_fixtures.py

For each model it writes NAME.onnx (torch.onnx.export, opset 17, eval mode, static shapes) and NAME.json, the
reference: a fixed random input batch and PyTorch's output for it, both float32 values as exact decimal strings of
the float32 numbers. Everything is seeded, so a rerun gives the same models and the same references.

  lenet5          the modern LeNet-5 (conv 6@5x5 pad 2, ReLU, max-pool, conv 16@5x5, ReLU, max-pool, 120-84-10).
  resnet_preact   a small pre-activation ResNet (He et al. 2016) with BatchNorm for 1x28x28 images, trained for one
                  epoch on the Fashion-MNIST sample embedded in the CLI (src/ConvNet.Gpu.Cli/Resources), so the
                  import test fine-tunes a trained model. PyTorch folds a BatchNorm that directly follows a
                  convolution into it when exporting in eval mode; the pre-activation BatchNorms (after the stem,
                  after an Add) stay BatchNormalization nodes. The JSON also holds the normalization and the
                  sample's test accuracy.
  unet_small      an encoder-decoder with ConvTranspose2d (output padding), nn.Upsample (Resize nearest) and
                  torch.cat skip connections (Concat).
  ops_sampler     what the other three do not use: average pooling with ceil mode and count_include_pad False,
                  max pooling with ceil mode, an asymmetric F.pad before a convolution (a Pad node), grouped and
                  dilated convolutions, LeakyReLU, ELU, Tanh, Sigmoid, x.view(n, -1) (Constant + Reshape),
                  x @ W + b (MatMul + Add) and Softmax.
  bad_dynamic_batch   a small convolution exported with a dynamic batch axis (must be rejected by default).
  bad_unsupported_op  a convolution followed by GELU, which opset 17 writes with Erf (must be rejected).
"""
import gzip
import json
import os
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", "..", ".."))
SAMPLE = os.path.join(REPO, "src", "ConvNet.Gpu.Cli", "Resources", "fashion-mnist-sample")
OPSET = 17


class LeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(400, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


class PreActBlock(nn.Module):
    """BN-ReLU-conv-BN-ReLU-conv plus the skip (a strided 1x1 conv of the pre-activated input when the shape changes)."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.shortcut = nn.Conv2d(cin, cout, 1, stride=stride, bias=False) if stride != 1 or cin != cout else None

    def forward(self, x):
        out = F.relu(self.bn1(x))
        skip = self.shortcut(out) if self.shortcut is not None else x
        out = self.conv1(out)
        out = self.conv2(F.relu(self.bn2(out)))
        return out + skip


class ResNetPreAct(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 8, 3, padding=1, bias=False)
        self.block1 = PreActBlock(8, 8, 1)
        self.block2 = PreActBlock(8, 16, 2)
        self.bn = nn.BatchNorm2d(16)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.block2(self.block1(self.stem(x)))
        x = F.adaptive_avg_pool2d(F.relu(self.bn(x)), 1)
        return self.fc(torch.flatten(x, 1))


class UNetSmall(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc1 = nn.Conv2d(1, 4, 3, padding=1)
        self.enc2 = nn.Conv2d(4, 8, 3, padding=1)
        self.up = nn.ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1)
        self.dec1 = nn.Conv2d(8, 4, 3, padding=1)
        self.side = nn.Conv2d(8, 2, 1)
        self.upsample = nn.Upsample(scale_factor=2, mode="nearest")
        self.head = nn.Conv2d(6, 2, 1)

    def forward(self, x):
        e1 = F.relu(self.enc1(x))                              # 4 x 16 x 16
        e2 = F.relu(self.enc2(F.max_pool2d(e1, 2)))            # 8 x 8 x 8
        d1 = F.relu(self.dec1(torch.cat([self.up(e2), e1], 1)))  # 4 x 16 x 16
        side = self.upsample(self.side(e2))                    # 2 x 16 x 16
        return torch.sigmoid(self.head(torch.cat([d1, side], 1)))


class OpsSampler(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv_pad = nn.Conv2d(2, 4, 3, stride=2)
        self.conv_group = nn.Conv2d(4, 6, 3, padding=1, groups=2)
        self.conv_dilated = nn.Conv2d(6, 6, 3, padding=2, dilation=2, bias=False)
        self.weight = nn.Parameter(torch.randn(24, 5) * 0.3)
        self.bias = nn.Parameter(torch.randn(5) * 0.1)

    def forward(self, x):                                      # 2 x 13 x 13
        x = F.leaky_relu(self.conv_pad(F.pad(x, (0, 1, 0, 1))), 0.2)  # pad right/bottom (TF "same"): 4 x 6 x 6
        x = F.avg_pool2d(x, 3, 2, padding=1, ceil_mode=True, count_include_pad=False)  # 4 x 4 x 4
        x = F.elu(self.conv_group(x), 0.5)                     # 6 x 4 x 4
        x = torch.tanh(self.conv_dilated(x))                   # 6 x 4 x 4
        x = F.max_pool2d(x, 3, 2, ceil_mode=True)              # 6 x 2 x 2
        x = torch.sigmoid(x).view(x.size(0), -1)               # 24
        return F.softmax(x @ self.weight + self.bias, dim=1)


def read_idx(name):
    with gzip.open(os.path.join(SAMPLE, name), "rb") as f:
        data = f.read()
    magic, count = struct.unpack(">II", data[:8])
    if magic == 0x803:
        rows, cols = struct.unpack(">II", data[8:16])
        return torch.frombuffer(bytearray(data[16:]), dtype=torch.uint8).reshape(count, 1, rows, cols).float() / 255.0
    return torch.frombuffer(bytearray(data[8:]), dtype=torch.uint8).long()


def train_one_epoch(model, images, labels):
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    model.train()
    order = torch.randperm(len(images))
    for start in range(0, len(images), 50):
        idx = order[start:start + 50]
        opt.zero_grad()
        loss = F.cross_entropy(model(images[idx]), labels[idx])
        loss.backward()
        opt.step()
    model.eval()


def randomize_batchnorm(model):
    # Untrained running statistics are 0 and 1; give them values that a wrong import would not survive.
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.3, 0.3)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.3, 0.3)


def floats(t):
    return [repr(float(v)) for v in t.detach().reshape(-1).tolist()]


def export(name, model, example, extra=None, dynamic_batch=False):
    model.eval()
    path = os.path.join(HERE, name + ".onnx")
    kwargs = {"dynamic_axes": {"input": {0: "batch"}, "output": {0: "batch"}}} if dynamic_batch else {}
    torch.onnx.export(model, example, path, opset_version=OPSET, input_names=["input"], output_names=["output"],
                      do_constant_folding=True, **kwargs)
    if name.startswith("bad_"):
        print(f"wrote {path}")
        return
    with torch.no_grad():
        output = model(example)
    reference = {
        "producer": f"torch {torch.__version__}",
        "opset": OPSET,
        "input_shape": list(example.shape),
        "input": floats(example),
        "output_shape": list(output.shape),
        "output": floats(output),
    }
    reference.update(extra or {})
    with open(os.path.join(HERE, name + ".json"), "w") as f:
        json.dump(reference, f, indent=1)
        f.write("\n")
    print(f"wrote {path} and {name}.json")


def main():
    torch.manual_seed(17)
    torch.set_num_threads(2)

    export("lenet5", LeNet5(), torch.randn(2, 1, 28, 28))

    train_x, train_y = read_idx("train-images-idx3-ubyte.gz"), read_idx("train-labels-idx1-ubyte.gz")
    test_x, test_y = read_idx("t10k-images-idx3-ubyte.gz"), read_idx("t10k-labels-idx1-ubyte.gz")
    mean, std = float(train_x.mean()), float(train_x.std(unbiased=False))
    resnet = ResNetPreAct()
    train_one_epoch(resnet, (train_x - mean) / std, train_y)
    with torch.no_grad():
        accuracy = float((resnet((test_x - mean) / std).argmax(1) == test_y).float().mean())
    export("resnet_preact", resnet, (test_x[:3] - mean) / std,
           {"normalization_mean": repr(mean), "normalization_std": repr(std), "sample_test_accuracy": accuracy})

    unet = UNetSmall()
    export("unet_small", unet, torch.randn(2, 1, 16, 16))

    sampler = OpsSampler()
    export("ops_sampler", sampler, torch.randn(3, 2, 13, 13))

    export("bad_dynamic_batch", nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU()), torch.randn(1, 1, 6, 6), dynamic_batch=True)
    export("bad_unsupported_op", nn.Sequential(nn.Conv2d(1, 2, 3), nn.GELU()), torch.randn(1, 1, 6, 6))
    return 0


if __name__ == "__main__":
    sys.exit(main())
