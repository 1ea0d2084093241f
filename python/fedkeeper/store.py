"""The weight store as the Go keeper keeps it in MongoDB (protocol §4 and §5).

A client reads one global version and writes its own update, byte for byte as the Go
``weights`` package does: the bytes in the shared chunk collections, a collection of
their own, or a tensor file; then the update's description, with the precedence of
attempts; then the round's state, taking the update back when the round is closed. So
the keeper aggregates a Python client's update as any other, and a Python client reads
what the keeper wrote.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence, TypeVar

import numpy as np
import pymongo
from pymongo.errors import DuplicateKeyError, PyMongoError

from . import layout as lo
from .arch import Param, from_docs, num_params
from .codec import decode, encode
from .errors import (AttemptStored, Damaged, FedKeeperError, NotFound, RoundClosed, StoreError,
                     Superseded)
from .tensorfiles import TensorFiles

T = TypeVar("T")

# How often a replacement that lost a race with another writer is tried again.
MAX_REPLACE_RACES = 3
# Leaves out the (large) manifest when only a description's figures are needed.
INFO_PROJECTION = {"manifest": 0}


@dataclass
class StoredWeights:
    """A verified parameter vector and the description it was read by."""

    layout: list[Param]
    params: np.ndarray
    doc: dict


@dataclass(frozen=True)
class UpdateToStore:
    """A client's update for a round, as the store writes it."""

    experiment: str
    round: int
    client: int
    attempt: int
    base_version: int
    samples: int
    loss: float
    layout: Sequence[Param]
    params: np.ndarray
    # Store it even though the round is aggregated (semi-asynchronous rounds).
    accept_late: bool = False


