"""Synthetic data and the mclr model: the generator against the Go keeper's vectors
(testdata/protocol/synthetic.json), the vectorised normal draws against the scalar
port, synthetic tasks, and multinomial logistic regression's training."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import math
import struct
import time
import unittest

import numpy as np

from fedkeeper import Client, Deployment, arch, codec, envelope, mclr, synthetic
from fedkeeper.envelope import Weights
from fedkeeper.errors import InvalidTask, TrainError
from fedkeeper.gorand import Rand
from fedkeeper.task import Data, ModelSpec, Source, StoreSpec, SyntheticSpec, Task, TrainOptions

from .support import KEY, request, vector

VECTOR_KEY = "vector-key-0123456789"


def spec_of(obj: dict) -> SyntheticSpec:
    return SyntheticSpec.decode(obj)


def digest(features: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(features, dtype="<f4").tobytes()).hexdigest()


class GeneratorVectors(unittest.TestCase):
    """The Python generator makes the Go generator's bytes."""

    def test_input_scales(self) -> None:
        v = vector("synthetic.json")
        self.assertEqual([float(s) for s in synthetic.input_scales()], v["input_scales"])
        self.assertEqual(synthetic.nearest_root(32), 0.125)  # pow may say 0.125 + an ulp
        self.assertEqual(synthetic.nearest_root(1), 1.0)

    def test_devices(self) -> None:
        for ds in vector("synthetic.json")["datasets"]:
            g = synthetic.Generator(spec_of(ds["spec"]))
            with self.subTest(ds["name"]):
                self.assertEqual(g.sizes, ds["sizes"])
            for dv in ds["devices"]:
                d = g.device(dv["device"])
                for part, got in (("train", d.train), ("test", d.test)):
                    with self.subTest(ds["name"], device=dv["device"], part=part):
                        want = dv[part]
                        self.assertEqual(len(got), want["samples"])
                        self.assertEqual(got.images.dtype, np.float32)
                        self.assertEqual(got.images.shape, (want["samples"], synthetic.FEATURES))
                        self.assertEqual("".join(str(int(l)) for l in got.labels), want["labels"])
                        np.testing.assert_array_equal(got.images[0], np.array(want["first"], dtype=np.float32))
                        self.assertEqual(digest(got.images), want["features_sha256"])

    def test_the_mclr_layout_and_its_initial_values(self) -> None:
        v = vector("synthetic.json")
        layout = arch.manifest(arch.MCLR)
        self.assertEqual([p.to_json() for p in layout], v["mclr_manifest"])
        np.testing.assert_array_equal(arch.init_params(layout, 7), np.array(v["mclr_init_seed_7"], dtype=np.float32))

    def test_the_sealed_task(self) -> None:
        v = vector("synthetic.json")
        req, task = envelope.open_raw(json.dumps(v["request"]), VECTOR_KEY)
        self.assertEqual(task.to_json(), v["task"])
        self.assertEqual(task.data.synthetic, SyntheticSpec(0.5, 1.0, False, 30, 1))
        self.assertEqual((task.model.kind, task.data.clients(), task.data.train.images_url), ("mclr", 30, ""))
        task.validate(None)


class VectorisedNormals(unittest.TestCase):
    """norm_float64s draws what norm_float64 draws, and leaves the generator alike."""

    def test_against_the_scalar_port(self) -> None:
        # Counts across a block (65,536 outputs) and past the strips' slow paths.
        for seed in ((1, 2), (7, synthetic.DEVICE_STREAM), (2 ** 63 + 5, 3)):
            for count in (0, 1, 7, 1000, 65_600):
                with self.subTest(seed=seed, count=count):
                    a, b = Rand(*seed), Rand(*seed)
                    got = a.norm_float64s(count)
                    want = np.array([b.norm_float64() for _ in range(count)])
                    np.testing.assert_array_equal(got, want)
                    self.assertEqual(a.src.state, b.src.state)
                    self.assertEqual(a.norm_float64(), b.norm_float64())

    def test_against_gos_draws(self) -> None:
        for v in vector("gorand.json"):
            with self.subTest(seed=v["seed1"]):
                # The vector's normals come after its intn, uint64n and float64 draws.
                r = Rand(v["seed1"], v["seed2"])
                [r.intn(n) for n in v["bounds"]]
                [r.uint64n(n) for n in v["bounds64"]]
                [r.float64() for _ in range(5)]
                self.assertEqual(list(r.norm_float64s(10)), v["normals"])
                values = r.norm_float64s(v["normal_count"])
                self.assertEqual(hashlib.sha256(b"".join(struct.pack("<d", x) for x in values)).hexdigest(),
                                 v["normals_sha256"])
                self.assertEqual(r.perm(25), v["perm"])


