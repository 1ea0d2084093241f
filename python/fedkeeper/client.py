"""A client function under protocol v1: ``Client(train).handle(params)``.

The client opens the signed request, reads the round's global model (from MongoDB,
or from the request when the keeper relays it), calls the user's ``train(task,
global_model)``, checks what it returns, applies the task's privacy (or, in tests of
robust strategies, its attack), stores the update (or returns it to the relay) and
answers the keeper's result, as the Go SDK's ``sdk.Client`` does.
"""

from __future__ import annotations

import threading
import time
import math
from dataclasses import dataclass, replace
from typing import Any, Callable, Optional, Sequence

import numpy as np

from . import attack, envelope, privacy
from .arch import Param, manifest, same_manifest
from .codec import decode, encode
from .data import DataCache
from .deployment import NO_STORE_MESSAGE, Deployment
from .envelope import KIND_CLIENT, Weights
from .errors import FedKeeperError, NoStore, TrainError
from .store import Store, UpdateToStore
from .task import Task


@dataclass
class Model:
    """The round's global model: its version, layout and flat float32 parameters (a
    copy of the client's own, which train may change in place)."""

    version: int
    manifest: list[Param]
    params: np.ndarray


@dataclass
class Update:
    """What training produced: parameters of the global model's layout (flat float32),
    the examples trained on (FedAvg's weight, > 0) and the training loss."""

    params: Any
    samples: int
    loss: float = 0.0


TrainFunc = Callable[[Task, Model], Update]

RESULT_FIELDS = ("experiment", "round", "client", "attempt", "base_version", "samples", "loss",
                 "train_seconds", "load_seconds", "warm_data", "seconds", "update", "update_sha256")


