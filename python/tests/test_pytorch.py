"""The PyTorch helpers: the flat vector to a state_dict and back, with dense kernels
transposed, and the reference training served as a client."""

from __future__ import annotations

import base64
import dataclasses
import unittest

import numpy as np
import torch

from fedkeeper import Client, Deployment, arch, codec, pytorch
from fedkeeper.envelope import Weights
from fedkeeper.errors import TrainError
from fedkeeper.task import ModelSpec, StoreSpec, TrainOptions

from .support import KEY, a_task, request, temp_dir, write_idx


class StateDicts(unittest.TestCase):
    def test_dense_kernels_are_transposed_and_conv_kernels_kept(self) -> None:
        lay = arch.manifest("cnn")
        flat = np.arange(arch.num_params(lay), dtype=np.float32)
        state = pytorch.to_state_dict(flat, ModelSpec("cnn"))
        self.assertEqual(list(state), ["conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "dense1.weight",
                                       "dense1.bias", "dense2.weight", "dense2.bias"])
        self.assertEqual(tuple(state["conv1.weight"].shape), (32, 1, 5, 5))
        self.assertEqual(float(state["conv1.weight"][0, 0, 0, 1]), 1.0)  # (out, in, h, w) row-major
        dense1 = sum(p.size for p in lay[:4])
        self.assertEqual(tuple(state["dense1.weight"].shape), (512, 1024))
        # FedKeeper's dense1/kernel[i][o] is PyTorch's dense1.weight[o][i].
        self.assertEqual(float(state["dense1.weight"][1, 0]), float(dense1 + 1))
        self.assertEqual(float(state["dense1.weight"][0, 1]), float(dense1 + 512))
        module = pytorch.build_model(ModelSpec("cnn"))
        module.load_state_dict(state)
        np.testing.assert_array_equal(pytorch.module_params(module, ModelSpec("cnn")), flat)

    def test_wrong_sizes_are_refused(self) -> None:
        with self.assertRaisesRegex(TrainError, "values for a layout"):
            pytorch.to_state_dict(np.zeros(3, dtype=np.float32), ModelSpec("mlp", 2))
        with self.assertRaisesRegex(TrainError, "no dense1.weight"):
            pytorch.from_state_dict({}, ModelSpec("mlp", 2))


class ReferenceTraining(unittest.TestCase):
    def test_trains_as_a_client(self) -> None:
        torch.manual_seed(0)
        source = write_idx(temp_dir(self), 80)
        for spec in (ModelSpec("mlp", 8), ModelSpec("cnn")):
            with self.subTest(spec.kind):
                lay = arch.manifest(spec.kind, spec.hidden)
                v0 = arch.init_params(lay, 2)
                data, checksum = codec.encode(v0)
                task = dataclasses.replace(a_task(source), model=spec, store=StoreSpec(), inline_sha256=checksum,
                                           train=TrainOptions(optimizer="adam", lr=0.01, epochs=2, batch_size=8,
                                                              seed=5, proximal_mu=0.01))
                res = Client(pytorch.train, Deployment(token_key=KEY)).handle(
                    request(task, inline=Weights(data, checksum)))
                got = codec.decode(base64.b64decode(res["update"]["data"]), lay, res["update"]["sha256"])
                self.assertEqual(res["samples"], 20)
                self.assertGreater(res["loss"], 0)
                self.assertFalse(np.array_equal(got, v0))

    def test_unknown_optimizer(self) -> None:
        source = write_idx(temp_dir(self), 80)
        v0 = arch.init_params(arch.manifest("mlp", 2), 2)
        data, checksum = codec.encode(v0)
        task = dataclasses.replace(a_task(source), store=StoreSpec(), inline_sha256=checksum,
                                   train=TrainOptions(optimizer="rmsprop", lr=0.1, epochs=1, batch_size=4))
        status, out = Client(pytorch.train, Deployment(token_key=KEY)).answer(
            request(task, inline=Weights(data, checksum)))
        self.assertEqual(status, 500)
        self.assertIn("unknown optimizer 'rmsprop'", out["error"])


if __name__ == "__main__":
    unittest.main()