class Generation(unittest.TestCase):
    def test_refusals(self) -> None:
        for spec, want in ((SyntheticSpec(1, 1, False, 0, 1), "devices must be between 1"),
                           (SyntheticSpec(-1, 1, False, 3, 1), "alpha must be"),
                           (SyntheticSpec(1, math.nan, False, 3, 1), "beta must be"),
                           (SyntheticSpec(1, 0, True, 3, 1), "takes no alpha or beta")):
            with self.subTest(want), self.assertRaisesRegex(InvalidTask, want):
                synthetic.Generator(spec)
        with self.assertRaisesRegex(InvalidTask, "outside 0..2"):
            synthetic.Generator(SyntheticSpec(1, 1, False, 3, 1)).device(3)

    def test_a_large_device_is_quick(self) -> None:
        g = synthetic.Generator(SyntheticSpec(1, 1, False, 30, 1))
        g.device(0)  # the jump-ahead tables are built once per process
        began = time.perf_counter()
        d = g.device(22)  # 6,030 examples
        seconds = time.perf_counter() - began
        print(f"\nsynthetic: device of {g.sizes[22]} examples generated in {seconds * 1000:.0f} ms", flush=True)
        self.assertEqual(len(d.train) + len(d.test), 6030)
        self.assertLess(seconds, 5, "generating 6,030 examples took over 5 s")


def a_synthetic_task(**changes) -> Task:
    base = Task(experiment="e", round=1, client=27, attempt=1, base_version=0, model=ModelSpec("mclr"),
                train=TrainOptions(optimizer="sgd", lr=0.01, epochs=2, batch_size=10, seed=3),
                data=Data(synthetic=SyntheticSpec(1, 1, False, 30, 1)), store=StoreSpec("t", "w"))
    return dataclasses.replace(base, **changes)


class SyntheticTasks(unittest.TestCase):
    def test_encoding_leaves_out_mnist(self) -> None:
        text = a_synthetic_task().to_json()
        self.assertIn('"data":{"synthetic":{"alpha":1,"beta":1,"devices":30,"seed":1}}', text)
        self.assertEqual(Task.from_json(text), a_synthetic_task())

    def test_refusals(self) -> None:
        mnist = Source("file:///i", "file:///l")
        cases = {
            "past the devices": (a_synthetic_task(client=30), "client 30 is outside 0..29"),
            "with files": (a_synthetic_task(data=Data(train=mnist, synthetic=SyntheticSpec(1, 1, False, 30, 1))),
                           "no training files"),
            "a bad spec": (a_synthetic_task(data=Data(synthetic=SyntheticSpec(1, -2, False, 30, 1))),
                           "data.synthetic: beta"),
        }
        for name, (task, want) in cases.items():
            with self.subTest(name), self.assertRaisesRegex(InvalidTask, want):
                task.validate(None)
        with self.assertRaisesRegex(Exception, "unknown field"):
            Task.from_json(a_synthetic_task().to_json().replace('"devices"', '"device_count"'))

    def test_the_client_trains_mclr_on_its_device(self) -> None:
        layout = arch.manifest(arch.MCLR)
        v0 = arch.init_params(layout, 1)
        data, checksum = codec.encode(v0)
        task = a_synthetic_task(store=StoreSpec(), inline_sha256=checksum, train=TrainOptions("sgd", 0.01, 5, 10, 3))
        client = Client(mclr.train, Deployment(token_key=KEY))
        res = client.handle(request(task, inline=Weights(data, checksum)))
        device = synthetic.Generator(task.data.synthetic).device(27)
        self.assertEqual(res["samples"], len(device.train))
        trained = codec.decode(base64.b64decode(res["update"]["data"]), layout, res["update"]["sha256"])
        before = mclr.score(v0, device.train.images, device.train.labels)
        after = mclr.score(trained, device.train.images, device.train.labels)
        self.assertLess(after[0], before[0] / 2)
        self.assertGreater(after[1], 0.8)
        self.assertAlmostEqual(res["loss"], after[0], delta=0.05)
        # A warm instance keeps its device.
        self.assertTrue(client.handle(request(task, inline=Weights(data, checksum)))["warm_data"])


