"""The weight store against a real MongoDB wire server (the embedded FerretDB), with
pymongo: global versions read from every place, updates written as the Go store
writes them, the precedence of attempts, closed rounds, and the client end to end."""

from __future__ import annotations

import dataclasses
import datetime
import os
import unittest
import uuid

import numpy as np

from fedkeeper import Client, Deployment, Model, Task, Update, arch, codec, layout
from fedkeeper.errors import AttemptStored, Damaged, FedKeeperError, NotFound, RoundClosed, Superseded
from fedkeeper.store import Store, UpdateToStore
from fedkeeper.task import ModelSpec, StoreSpec

from .support import KEY, MongoServer, a_task, request, temp_dir, write_idx

SERVER: MongoServer | None = None


def setUpModule() -> None:
    global SERVER
    SERVER = MongoServer()


def tearDownModule() -> None:
    if SERVER is not None:
        SERVER.stop()


def put_global(store: Store, experiment: str, version: int, layout_: list, params: np.ndarray) -> dict:
    """A global version as the keeper's PutGlobal writes it (a fixture; Go-written ones
    are read in python/interop)."""
    data, checksum = codec.encode(params)
    gid = layout.global_id(experiment, version)
    where, blob = store._put_params_as(data, checksum, gid)  # named after its id, as Go names globals
    if where == layout.WHERE_FILE:
        blob = layout.tensor_file_name(layout.blob_name(store.prefix, gid), checksum)
    doc = {"_id": gid, "experiment": experiment, "round": version, "attempt": 0, "samples": 0,
           "manifest": [p.to_json() for p in layout_], "dtype": "float32", "count": len(params),
           "sha256": checksum, "blob": blob, "created": datetime.datetime.now(datetime.timezone.utc)}
    if version:  # Go leaves a zero version out
        doc = {"_id": gid, "experiment": experiment, "version": version,
               **{k: v for k, v in doc.items() if k not in ("_id", "experiment")}}
    if where:
        doc["where"] = where
    store.globals.insert_one(doc)
    return doc


class StoreCase(unittest.TestCase):
    def setUp(self) -> None:
        assert SERVER is not None
        self.uri = SERVER.uri
        self.db = "t" + uuid.uuid4().hex[:12]
        self.tensor_dir = os.path.join(temp_dir(self), "tensors")

    def store(self, tensors: bool = False) -> Store:
        s = Store(self.uri, self.db, "w", self.tensor_dir if tensors else "")
        self.addCleanup(s.close)
        return s

    def update(self, layout_: list, params: np.ndarray, **changes: object) -> UpdateToStore:
        base = UpdateToStore(experiment="e", round=1, client=0, attempt=1, base_version=0, samples=20,
                             loss=0.0, layout=layout_, params=params)
        return dataclasses.replace(base, **changes)


class Globals(StoreCase):
    def test_each_place(self) -> None:
        for name, hidden, tensors, where in (("shard", 2, False, ""), ("own", 100, False, ""),
                                             ("file", 100, True, "file")):
            with self.subTest(name):
                s = self.store(tensors)
                lay = arch.manifest("mlp", hidden)
                v = arch.init_params(lay, 7)
                doc = put_global(s, name, 1, lay, v)
                self.assertEqual(doc.get("where", ""), where)
                got = s.get_global(name, 1)
                np.testing.assert_array_equal(got.params, v)
                self.assertTrue(arch.same_manifest(got.layout, lay))
        own = layout.blob_name("w", "own/v1")
        self.assertIn(own, self.store().db.list_collection_names())

    def test_damage_is_refused(self) -> None:
        s = self.store()
        lay = arch.manifest("mlp", 2)
        doc = put_global(s, "e", 0, lay, arch.init_params(lay, 7))
        with self.assertRaisesRegex(NotFound, "global v3 of e"):
            s.get_global("e", 3)
        shard = s.db[layout.shard_of("w", doc["blob"])]
        shard.update_one({"_id": layout.chunk_id(doc["blob"], 0)}, {"$set": {"data": b"\0" * 6400}})
        with self.assertRaisesRegex(Damaged, "global v0 of e: weights: damaged: checksum mismatch"):
            s.get_global("e", 0)
        shard.delete_one({"_id": layout.chunk_id(doc["blob"], 0)})
        with self.assertRaisesRegex(Damaged, "no bytes stored"):
            s.get_global("e", 0)
        nan = np.full(arch.num_params(lay), np.nan, dtype=np.float32)
        put_global(s, "nan", 0, lay, nan)
        with self.assertRaisesRegex(Damaged, "value 0 is nan"):
            s.get_global("nan", 0)

    def test_a_file_without_a_tensor_directory(self) -> None:
        lay = arch.manifest("mlp", 100)
        put_global(self.store(tensors=True), "e", 0, lay, arch.init_params(lay, 1))
        with self.assertRaisesRegex(FedKeeperError, "FEDKEEPER_TENSOR_DIR"):
            self.store().get_global("e", 0)


