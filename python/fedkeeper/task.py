"""The task of an fl_client request (protocol §3), decoded strictly and checked.

Every field is signed by the keeper, so a field the client does not know is refused
rather than ignored. The types mirror the Go SDK's ``sdk.Task`` field for field;
``Task.to_json`` writes the bytes Go's encoder writes for the same task.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional

from . import gojson, synthetic
from .errors import InvalidTask, Refused

if TYPE_CHECKING:  # pragma: no cover
    from .data import DataCache
    from .mnist import Dataset


@dataclass(frozen=True)
class ModelSpec:
    """The architecture: ``mlp`` (with its hidden width), ``cnn``, or ``mclr`` (for
    synthetic data)."""

    kind: str = ""
    hidden: int = 0

    @classmethod
    def decode(cls, obj: Any, path: str = "model") -> "ModelSpec":
        o = gojson.fields(obj, ("kind", "hidden"), path)
        return cls(gojson.string(o, "kind", path), gojson.integer(o, "hidden", path))

    def encode(self) -> dict:
        return _omit({"kind": self.kind, "hidden": self.hidden}, "hidden")


@dataclass(frozen=True)
class TrainOptions:
    """Local training settings: optimiser, learning rate, epochs, batch size, this
    client's shuffling seed for the round, and FedProx's μ."""

    optimizer: str = ""
    lr: float = 0.0
    epochs: int = 0
    batch_size: int = 0
    seed: int = 0
    proximal_mu: float = 0.0

    @classmethod
    def decode(cls, obj: Any, path: str = "train") -> "TrainOptions":
        o = gojson.fields(obj, ("optimizer", "lr", "epochs", "batch_size", "seed", "proximal_mu"), path)
        return cls(gojson.string(o, "optimizer", path), gojson.number(o, "lr", path),
                   gojson.integer(o, "epochs", path), gojson.integer(o, "batch_size", path),
                   gojson.integer(o, "seed", path, gojson.UINT64), gojson.number(o, "proximal_mu", path))

    def encode(self) -> dict:
        return _omit({"optimizer": self.optimizer, "lr": self.lr, "epochs": self.epochs,
                      "batch_size": self.batch_size, "seed": self.seed, "proximal_mu": self.proximal_mu},
                     "proximal_mu")


@dataclass(frozen=True)
class Source:
    """A training split's IDX files: file:// or http(s):// URLs (or paths), .gz allowed."""

    images_url: str = ""
    labels_url: str = ""

    @classmethod
    def decode(cls, obj: Any, path: str = "data.train") -> "Source":
        o = gojson.fields(obj, ("images_url", "labels_url"), path)
        return cls(gojson.string(o, "images_url", path), gojson.string(o, "labels_url", path))

    def encode(self) -> dict:
        return {"images_url": self.images_url, "labels_url": self.labels_url}


@dataclass(frozen=True)
class PartitionSpec:
    """How the split is divided among the clients (see partition.split)."""

    scheme: str = ""
    num_clients: int = 0
    shards_per_client: int = 0
    shard_size: int = 0
    seed: int = 0
    alpha: float = 0.0

    @classmethod
    def decode(cls, obj: Any, path: str = "data.partition") -> "PartitionSpec":
        o = gojson.fields(obj, ("scheme", "num_clients", "shards_per_client", "shard_size", "seed", "alpha"), path)
        return cls(gojson.string(o, "scheme", path), gojson.integer(o, "num_clients", path),
                   gojson.integer(o, "shards_per_client", path), gojson.integer(o, "shard_size", path),
                   gojson.integer(o, "seed", path, gojson.UINT64), gojson.number(o, "alpha", path))

    def encode(self) -> dict:
        return _omit({"scheme": self.scheme, "num_clients": self.num_clients,
                      "shards_per_client": self.shards_per_client, "shard_size": self.shard_size,
                      "seed": self.seed, "alpha": self.alpha}, "alpha")


@dataclass(frozen=True)
class SyntheticSpec:
    """The FedProx paper's synthetic data (protocol §3.1): Synthetic(alpha, beta), or
    with iid Synthetic-IID; devices (one per client) and the seed every draw comes from.
    The zero spec names none (MNIST)."""

    alpha: float = 0.0
    beta: float = 0.0
    iid: bool = False
    devices: int = 0
    seed: int = 0

    def on(self) -> bool:
        return self.devices > 0

    @classmethod
    def decode(cls, obj: Any, path: str = "data.synthetic") -> "SyntheticSpec":
        o = gojson.fields(obj, ("alpha", "beta", "iid", "devices", "seed"), path)
        return cls(gojson.number(o, "alpha", path), gojson.number(o, "beta", path), gojson.boolean(o, "iid", path),
                   gojson.integer(o, "devices", path), gojson.integer(o, "seed", path, gojson.UINT64))

    def encode(self) -> dict:
        return _omit({"alpha": self.alpha, "beta": self.beta, "iid": self.iid, "devices": self.devices,
                      "seed": self.seed}, "iid")