class MCLR(unittest.TestCase):
    def setUp(self) -> None:
        d = synthetic.Generator(SyntheticSpec(1, 1, False, 3, 5)).device(1)
        self.x, self.y = d.train.images, d.train.labels
        self.params = (np.random.default_rng(2).normal(size=mclr.NUM_PARAMS) * 0.3).astype(np.float32)

    def test_gradient_matches_finite_differences(self) -> None:
        x, y = self.x[:7], self.y[:7]
        _, grad = mclr.gradient(self.params, x, y)
        h = 1e-2
        for i in range(mclr.NUM_PARAMS):
            up, down = self.params.copy(), self.params.copy()
            up[i] += h
            down[i] -= h
            fd = (mclr.gradient(up, x, y)[0] - mclr.gradient(down, x, y)[0]) / (float(up[i]) - float(down[i]))
            self.assertLess(abs(fd - grad[i]), 1e-3 * (1 + abs(fd)), f"parameter {i}")

    def test_two_proximal_steps_by_hand(self) -> None:
        lr, mu = 0.5, 3.0
        w0 = self.params.copy()

        def step(w: np.ndarray) -> np.ndarray:
            _, g = mclr.gradient(w, self.x, self.y)
            g = g + mu * (w - w0).astype(np.float64)
            return w - np.float32(lr) * g.astype(np.float32)

        want = step(step(w0))
        got = w0.copy()
        mclr.fit(got, self.x, self.y, TrainOptions("sgd", lr, 2, len(self.y), 0, mu))
        np.testing.assert_allclose(got, want, atol=1e-5)
        plain = w0.copy()
        mclr.fit(plain, self.x, self.y, TrainOptions("sgd", lr, 2, len(self.y), 0))
        self.assertGreater(np.abs(got - plain).max(), 1e-3)

    def test_optimisers_learn(self) -> None:
        for name, lr in (("sgd", 0.1), ("adam", 0.01), ("nadam", 0.01)):
            with self.subTest(name):
                p = np.zeros(mclr.NUM_PARAMS, dtype=np.float32)
                before = mclr.score(p, self.x, self.y)[0]
                loss = mclr.fit(p, self.x, self.y, TrainOptions(name, lr, 20, 10, 1))
                self.assertLess(mclr.score(p, self.x, self.y)[0], before / 2)
                self.assertTrue(math.isfinite(loss))

    def test_refusals(self) -> None:
        ok = TrainOptions("sgd", 0.1, 1, 2, 0)
        for name, args, want in (
                ("a short vector", (np.zeros(5, np.float32), self.x, self.y, ok), "5 parameters"),
                ("no epochs", (self.params.copy(), self.x, self.y, TrainOptions("sgd", 0.1, 0, 2, 0)), "epochs"),
                ("an unknown optimiser", (self.params.copy(), self.x, self.y, TrainOptions("lbfgs", 0.1, 1, 2, 0)), "lbfgs"),
                ("MNIST images", (self.params.copy(), np.zeros((2, 784), np.float32), np.zeros(2, np.uint8), ok), "features")):
            with self.subTest(name), self.assertRaisesRegex(TrainError, want):
                mclr.fit(*args)

    def test_pytorch_trains_it_alike(self) -> None:
        from fedkeeper import pytorch

        layout = arch.manifest(arch.MCLR)
        opts = TrainOptions("sgd", 0.05, 2, 10, 4)
        ours = self.params.copy()
        mclr.fit(ours, self.x, self.y, opts)
        module = pytorch.build_model(ModelSpec("mclr"))
        pytorch.load_params(module, self.params, layout)
        import torch

        optimizer = torch.optim.SGD(module.parameters(), lr=opts.lr)
        rng = Rand(opts.seed, mclr.SHUFFLE_STREAM)
        x, y = torch.from_numpy(self.x), torch.from_numpy(self.y.astype(np.int64))
        for _ in range(opts.epochs):
            order = rng.perm(len(self.y))
            for start in range(0, len(order), opts.batch_size):
                idx = torch.tensor(order[start:start + opts.batch_size])
                optimizer.zero_grad()
                torch.nn.functional.cross_entropy(module(x[idx]), y[idx]).backward()
                optimizer.step()
        np.testing.assert_allclose(pytorch.module_params(module, layout), ours, atol=1e-4)


if __name__ == "__main__":
    unittest.main()