class Client:
    """Serves a train function under the client protocol. A warm instance keeps its
    data and its store connections between invocations; invocations run one at a time."""

    def __init__(self, train: TrainFunc, deployment: Optional[Deployment] = None) -> None:
        self.name = KIND_CLIENT
        self.train = train
        self._dep_error: Optional[FedKeeperError] = None
        if deployment is None:
            try:
                deployment = Deployment.load()
            except FedKeeperError as err:
                deployment, self._dep_error = Deployment(), err
        self.deployment = deployment
        self._data = DataCache()
        self._stores: dict[tuple[str, str, str, str], Store] = {}
        self._lock = threading.Lock()

    def handle(self, params: Any) -> dict:
        """The function's entry point: open the signed request (JSON text or a parsed
        object) and run it; the result dict, or a FedKeeperError saying why not."""
        if self._dep_error is not None:
            raise self._dep_error.with_context(self.name)
        try:
            req, task = envelope.open_raw(params, self.deployment.token_key, KIND_CLIENT)
        except FedKeeperError as err:
            raise err.with_context(self.name) from err
        return self.run(task, req.inline)

    def answer(self, params: Any) -> tuple[int, dict]:
        """handle's outcome as the platforms' adapters send it: 200 and the result, or
        500 and {"error": message}."""
        try:
            return 200, self.handle(params)
        except Exception as err:  # the function answers every failure, as Go's does
            return 500, {"error": str(err) or type(err).__name__}

    def run(self, task: Task, inline: Optional[Weights] = None) -> dict:
        """Run a task whose request the caller opened, from the inline or stored model."""
        try:
            task.validate(inline)
            layout = manifest(task.model.kind, task.model.hidden)
        except FedKeeperError as err:
            raise err.with_context(self.name) from err
        with self._lock:
            began = time.monotonic()
            try:
                global_model, store = self._global(task, layout, inline)
            except FedKeeperError as err:
                raise err.with_context(self.name) from err
            res: dict[str, Any] = {"experiment": task.experiment, "round": task.round, "client": task.client,
                                   "attempt": task.attempt, "base_version": task.base_version, "samples": 0,
                                   "loss": 0.0, "train_seconds": 0.0,
                                   "load_seconds": time.monotonic() - began, "warm_data": False, "seconds": 0.0}
            try:
                params, samples, loss = self._trained(task, global_model, res)
            except FedKeeperError as err:
                raise err.with_context(f"{self.name}: client {task.client}") from err
            try:
                self._report(task, layout, params, samples, loss, store, res)
            except FedKeeperError as err:
                raise err.with_context(self.name) from err
            res["seconds"] = time.monotonic() - began
            return res

    def close(self) -> None:
        """Close the store connections."""
        for store in self._stores.values():
            store.close()
        self._stores.clear()

    def _global(self, task: Task, layout: list[Param], inline: Optional[Weights]) -> tuple[Model, Optional[Store]]:
        """The global model, and the store to write the update to (None when relayed)."""
        if inline is not None:
            try:
                params = decode(inline.data, layout, inline.sha256)
            except FedKeeperError as err:
                raise err.with_context("inline global model") from err
            return Model(task.base_version, layout, params), None
        if not self.deployment.mongo_uri:
            raise NoStore(NO_STORE_MESSAGE)
        store = self._store(task)
        try:
            stored = store.get_global(task.experiment, task.base_version)
        except FedKeeperError as err:
            raise err.with_context("read the global model") from err
        if not same_manifest(layout, stored.layout):
            raise FedKeeperError(f"stored global v{task.base_version} is not a {task.model.kind} model")
        if task.base_sha256 and stored.doc.get("sha256") != task.base_sha256:
            raise FedKeeperError(f"read the global model: global v{task.base_version} is stored with checksum "
                                 f"{str(stored.doc.get('sha256'))[:16]}…, the task names {task.base_sha256[:16]}…")
        return Model(task.base_version, layout, stored.params), store

    def _store(self, task: Task) -> Store:
        dep = self.deployment
        key = (dep.mongo_uri, task.store.db, task.store.collection, dep.tensor_dir)
        store = self._stores.get(key)
        if store is None:
            store = self._stores[key] = Store(*key)
        return store

    def _trained(self, task: Task, global_model: Model, res: dict) -> tuple[np.ndarray, int, float]:
        """Run the user's training, check what it reports, and apply the task's
        attack or privacy to it."""
        start = global_model.params.copy()  # the training may change the client's copy
        self._data.took()  # count this invocation's loading only
        began = time.monotonic()
        try:
            up = self.train(replace(task, data_cache=self._data), global_model)
        except FedKeeperError:
            raise
        except Exception as err:
            raise TrainError(f"{type(err).__name__}: {err}" if str(err) else type(err).__name__) from err
        warm, loading = self._data.took()
        res["warm_data"], res["load_seconds"] = warm, res["load_seconds"] + loading
        res["train_seconds"] = max(0.0, time.monotonic() - began - loading)
        params, samples, loss = checked(up, len(start))
        # Seeded by the client's own training seed: the same attempt reports the same update.
        rng = np.random.Generator(np.random.PCG64DXSM(np.random.SeedSequence([task.train.seed, 0xD9])))
        if task.attack.on() and task.client in attack.malicious(task.attack, task.data.clients()):
            params = attack.apply(task.attack, start, params, rng)
        elif task.privacy.on():
            params, _ = privacy.apply(task.privacy, start, params, rng)
        return params, samples, loss

    def _report(self, task: Task, layout: Sequence[Param], params: np.ndarray, samples: int, loss: float,
                store: Optional[Store], res: dict) -> None:
        """Store the update, or for a relayed client put it into the result."""
        res["samples"], res["loss"] = samples, loss
        if store is None:
            data, checksum = encode(params)
            res["update"] = Weights(data, checksum).to_json()
            return
        # The checksum names the stored bytes: the keeper folds them without a lookup.
        res["update_sha256"] = store.put_update(UpdateToStore(
            experiment=task.experiment, round=task.round, client=task.client, attempt=task.attempt,
            base_version=task.base_version, samples=samples, loss=loss, layout=layout, params=params,
            accept_late=task.accept_late))


def checked(up: Any, count: int) -> tuple[np.ndarray, int, float]:
    """An update's flat float32 parameters, samples and loss, or why it is unusable."""
    if not isinstance(up, Update):
        raise TrainError(f"train returned a {type(up).__name__}, not a fedkeeper.Update")
    try:
        params = np.asarray(up.params, dtype=np.float32)
    except (TypeError, ValueError) as err:
        raise TrainError(f"the update's params are not float32 values: {err}") from err
    if params.ndim != 1:
        raise TrainError(f"the update's params have shape {params.shape}; give the flat vector of the global model")
    if len(params) != count:
        raise TrainError(f"the update has {len(params)} values, the global model {count}")
    samples = up.samples
    if isinstance(samples, (bool, float)) or not isinstance(samples, (int, np.integer)) or samples <= 0:
        raise TrainError(f"the update reports {samples!r} samples; FedAvg weighs updates by their samples")
    try:
        loss = float(up.loss)
    except (TypeError, ValueError) as err:
        raise TrainError(f"the update's loss {up.loss!r} is not a number") from err
    if not math.isfinite(loss):
        raise TrainError(f"the update's loss is {loss}: training diverged")
    return params, int(samples), loss
