"""MNIST as IDX files (plain or gzipped), from a path, file:// or http(s)://.

A split is kept as its 8-bit pixels (``Raw``); a client's share is converted to
float32 pixels in [0, 1] (byte / 255, as the Go SDK scales them).
"""

from __future__ import annotations

import gzip
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .errors import FedKeeperError

PIXELS = 28 * 28
CLASSES = 10
IMAGE_MAGIC = 0x00000803
LABEL_MAGIC = 0x00000801
# Bounds what a header may announce, so a corrupt file cannot claim gigabytes.
MAX_ITEMS = 1 << 20
# Bounds a file fetched over HTTP (the training images are 47 MB raw).
MAX_DOWNLOAD = 256 << 20


class DataError(FedKeeperError):
    """A split that cannot be fetched or parsed."""


@dataclass
class Dataset:
    """Examples: images (n, 784) float32 in [0, 1] and labels (n,) uint8."""

    images: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)


@dataclass
class Raw:
    """A split as stored: pixels (n, 784) uint8 and labels (n,) uint8."""

    pixels: np.ndarray
    labels: np.ndarray

    def subset(self, indices: Sequence[int]) -> Dataset:
        """The examples at indices, in that order, pixels scaled to [0, 1]."""
        idx = np.asarray(indices, dtype=np.int64)
        images = self.pixels[idx].astype(np.float32) / np.float32(255)
        return Dataset(images=images, labels=self.labels[idx].copy())


def _gunzip(data: bytes) -> bytes:
    if data[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(data)
        except (OSError, EOFError) as err:
            raise DataError(f"open IDX file: {err}") from err
    return data


def _header(data: bytes, words: int, what: str) -> list[int]:
    if len(data) < 4 * words:
        raise DataError(f"read {what} header: unexpected EOF")
    return [int.from_bytes(data[4 * i:4 * i + 4], "big", signed=True) for i in range(words)]


def parse_images(data: bytes) -> np.ndarray:
    """An IDX3 image file's pixels, (n, 784) uint8."""
    data = _gunzip(data)
    magic, n, rows, cols = _header(data, 4, "image")
    if magic != IMAGE_MAGIC:
        raise DataError(f"not an IDX image file (magic {magic:#x}, want {IMAGE_MAGIC:#x})")
    if rows * cols != PIXELS:
        raise DataError(f"images are {rows}x{cols}, want 28x28")
    if not 0 <= n <= MAX_ITEMS:
        raise DataError(f"image count {n} out of range")
    body = data[16:16 + n * PIXELS]
    if len(body) != n * PIXELS:
        raise DataError(f"read {n} images: unexpected EOF")
    return np.frombuffer(body, dtype=np.uint8).reshape(n, PIXELS)


def parse_labels(data: bytes) -> np.ndarray:
    """An IDX1 label file's labels, (n,) uint8, each a digit."""
    data = _gunzip(data)
    magic, n = _header(data, 2, "label")
    if magic != LABEL_MAGIC:
        raise DataError(f"not an IDX label file (magic {magic:#x}, want {LABEL_MAGIC:#x})")
    if not 0 <= n <= MAX_ITEMS:
        raise DataError(f"label count {n} out of range")
    labels = np.frombuffer(data[8:8 + n], dtype=np.uint8)
    if len(labels) != n:
        raise DataError(f"read {n} labels: unexpected EOF")
    bad = np.flatnonzero(labels >= CLASSES)
    if bad.size:
        raise DataError(f"label {labels[bad[0]]} of example {bad[0]} is not a digit")
    return labels


def parse_raw(images: bytes, labels: bytes) -> Raw:
    """A split from its image and label files' bytes."""
    pixels, ls = parse_images(images), parse_labels(labels)
    if len(ls) != len(pixels):
        raise DataError(f"{len(pixels)} images but {len(ls)} labels")
    return Raw(pixels, ls)


def fetch(location: str, timeout: float = 120) -> bytes:
    """The bytes at a local path, a file:// URL or an http(s):// URL."""
    if not location:
        raise DataError("no data location given")
    if location.startswith(("http://", "https://")):
        try:
            with urllib.request.urlopen(location, timeout=timeout) as resp:
                data = resp.read(MAX_DOWNLOAD + 1)
        except OSError as err:
            raise DataError(f"fetch {location}: {err}") from err
        if len(data) > MAX_DOWNLOAD:
            raise DataError(f"fetch {location}: larger than {MAX_DOWNLOAD} bytes")
        return data
    path = location
    if location.startswith("file://"):
        path = urllib.parse.unquote(urllib.parse.urlparse(location).path)
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as err:
        raise DataError(f"read data: {err}") from err


def load_raw(images_url: str, labels_url: str) -> Raw:
    """Fetch and parse a split."""
    images, labels = fetch(images_url), fetch(labels_url)
    try:
        return parse_raw(images, labels)
    except DataError as err:
        raise DataError(f"parse {images_url} and {labels_url}: {err}") from err
