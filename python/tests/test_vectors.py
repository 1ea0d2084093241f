"""Every shared vector of testdata/protocol, checked against the Python SDK."""

from __future__ import annotations

import base64
import hashlib
import json
import struct
import unittest

import numpy as np

from fedkeeper import arch, codec, envelope, layout, partition, token
from fedkeeper.errors import Refused
from fedkeeper.gorand import Rand
from fedkeeper.task import PartitionSpec, Task

from .support import vector

VECTOR_KEY = "vector-key-0123456789"


class TokenVectors(unittest.TestCase):
    def test_tokens(self) -> None:
        for v in vector("tokens.json"):
            with self.subTest(v["name"]):
                parts = v["parts"] or []
                self.assertEqual(token.sign(v["key"], *parts), v["token"])
                token.verify(v["key"], v["token"], *parts)


class RequestVectors(unittest.TestCase):
    def test_requests(self) -> None:
        for v in vector("requests.json"):
            with self.subTest(v["name"]):
                raw = json.dumps(v["request"])
                if v["accept"]:
                    _, task = envelope.open_raw(raw, VECTOR_KEY)
                    self.assertEqual(task.encode(), v["task"])
                    # Encoded again, the task is the very text the keeper signed.
                    self.assertEqual(task.to_json(), v["request"]["task"])
                else:
                    with self.assertRaises(Refused) as caught:
                        envelope.open_raw(raw, VECTOR_KEY)
                    self.assertIn(v["error"], str(caught.exception))

    def test_the_keepers_request_seals_alike(self) -> None:
        good = vector("requests.json")[0]["request"]
        task = Task.from_json(good["task"])
        self.assertEqual(envelope.seal(VECTOR_KEY, "fl_client", task, good["expires"]).to_json(), good)


class WeightsVectors(unittest.TestCase):
    def test_encoding(self) -> None:
        v = vector("weights.json")
        layout_ = arch.from_docs(v["manifest"])
        values = np.array(v["values"], dtype=np.float32)
        data, checksum = codec.encode(values)
        self.assertEqual(base64.b64encode(data).decode(), v["data_base64"])
        self.assertEqual(checksum, v["sha256"])
        decoded = codec.decode(base64.b64decode(v["data_base64"]), layout_, v["sha256"])
        self.assertEqual(decoded.tobytes(), values.tobytes())  # the subnormal kept exactly

    def test_seeded_initial_values_are_gos(self) -> None:
        v = vector("weights.json")
        values = arch.init_params(arch.manifest("mlp", 1), 5)
        values[-1] = np.float32(-1.5e-40)
        self.assertEqual(values.tobytes(), np.array(v["values"], dtype=np.float32).tobytes())
        self.assertEqual([p.to_json() for p in arch.manifest("mlp", 1)], v["manifest"])


class LayoutVectors(unittest.TestCase):
    def test_names(self) -> None:
        for v in vector("layout.json"):
            with self.subTest(client=v["client"]):
                key, blob = layout.update_blob(v["collection"], v["experiment"], v["round"], v["client"],
                                               v["attempt"], v["sha256"])
                self.assertEqual((key, blob), (v["update_key"], v["blob"]))
                self.assertEqual(layout.chunk_location(v["collection"], blob, 100, 0), (v["shard"], v["chunk0"]))
                self.assertEqual(layout.tensor_file_name(blob, v["sha256"]), v["file"])
                self.assertEqual(layout.chunk_location(v["collection"], blob, 300 << 10, 2), (blob, 2))


class PartitionVectors(unittest.TestCase):
    def test_partitions(self) -> None:
        for v in vector("partition.json"):
            spec = PartitionSpec.decode(v["spec"])
            with self.subTest(spec.scheme):
                labels = list(base64.b64decode(v["labels"]))  # Go writes []uint8 as base64
                self.assertEqual(partition.split(labels, spec), v["shares"])


class RandVectors(unittest.TestCase):
    def test_pcg(self) -> None:
        for v in vector("pcg.json"):
            with self.subTest(seed=v["seed1"]):
                r = Rand(v["seed1"], v["seed2"])
                self.assertEqual([r.uint64() for _ in range(4)], v["uint64s"])
                self.assertEqual(r.perm(10), v["perm10"])

    def test_draws(self) -> None:
        for v in vector("gorand.json"):
            with self.subTest(seed=v["seed1"]):
                r = Rand(v["seed1"], v["seed2"])
                self.assertEqual([r.intn(n) for n in v["bounds"]], v["intn"])
                self.assertEqual([r.uint64n(n) for n in v["bounds64"]], v["uint64n"])
                self.assertEqual([r.float64() for _ in range(5)], v["float64s"])
                self.assertEqual([r.norm_float64() for _ in range(10)], v["normals"])
                digest = hashlib.sha256()
                for _ in range(v["normal_count"]):
                    digest.update(struct.pack("<d", r.norm_float64()))
                self.assertEqual(digest.hexdigest(), v["normals_sha256"])
                self.assertEqual(r.perm(25), v["perm"])


class LogitsVectors(unittest.TestCase):
    """A PyTorch forward pass is the Go model's on the same weights."""

    def test_logits(self) -> None:
        import torch

        from fedkeeper import pytorch
        from fedkeeper.task import ModelSpec

        for v in vector("logits.json"):
            spec = ModelSpec.decode(v["model"])
            with self.subTest(spec.kind):
                module = pytorch.build_model(spec)
                layout_ = arch.manifest(spec.kind, spec.hidden)
                pytorch.load_params(module, arch.init_params(layout_, v["init_seed"]), layout_)
                pixels = np.frombuffer(base64.b64decode(v["pixels"]), dtype=np.uint8).reshape(-1, 784)
                with torch.no_grad():
                    got = module.eval()(torch.from_numpy(pixels.astype(np.float32) / np.float32(255))).numpy()
                np.testing.assert_allclose(got, np.array(v["logits"], dtype=np.float32), rtol=0, atol=1e-4)


if __name__ == "__main__":
    unittest.main()