class Store:
    """One weight store: a database's collection of global versions and its siblings."""

    def __init__(self, uri: str, db: str, collection: str, tensor_dir: str = "") -> None:
        if not db or not collection:
            raise StoreError("weights: database and collection names are required")
        self.prefix = collection
        self.tensors = TensorFiles(tensor_dir) if tensor_dir else None
        try:
            self.client: pymongo.MongoClient = pymongo.MongoClient(
                uri, serverSelectionTimeoutMS=15000, connectTimeoutMS=10000, appname="fedkeeper")
        except (PyMongoError, ValueError, TypeError) as err:
            raise StoreError(f"weights: connect to MongoDB at {redact(uri)}: {err}") from err
        try:
            self.client.admin.command("ping")
        except PyMongoError as err:
            self.client.close()
            raise StoreError(f"weights: MongoDB at {redact(uri)} does not answer: {err}") from err
        self.db = self.client[db]
        self.globals = self.db[collection]
        self.updates = self.db[collection + "_updates"]
        self.rounds = self.db[collection + "_rounds"]

    def close(self) -> None:
        self.client.close()

    def get_global(self, experiment: str, version: int) -> StoredWeights:
        """Read and verify a global version."""
        what = f"global v{version} of {experiment}"
        doc = mongo(f"weights: read {what}", self.globals.find_one, {"_id": lo.global_id(experiment, version)})
        if doc is None:
            raise NotFound(f"weights: not found: {what}")
        try:
            return self.read(doc)
        except FedKeeperError as err:
            raise err.with_context(what) from err

    def read(self, doc: dict) -> StoredWeights:
        """Load and verify the parameters a description points at."""
        try:
            layout = from_docs(doc["manifest"])
            checksum = str(doc["sha256"])
        except (KeyError, TypeError, ValueError) as err:
            raise Damaged(f"weights: damaged: description {doc.get('_id')!r} lacks {err}") from err
        return StoredWeights(layout, decode(self._read_bytes(doc), layout, checksum), doc)

    def put_update(self, u: UpdateToStore) -> str:
        """Store a client's update (protocol §5) and return its sha256. Refused, with the
        store as it was, when the round is closed, a later attempt's update is stored, or
        this attempt stored other content; the same content again is a no-op."""
        if num_params(u.layout) != len(u.params):
            raise StoreError(f"weights: update of client {u.client} has {len(u.params)} values, "
                             f"manifest needs {num_params(u.layout)}")
        data, checksum = encode(u.params)
        uid = lo.update_id(u.experiment, u.round, u.client)
        key, _ = lo.update_blob(self.prefix, u.experiment, u.round, u.client, u.attempt, checksum)
        try:
            where, blob = self._put_params_as(data, checksum, key)
        except FedKeeperError as err:
            raise err.with_context(f"store update {uid}") from err
        _UpdateWrite(self, describe_update(u, uid, len(u.params), checksum, blob, where), u.accept_late).commit()
        return checksum

    def round_closed(self, experiment: str, round_: int, client: int, late: bool) -> bool:
        """Whether a client's update of a round must be refused: a late one when an
        aggregation consumed this client's update, any other when the round is sealed."""
        doc = mongo(f"weights: read the state of {experiment} round {round_}", self.rounds.find_one,
                    {"_id": lo.round_id(experiment, round_)})
        if doc is None:
            return False
        if late:
            return client in (doc.get("consumed") or [])
        return bool(doc.get("sealed", False))

    # The bytes: a tensor file, a collection of their own, or chunks in a shared shard.

    def _put_params_as(self, data: bytes, checksum: str, key: str) -> tuple[str, str]:
        """Store bytes named after key; where they went and under what name."""
        if self.tensors is not None and len(data) > lo.OWN_COLLECTION_ABOVE:
            blob = lo.tensor_file_name(lo.blob_name(self.prefix, key), checksum)
            self.tensors.put(blob, data)
            return lo.WHERE_FILE, blob
        blob = lo.blob_name(self.prefix, key)
        self.put_blob(blob, data)
        return "", blob

    def _read_bytes(self, doc: dict) -> bytes:
        where, name = doc.get("where", "") or "", str(doc.get("blob", ""))
        if where == "":
            return self.get_blob(name, 4 * int(doc.get("count", 0)))
        if where == lo.WHERE_FILE:
            if self.tensors is None:
                raise StoreError(f"weights: {doc.get('_id')} is kept as a file in a tensor directory, and this "
                                 "function was deployed without one (FEDKEEPER_TENSOR_DIR)")
            return self.tensors.get(name)
        raise Damaged(f"weights: damaged: {doc.get('_id')} is stored in {where!r}, which this version does not know")

    def drop_params(self, doc: dict) -> None:
        """Remove the bytes a description points at."""
        where, name = doc.get("where", "") or "", str(doc.get("blob", ""))
        if where == "":
            self.drop_blob(name, 4 * int(doc.get("count", 0)))
        elif where == lo.WHERE_FILE:
            if self.tensors is None:
                raise StoreError(f"weights: cannot drop {doc.get('_id')}: no tensor directory given")
            self.tensors.drop(name)

    def put_blob(self, name: str, data: bytes) -> None:
        """Replace the bytes stored under name in MongoDB."""
        if len(data) > lo.OWN_COLLECTION_ABOVE:
            self._put_own_blob(name, data)
            return
        shard = self.db[lo.shard_of(self.prefix, name)]
        n = lo.chunk_count(len(data))
        for i in range(n):
            cid = lo.chunk_id(name, i)
            chunk = data[i * lo.CHUNK_SIZE:(i + 1) * lo.CHUNK_SIZE]
            mongo(f"weights: write {cid}", shard.replace_one, {"_id": cid}, {"_id": cid, "data": chunk}, upsert=True)
        # A replaced object that was longer leaves chunks behind; remove them.
        i = n
        while mongo(f"weights: write {name}", shard.delete_one, {"_id": lo.chunk_id(name, i)}).deleted_count:
            i += 1

    def get_blob(self, name: str, size: int) -> bytes:
        """The size bytes stored under name in MongoDB."""
        if size > lo.OWN_COLLECTION_ABOVE:
            return self._get_own_blob(name)
        shard = self.db[lo.shard_of(self.prefix, name)]
        parts = []
        for i in range(lo.chunk_count(size)):
            cid = lo.chunk_id(name, i)
            chunk = mongo(f"weights: read {cid}", shard.find_one, {"_id": cid})
            if chunk is None:
                if i == 0:  # earlier versions gave every object a collection of its own
                    return self._get_own_blob(name)
                raise Damaged(f"weights: damaged: chunk {i} of {name} missing")
            parts.append(bytes(chunk.get("data", b"")))
        return b"".join(parts)

    def drop_blob(self, name: str, size: int) -> None:
        """Remove the size bytes stored under name in MongoDB."""
        if size > lo.OWN_COLLECTION_ABOVE:
            mongo(f"weights: drop {name}", self.db.drop_collection, name)
            return
        shard = self.db[lo.shard_of(self.prefix, name)]
        for i in range(lo.chunk_count(size)):
            cid = lo.chunk_id(name, i)
            mongo(f"weights: drop {cid}", shard.delete_one, {"_id": cid})

    def _put_own_blob(self, name: str, data: bytes) -> None:
        """Replace a large object's collection, unless it holds exactly data already
        (dropping it would pull the bytes from under a reader of the same content)."""
        coll = self.db[name]
        n = lo.chunk_count(len(data))
        try:
            if coll.count_documents({}) == n and self._get_own_blob(name) == data:
                return
        except (PyMongoError, FedKeeperError):
            pass
        mongo(f"weights: clear {name}", coll.drop)
        for i in range(n):
            chunk = data[i * lo.CHUNK_SIZE:(i + 1) * lo.CHUNK_SIZE]
            mongo(f"weights: write {name}", coll.insert_one, {"_id": i, "data": chunk})

    def _get_own_blob(self, name: str) -> bytes:
        """An object kept in a collection of its own, chunks 0, 1, … in order."""
        parts, expected = [], 0
        try:
            for chunk in self.db[name].find({}).sort("_id", 1).batch_size(1):
                if chunk.get("_id") != expected:
                    raise Damaged(f"weights: damaged: chunk {expected} of {name} missing")
                parts.append(bytes(chunk.get("data", b"")))
                expected += 1
        except PyMongoError as err:
            raise StoreError(f"weights: read {name}: {err}") from err
        if expected == 0:
            raise Damaged(f"weights: damaged: no bytes stored for {name}")
        return b"".join(parts)