@dataclass(frozen=True)
class Data:
    """Where the training split is and how it is partitioned, or the synthetic data
    the client generates its device of (then train and partition are empty)."""

    train: Source = Source()
    partition: PartitionSpec = PartitionSpec()
    synthetic: SyntheticSpec = SyntheticSpec()

    @classmethod
    def decode(cls, obj: Any, path: str = "data") -> "Data":
        o = gojson.fields(obj, ("train", "partition", "synthetic"), path)
        return cls(Source.decode(o.get("train")), PartitionSpec.decode(o.get("partition")),
                   SyntheticSpec.decode(o.get("synthetic")))

    def encode(self) -> dict:
        """As Go writes it: each part only when it is not empty."""
        out: dict[str, Any] = {}
        if self.train != Source():
            out["train"] = self.train.encode()
        if self.partition != PartitionSpec():
            out["partition"] = self.partition.encode()
        if self.synthetic != SyntheticSpec():
            out["synthetic"] = self.synthetic.encode()
        return out

    def clients(self) -> int:
        """How many clients the data is divided among."""
        return self.synthetic.devices if self.synthetic.on() else self.partition.num_clients

    def problem(self) -> str:
        """Why the data cannot be loaded, or ""."""
        if not self.synthetic.on():
            if not self.train.images_url or not self.train.labels_url:
                return "data.train images_url and labels_url are required"
            return ""
        if self.train != Source() or self.partition != PartitionSpec():
            return "data.synthetic is generated: the task must name no training files and no partition"
        try:
            synthetic.validate(self.synthetic)
        except InvalidTask as err:
            return f"data.{err}"
        return ""


@dataclass(frozen=True)
class StoreSpec:
    """The database and collection of the weights; the address is the deployment's."""

    db: str = ""
    collection: str = ""

    @classmethod
    def decode(cls, obj: Any, path: str = "store") -> "StoreSpec":
        o = gojson.fields(obj, ("db", "collection"), path)
        return cls(gojson.string(o, "db", path), gojson.string(o, "collection", path))

    def encode(self) -> dict:
        return {"db": self.db, "collection": self.collection}


@dataclass(frozen=True)
class Privacy:
    """Local differential privacy: clip the change to an L2 norm, add noise σ·clip."""

    clip: float = 0.0
    noise_multiplier: float = 0.0
    delta: float = 0.0

    def on(self) -> bool:
        return self.clip > 0

    @classmethod
    def decode(cls, obj: Any, path: str = "privacy") -> "Privacy":
        o = gojson.fields(obj, ("clip", "noise_multiplier", "delta"), path)
        return cls(gojson.number(o, "clip", path), gojson.number(o, "noise_multiplier", path),
                   gojson.number(o, "delta", path))

    def encode(self) -> dict:
        return _omit({"clip": self.clip, "noise_multiplier": self.noise_multiplier, "delta": self.delta},
                     "clip", "noise_multiplier", "delta")


@dataclass(frozen=True)
class Attack:
    """A simulated attack, for tests of robust strategies: which clients (a seeded
    fraction) report a scaled, sign-flipped or random update."""

    kind: str = ""
    fraction: float = 0.0
    factor: float = 0.0
    seed: int = 0

    def on(self) -> bool:
        return self.kind != "" and self.fraction > 0

    @classmethod
    def decode(cls, obj: Any, path: str = "attack") -> "Attack":
        o = gojson.fields(obj, ("kind", "fraction", "factor", "seed"), path)
        return cls(gojson.string(o, "kind", path), gojson.number(o, "fraction", path),
                   gojson.number(o, "factor", path), gojson.integer(o, "seed", path, gojson.UINT64))

    def encode(self) -> dict:
        return _omit({"kind": self.kind, "fraction": self.fraction, "factor": self.factor, "seed": self.seed},
                     "kind", "fraction", "factor", "seed")


TASK_FIELDS = ("experiment", "round", "client", "attempt", "base_version", "base_sha256", "model", "train", "data",
               "store", "inline_sha256", "privacy", "attack", "accept_late")