class Updates(StoreCase):
    def test_the_description_is_the_go_stores(self) -> None:
        s = self.store()
        lay = arch.manifest("mlp", 2)
        v = arch.init_params(lay, 3)
        reported = s.put_update(self.update(lay, v, loss=0.25, base_version=0))
        doc = s.updates.find_one({"_id": "e/r1/c0"})
        data, checksum = codec.encode(v)
        self.assertEqual(reported, checksum)  # the client's answer names the bytes with it
        self.assertEqual(list(doc), ["_id", "experiment", "round", "attempt", "samples", "loss", "manifest", "dtype",
                                     "count", "sha256", "blob", "created"])  # no client 0, no base version 0
        self.assertEqual(doc["blob"], layout.update_blob("w", "e", 1, 0, 1, checksum)[1])
        self.assertEqual((doc["count"], doc["sha256"], doc["dtype"]), (len(v), checksum, "float32"))
        np.testing.assert_array_equal(s.read(doc).params, v)

    def test_large_updates_in_their_collection_or_a_file(self) -> None:
        lay = arch.manifest("mlp", 100)
        v = arch.init_params(lay, 3)
        for tensors in (False, True):
            with self.subTest(tensors=tensors):
                s = self.store(tensors)
                s.put_update(self.update(lay, v, client=int(tensors) + 1, base_version=2))
                doc = s.updates.find_one({"_id": f"e/r1/c{int(tensors) + 1}"})
                self.assertEqual(doc.get("where", ""), "file" if tensors else "")
                np.testing.assert_array_equal(s.read(doc).params, v)
                if tensors:
                    self.assertEqual(os.listdir(self.tensor_dir), [doc["blob"]])  # no temporary left
                else:
                    self.assertIn(doc["blob"], s.db.list_collection_names())

    def test_attempts_take_precedence(self) -> None:
        s = self.store()
        lay = arch.manifest("mlp", 2)
        v = arch.init_params(lay, 3)
        s.put_update(self.update(lay, v, attempt=2))
        s.put_update(self.update(lay, v, attempt=2))  # a retried write: nothing changes
        with self.assertRaisesRegex(Superseded, "has attempt 2, this is attempt 1"):
            s.put_update(self.update(lay, v + 1, attempt=1))
        with self.assertRaisesRegex(AttemptStored, "attempt 2"):
            s.put_update(self.update(lay, v + 2, attempt=2))
        self.assertEqual(self.chunks(s), 1)  # the refused writes took their bytes back
        s.put_update(self.update(lay, v + 3, attempt=3))
        doc = s.updates.find_one({"_id": "e/r1/c0"})
        self.assertEqual(doc["attempt"], 3)
        np.testing.assert_array_equal(s.read(doc).params, v + 3)
        self.assertEqual(self.chunks(s), 1)  # the replaced attempt's bytes are dropped

    def test_closed_rounds_refuse_and_take_the_update_back(self) -> None:
        s = self.store()
        lay = arch.manifest("mlp", 2)
        v = arch.init_params(lay, 3)
        s.rounds.insert_one({"_id": "e/r1", "experiment": "e", "round": 1, "sealed": True, "consumed": [4]})
        with self.assertRaisesRegex(RoundClosed, "the round is already aggregated: e round 1"):
            s.put_update(self.update(lay, v))
        self.assertIsNone(s.updates.find_one({"_id": "e/r1/c0"}))
        self.assertEqual(self.chunks(s), 0)
        s.put_update(self.update(lay, v, client=3, accept_late=True))  # a straggler of a semi-async round
        with self.assertRaises(RoundClosed):
            s.put_update(self.update(lay, v, client=4, accept_late=True))  # consumed already
        self.assertEqual(s.updates.count_documents({}), 1)

    def chunks(self, s: Store) -> int:
        return sum(s.db[name].count_documents({}) for name in s.db.list_collection_names() if "_chunks_" in name)


def add_half(task: Task, global_model: Model) -> Update:
    data = task.load_data()
    return Update(params=global_model.params + np.float32(0.5), samples=len(data), loss=1.5)


class ClientWithStore(StoreCase):
    def test_a_stored_task_end_to_end(self) -> None:
        s = self.store(tensors=True)
        lay = arch.manifest("mlp", 100)
        v0 = arch.init_params(lay, 1)
        put_global(s, "e", 0, lay, v0)
        source = write_idx(temp_dir(self), 80)
        task = a_task(source, model=ModelSpec("mlp", 100), store=StoreSpec(self.db, "w"))
        dep = Deployment(token_key=KEY, mongo_uri=self.uri, tensor_dir=self.tensor_dir)
        client = Client(add_half, dep)
        self.addCleanup(client.close)
        res = client.handle(request(task))
        self.assertEqual((res["samples"], res["loss"], "update" in res), (20, 1.5, False))
        doc = s.updates.find_one({"_id": "e/r1/c1"})
        self.assertEqual((doc["client"], doc["where"]), (1, "file"))
        np.testing.assert_array_equal(s.read(doc).params, v0 + np.float32(0.5))
        wrong = dataclasses.replace(task, model=ModelSpec("mlp", 2))
        with self.assertRaisesRegex(FedKeeperError, "stored global v0 is not a mlp model"):
            client.handle(request(wrong))

    def test_a_bad_address_is_named_without_its_password(self) -> None:
        with self.assertRaisesRegex(FedKeeperError, r"connect to MongoDB at mongodb://u:\*\*\*@127.0.0.1:99999") as caught:
            Store("mongodb://u:secret@127.0.0.1:99999/", "d", "w")
        self.assertNotIn("secret", str(caught.exception))


if __name__ == "__main__":
    unittest.main()
