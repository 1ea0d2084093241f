"""A warm instance's data: the splits it read and their partitions, kept between
invocations, and how much of an invocation went into loading them."""

from __future__ import annotations

import threading
import time

from . import mnist, partition, synthetic
from .task import PartitionSpec, Source, SyntheticSpec, Task


class DataCache:
    """The raw splits and partitions a client loaded, by location and spec."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._raw: dict[Source, mnist.Raw] = {}
        self._partitions: dict[tuple[Source, PartitionSpec], list[list[int]]] = {}
        self._devices: dict[tuple[SyntheticSpec, int], mnist.Dataset] = {}
        # Whether the shares since the last took() came from the cache, and how long
        # loading them took: the client reports loading apart from training.
        self._warm = True
        self._loading = 0.0

    def share(self, task: Task) -> mnist.Dataset:
        """The task's client's share of its training split."""
        with self._lock:
            began = time.monotonic()
            try:
                if task.data.synthetic.on():
                    return self._device(task.data.synthetic, task.client)
                src = task.data.train
                raw = self._raw.get(src)
                self._warm = raw is not None
                if raw is None:
                    raw = self._raw[src] = mnist.load_raw(src.images_url, src.labels_url)
                key = (src, task.data.partition)
                parts = self._partitions.get(key)
                if parts is None:
                    parts = self._partitions[key] = partition.split(raw.labels, task.data.partition)
                return raw.subset(parts[task.client])
            finally:
                self._loading += time.monotonic() - began

    def _device(self, spec: SyntheticSpec, k: int) -> mnist.Dataset:
        """A synthetic device's training part, generated on first use."""
        key = (spec, k)
        data = self._devices.get(key)
        self._warm = data is not None
        if data is None:
            data = self._devices[key] = synthetic.Generator(spec).device(k).train
        return data

    def took(self) -> tuple[bool, float]:
        """Whether the shares since the last call were warm, and the seconds loading
        them took; counting starts anew."""
        with self._lock:
            warm, loading = self._warm, self._loading
            self._warm, self._loading = True, 0.0
            return warm, loading
