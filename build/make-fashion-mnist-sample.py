#!/usr/bin/env python3
"""Regenerates the small Fashion-MNIST sample embedded in the convnet CLI.

Reads the full dataset (Debian's dataset-fashion-mnist, /usr/share/datasets/fashion-mnist, or the directory given as
the first argument) and writes, class-balanced and in the original order, the first TRAIN_PER_CLASS training images
of each class and the first TEST_PER_CLASS test images of each class as IDX .gz files with the standard names.
The gzip streams carry no file name and mtime 0, so the output is byte-for-byte reproducible.

usage: python3 build/make-fashion-mnist-sample.py [source-dir] [output-dir] [--train-per-class N] [--test-per-class N] [--raw]
  --train-per-class / --test-per-class: other slice sizes (build/gpu-bundle.sh takes a larger slice for the GPU run);
  --raw: write uncompressed IDX files (the GPU bundle's tar.xz compresses them better than gzip does).
"""
import argparse
import gzip
import os
import struct
import sys

TRAIN_PER_CLASS = 400  # 4,000 training images
TEST_PER_CLASS = 100   # 1,000 test images
CLASSES = 10

here = os.path.dirname(os.path.abspath(__file__))
parser = argparse.ArgumentParser(description="Class-balanced Fashion-MNIST slice as IDX files.")
parser.add_argument("source", nargs="?", default="/usr/share/datasets/fashion-mnist")
parser.add_argument("output", nargs="?", default=os.path.join(here, "..", "src", "ConvNet.Gpu.Cli", "Resources", "fashion-mnist-sample"))
parser.add_argument("--train-per-class", type=int, default=TRAIN_PER_CLASS)
parser.add_argument("--test-per-class", type=int, default=TEST_PER_CLASS)
parser.add_argument("--raw", action="store_true")
args = parser.parse_args()
source, output = args.source, args.output


def read_idx(path, expected_magic):
    opener = gzip.open if open(path, "rb").read(2) == b"\x1f\x8b" else open
    with opener(path, "rb") as f:
        data = f.read()
    magic = struct.unpack(">I", data[:4])[0]
    if magic != expected_magic:
        sys.exit(f"{path}: bad magic 0x{magic:08X}, expected 0x{expected_magic:08X}")
    rank = magic & 0xFF
    dims = struct.unpack(">" + "I" * rank, data[4:4 + 4 * rank])
    body = data[4 + 4 * rank:]
    size = 1
    for d in dims:
        size *= d
    if len(body) != size:
        sys.exit(f"{path}: expected {size} data bytes, found {len(body)}")
    return dims, body


def find(name):
    for candidate in (name + ".gz", name):
        path = os.path.join(source, candidate)
        if os.path.exists(path):
            return path
    sys.exit(f"{source}: missing {name}[.gz]")


def write_idx(path, magic, dims, body):
    header = struct.pack(">I" + "I" * len(dims), magic, *dims)
    if args.raw:
        with open(path[:-3] if path.endswith(".gz") else path, "wb") as f:
            f.write(header + body)
        return
    with open(path, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as f:
            f.write(header + body)


def sample(images_name, labels_name, per_class):
    (count, rows, cols), pixels = read_idx(find(images_name), 0x00000803)
    (label_count,), labels = read_idx(find(labels_name), 0x00000801)
    if count != label_count:
        sys.exit(f"image count {count} != label count {label_count}")
    taken = [0] * CLASSES
    keep = []
    for i, label in enumerate(labels):
        if taken[label] < per_class:
            taken[label] += 1
            keep.append(i)
        if len(keep) == per_class * CLASSES:
            break
    if len(keep) != per_class * CLASSES:
        sys.exit(f"{images_name}: not enough images per class ({taken})")
    size = rows * cols
    out_pixels = b"".join(pixels[i * size:(i + 1) * size] for i in keep)
    out_labels = bytes(labels[i] for i in keep)
    write_idx(os.path.join(output, images_name + ".gz"), 0x00000803, (len(keep), rows, cols), out_pixels)
    write_idx(os.path.join(output, labels_name + ".gz"), 0x00000801, (len(keep),), out_labels)
    print(f"{images_name}: kept {len(keep)} of {count} (first {per_class} per class, up to source index {keep[-1]})")


os.makedirs(output, exist_ok=True)
sample("train-images-idx3-ubyte", "train-labels-idx1-ubyte", args.train_per_class)
sample("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", args.test_per_class)