@dataclass(frozen=True)
class Task:
    """One invocation's job. ``load_data()`` gives the client its share of the split."""

    experiment: str = ""
    round: int = 0
    client: int = 0
    attempt: int = 0
    base_version: int = 0
    # The checksum of global base_version, when the keeper names it: a stored version
    # of other content is refused.
    base_sha256: str = ""
    model: ModelSpec = ModelSpec()
    train: TrainOptions = TrainOptions()
    data: Data = Data()
    store: StoreSpec = StoreSpec()
    inline_sha256: str = ""
    privacy: Privacy = Privacy()
    attack: Attack = Attack()
    accept_late: bool = False
    # The serving client's data cache, behind load_data; not part of the task.
    data_cache: Optional["DataCache"] = field(default=None, repr=False, compare=False)

    @classmethod
    def from_json(cls, text: str) -> "Task":
        """Decode a task's JSON text strictly; Refused for anything Go would refuse."""
        try:
            obj = gojson.loads(text)
        except ValueError as err:
            raise Refused(f"{err}") from err
        return cls.decode(obj)

    @classmethod
    def decode(cls, obj: Any) -> "Task":
        o = gojson.fields(obj, TASK_FIELDS, "")
        return cls(
            experiment=gojson.string(o, "experiment", ""), round=gojson.integer(o, "round", ""),
            client=gojson.integer(o, "client", ""), attempt=gojson.integer(o, "attempt", ""),
            base_version=gojson.integer(o, "base_version", ""), base_sha256=gojson.string(o, "base_sha256", ""),
            model=ModelSpec.decode(o.get("model")),
            train=TrainOptions.decode(o.get("train")), data=Data.decode(o.get("data")),
            store=StoreSpec.decode(o.get("store")), inline_sha256=gojson.string(o, "inline_sha256", ""),
            privacy=Privacy.decode(o.get("privacy")), attack=Attack.decode(o.get("attack")),
            accept_late=gojson.boolean(o, "accept_late", ""))

    def encode(self) -> dict:
        """The task as Go marshals it: every field in order, empty optional ones left out."""
        out: dict[str, Any] = {"experiment": self.experiment, "round": self.round, "client": self.client,
                               "attempt": self.attempt, "base_version": self.base_version}
        if self.base_sha256:
            out["base_sha256"] = self.base_sha256
        out.update({"model": self.model.encode(), "train": self.train.encode(), "data": self.data.encode()})
        if self.store != StoreSpec():
            out["store"] = self.store.encode()
        if self.inline_sha256:
            out["inline_sha256"] = self.inline_sha256
        if self.privacy != Privacy():
            out["privacy"] = self.privacy.encode()
        if self.attack != Attack():
            out["attack"] = self.attack.encode()
        if self.accept_late:
            out["accept_late"] = True
        return out

    def to_json(self) -> str:
        """The task's JSON text, byte for byte what the keeper's Go encoder writes."""
        return gojson.dumps(self.encode())

    def load_data(self) -> "Dataset":
        """This client's share of the training split, read and partitioned, or the
        training part of its synthetic device, generated: on a warm instance's first use,
        and kept for later invocations. Synthetic examples are 60 features each (the
        Dataset's images are then (n, 60))."""
        if self.data_cache is None:
            raise InvalidTask("load_data is for tasks the SDK passes to a client's train function")
        return self.data_cache.share(self)

    def validate(self, inline: Any) -> None:
        """Check the task's values and that inline weights are exactly what it names."""
        problem = self._problem(inline)
        if problem:
            raise InvalidTask(problem)

    def _problem(self, inline: Any) -> str:
        n = self.data.clients()
        named, carried = self.inline_sha256, inline
        if not self.experiment:
            return "experiment is missing"
        if self.round < 1:
            return f"round must be at least 1, got {self.round}"
        if self.attempt < 1:
            return f"attempt must be at least 1, got {self.attempt}"
        if not 0 <= self.client < n:
            return f"client {self.client} is outside 0..{n - 1}"
        if self.base_version < 0:
            return f"base_version must not be negative, got {self.base_version}"
        if not named and carried is not None:
            return "the request carries weights its task does not name"
        if named and (carried is None or carried.sha256 != named):
            return "the task names inline weights the request does not carry"
        if not named and (not self.store.db or not self.store.collection):
            return "store db and collection are required (or inline weights)"
        return self.data.problem()


def _omit(obj: dict, *names: str) -> dict:
    """obj without the named fields whose value is empty (Go's omitempty)."""
    return {k: v for k, v in obj.items() if k not in names or v}
