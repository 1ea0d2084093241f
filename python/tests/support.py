"""Shared helpers of the tests: the protocol's vectors, small IDX files, signed
requests, and the embedded store (FerretDB, served by a Go helper)."""

from __future__ import annotations

import dataclasses
import gzip
import json
import os
import shutil
import subprocess
import tempfile
import time
from typing import Any, Optional

import numpy as np

from fedkeeper import envelope
from fedkeeper.task import Data, ModelSpec, PartitionSpec, Source, StoreSpec, Task, TrainOptions

PYTHON_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(PYTHON_DIR)
VECTORS = os.path.join(REPO, "testdata", "protocol")
KEY = "python-test-key"
MONGO_URI_ENV = "FEDKEEPER_TEST_MONGO_URI"


def vector(name: str) -> Any:
    """A shared test vector file of testdata/protocol, parsed."""
    with open(os.path.join(VECTORS, name), encoding="utf-8") as f:
        return json.load(f)


def write_idx(folder: str, n: int, seed: int = 0, gz: bool = True) -> Source:
    """An IDX image and label file of n random examples; their file:// Source."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, size=(n, 784), dtype=np.uint8)
    labels = (np.arange(n) * 7 % 10).astype(np.uint8)
    images = (0x803).to_bytes(4, "big") + n.to_bytes(4, "big") + (28).to_bytes(4, "big") * 2 + pixels.tobytes()
    label_file = (0x801).to_bytes(4, "big") + n.to_bytes(4, "big") + labels.tobytes()
    ext = ".gz" if gz else ""
    paths = []
    for name, body in (("images-idx3-ubyte", images), ("labels-idx1-ubyte", label_file)):
        path = os.path.join(folder, name + ext)
        with open(path, "wb") as f:
            f.write(gzip.compress(body) if gz else body)
        paths.append("file://" + path)
    return Source(paths[0], paths[1])


def a_task(source: Source, **changes: Any) -> Task:
    """A small MLP task of client 1 of 4 (20 examples each), stored in db t."""
    base = Task(experiment="e", round=1, client=1, attempt=1, base_version=0, model=ModelSpec("mlp", 2),
                train=TrainOptions(optimizer="sgd", lr=0.1, epochs=1, batch_size=10, seed=3),
                data=Data(source, PartitionSpec("iid", 4, 1, 20, 1)), store=StoreSpec("t", "w"))
    return dataclasses.replace(base, **changes)


def request(task: Task, key: str = KEY, expires: Optional[int] = None, inline: Optional[envelope.Weights] = None) -> dict:
    """The keeper's signed request for task, as JSON would carry it."""
    exp = int(time.time()) + 3600 if expires is None else expires
    return envelope.seal(key, envelope.KIND_CLIENT, task, exp, inline).to_json()


class MongoServer:
    """The embedded store: the URI in $FEDKEEPER_TEST_MONGO_URI (the Go test that runs
    these tests starts one), else one served by `go run ./python/tests/ferretdb`."""

    def __init__(self) -> None:
        self.proc: Optional[subprocess.Popen] = None
        self.uri = os.environ.get(MONGO_URI_ENV, "")
        if self.uri:
            return
        go = shutil.which("go")
        if go is None:
            raise RuntimeError(f"the store tests need MongoDB: set {MONGO_URI_ENV}, or put Go on PATH to serve "
                               "the embedded FerretDB (go run ./python/tests/ferretdb)")
        self.proc = subprocess.Popen([go, "run", "./python/tests/ferretdb"], cwd=REPO, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().strip() if self.proc.stdout else ""
        if not line.startswith("mongodb://"):
            self.stop()
            raise RuntimeError(f"the embedded FerretDB did not start (it printed {line!r})")
        self.uri = line

    def stop(self) -> None:
        if self.proc is not None:
            if self.proc.stdin:
                self.proc.stdin.close()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            if self.proc.stdout:
                self.proc.stdout.close()
            self.proc = None


def temp_dir(case: Any) -> str:
    """A temporary folder removed after the test case."""
    folder = tempfile.mkdtemp(prefix="fk-pysdk-")
    case.addCleanup(shutil.rmtree, folder, True)
    return folder