def describe_update(u: UpdateToStore, uid: str, count: int, checksum: str, blob: str, where: str) -> dict:
    """An update's description, field for field (and empty field for empty field, as
    Go's omitempty leaves them out) what the Go store writes."""
    doc: dict[str, Any] = {"_id": uid, "experiment": u.experiment, "round": u.round}
    if u.client:
        doc["client"] = u.client
    doc["attempt"] = u.attempt
    if u.base_version:
        doc["base_version"] = u.base_version
    doc["samples"] = int(u.samples)
    if u.loss:
        doc["loss"] = float(u.loss)
    doc.update(manifest=[p.to_json() for p in u.layout], dtype="float32", count=count, sha256=checksum, blob=blob)
    if where:
        doc["where"] = where
    now = datetime.datetime.now(datetime.timezone.utc)
    doc["created"] = now.replace(microsecond=now.microsecond // 1000 * 1000)
    return doc


class _UpdateWrite:
    """One put_update after its bytes are stored: the description, then the round's
    state, undoing what it wrote when the round turns out closed."""

    def __init__(self, store: Store, doc: dict, late: bool) -> None:
        self.store, self.doc, self.late = store, doc, late
        self.replaced: Optional[dict] = None  # the earlier attempt's description replaced
        self.noop = False  # the same content was stored already

    def commit(self) -> None:
        self._describe()
        d = self.doc
        if self.store.round_closed(d["experiment"], d["round"], d.get("client", 0), self.late):
            self._undo()
        if self.replaced is not None and not same_bytes(self.replaced, d):
            try:  # the new attempt is stored; a leftover would only cost space
                self.store.drop_params(self.replaced)
            except FedKeeperError:
                pass

    def _describe(self) -> None:
        """Insert the description, or replace an earlier attempt's."""
        try:
            self.store.updates.insert_one(dict(self.doc))
            return
        except DuplicateKeyError:
            pass
        except PyMongoError as err:
            raise StoreError(f"weights: store update {self.doc['_id']}: {err}") from err
        for _ in range(MAX_REPLACE_RACES):
            if self._replace():
                return
        raise StoreError(f"weights: store update {self.doc['_id']}: other writers kept replacing it")

    def _replace(self) -> bool:
        """Compare the stored description with this one and replace it when it is an
        earlier attempt's; False when another writer changed it meanwhile."""
        d, what = self.doc, f"weights: store update {self.doc['_id']}"
        old = mongo(what, self.store.updates.find_one, {"_id": d["_id"]}, INFO_PROJECTION)
        if old is None:  # deleted meanwhile (a round's clean-up, or a race with a delete)
            try:
                self.store.updates.insert_one(dict(d))
                return True
            except DuplicateKeyError:
                return False
            except PyMongoError as err:
                raise StoreError(f"{what}: {err}") from err
        old_attempt = int(old.get("attempt", 0) or 0)
        if old_attempt > d["attempt"]:
            self._drop_own(old)
            raise Superseded(f"weights: a later attempt's update is stored: {d['_id']} has attempt "
                             f"{old_attempt}, this is attempt {d['attempt']}")
        if old_attempt == d["attempt"] and old.get("sha256") == d["sha256"]:
            self.noop = True
            return True
        if old_attempt == d["attempt"]:
            self._drop_own(old)
            raise AttemptStored(f"weights: this attempt's update is already stored with other content: "
                                f"{d['_id']} attempt {d['attempt']}")
        if mongo(what, self.store.updates.replace_one, describing(old), dict(d)).matched_count == 0:
            return False
        self.replaced = old
        return True

    def _undo(self) -> None:
        """Take back what this write did to a closed round, and refuse the update. A
        replacement stays (an aggregation may be reading either attempt's bytes)."""
        d = self.doc
        refused = f"weights: the round is already aggregated: {d['experiment']} round {d['round']}"
        if self.noop or self.replaced is not None:
            raise RoundClosed(refused)
        try:
            mongo(f"weights: store update {d['_id']}", self.store.updates.delete_one, describing(d))
            self.store.drop_params(d)
        except FedKeeperError as err:
            raise RoundClosed(f"{refused}\n{err}") from err
        raise RoundClosed(refused)

    def _drop_own(self, stored: dict) -> None:
        """Remove this write's bytes after it was refused, unless they are stored's."""
        if not same_bytes(stored, self.doc):
            try:
                self.store.drop_params(self.doc)
            except FedKeeperError:
                pass


def describing(d: dict) -> dict:
    """A filter matching the description d as read or written, and no other attempt's
    or content's; descriptions of earlier versions have no attempt field."""
    attempt = int(d.get("attempt", 0) or 0)
    f: dict[str, Any] = {"_id": d["_id"], "sha256": d.get("sha256")}
    if attempt == 0:
        f["$or"] = [{"attempt": 0}, {"attempt": {"$exists": False}}]
    else:
        f["attempt"] = attempt
    return f


def same_bytes(a: dict, b: dict) -> bool:
    """Whether two descriptions point at the same stored bytes."""
    return (a.get("where", "") or "") == (b.get("where", "") or "") and a.get("blob") == b.get("blob")


def mongo(what: str, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """call's result, a MongoDB failure raised as a StoreError saying what failed."""
    try:
        return call(*args, **kwargs)
    except PyMongoError as err:
        raise StoreError(f"{what}: {err}") from err


def redact(uri: str) -> str:
    """A MongoDB URI without its secrets: the user's password, and options carrying one."""
    base, has_query, query = uri.partition("?")
    scheme, sep, rest = base.partition("://")
    if sep and "@" in rest:
        at = rest.rindex("@")
        user = rest[:at].partition(":")[0]
        base = f"{scheme}://{user}:***@{rest[at + 1:]}"
    if not has_query:
        return base
    opts = []
    for opt in query.split("&"):
        name = opt.partition("=")[0]
        lower = name.lower()
        secret = any(w in lower for w in ("password", "secret", "token")) or lower == "authmechanismproperties"
        opts.append(name + "=***" if secret else opt)
    return base + "?" + "&".join(opts)
