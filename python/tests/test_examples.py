"""The examples under examples/ serve relayed tasks as their platforms call them."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import shutil
import sys
import types
import unittest
from unittest import mock

from fedkeeper import arch, codec, serving, synthetic
from fedkeeper.envelope import Weights
from fedkeeper.task import Data, ModelSpec, StoreSpec, SyntheticSpec

from .support import KEY, REPO, a_task, request, temp_dir, write_idx


ENV = {"FEDKEEPER_TOKEN_KEY": KEY, "FEDKEEPER_SECRETS_DIR": "/nonexistent-fk", "FEDKEEPER_MONGO_URI": ""}


def load(path: str) -> types.ModuleType:
    """An example's module, imported as its platform imports it (its Client reads the
    deployment from the environment then)."""
    spec = importlib.util.spec_from_file_location("example_" + path.replace(os.sep, "_").replace(".", "_"),
                                                  os.path.join(REPO, "examples", path))
    module = importlib.util.module_from_spec(spec)
    with mock.patch.dict(os.environ, ENV):
        spec.loader.exec_module(module)
    return module


def load_handler(test: unittest.TestCase, folder: str) -> types.ModuleType:
    """An OpenFaaS example's handler.py as the python3-http template imports it: as
    the handler module of a package that holds the SDK FedKeeper puts beside it."""
    root = temp_dir(test)
    package = "function_" + folder.replace(os.sep, "_").replace("-", "_")
    shutil.copytree(os.path.join(REPO, "examples", folder), os.path.join(root, package))
    os.symlink(os.path.join(REPO, "python", "fedkeeper"), os.path.join(root, package, "fedkeeper"))
    with mock.patch.dict(os.environ, ENV), mock.patch.object(sys, "path", [root] + sys.path):
        return importlib.import_module(package + ".handler")


class Examples(unittest.TestCase):
    def relayed(self, spec: ModelSpec) -> dict:
        source = write_idx(temp_dir(self), 80)
        data, checksum = codec.encode(arch.init_params(arch.manifest(spec.kind, spec.hidden), 3))
        task = dataclasses.replace(a_task(source), model=spec, store=StoreSpec(), inline_sha256=checksum)
        return request(task, inline=Weights(data, checksum))

    def test_each_platform_and_model(self) -> None:
        for kind, spec, other in (("mlp", ModelSpec("mlp", 8), ModelSpec("cnn")),
                                  ("cnn", ModelSpec("cnn"), ModelSpec("mlp", 8))):
            req, wrong = self.relayed(spec), self.relayed(other)
            with self.subTest(kind, platform="openwhisk"):
                main = load(f"pytorch-{kind}/openwhisk/__main__.py").main
                self.assertEqual(main(req)["samples"], 20)
                self.assertIn(f"this client trains the {kind.upper()}", main(wrong)["error"])
            with self.subTest(kind, platform="gcf"):
                entry = load(f"pytorch-{kind}/gcf/main.py").fl_client
                body, status, _ = entry(types.SimpleNamespace(get_data=lambda cache=False: json.dumps(req).encode()))
                self.assertEqual((status, body["samples"]), (200, 20))
            with self.subTest(kind, platform="openfaas"):
                handle = load_handler(self, f"pytorch-{kind}/openfaas").handle
                out = handle(types.SimpleNamespace(body=json.dumps(req).encode()), None)
                self.assertEqual((out["statusCode"], out["body"]["samples"]), (200, 20))
            with self.subTest(kind, platform="lambda"):
                handler = load(f"pytorch-{kind}/lambda/lambda_function.py").lambda_handler
                self.assertEqual(handler(req, None)["samples"], 20)
                with self.assertRaisesRegex(serving.FunctionError, f"this client trains the {kind.upper()}"):
                    handler(wrong, None)

    def test_the_mclr_client_on_each_platform(self) -> None:
        spec = SyntheticSpec(1, 1, False, 30, 1)
        data, checksum = codec.encode(arch.init_params(arch.manifest(arch.MCLR), 3))
        task = dataclasses.replace(a_task(write_idx(temp_dir(self), 8)), model=ModelSpec("mclr"), client=27,
                                   data=Data(synthetic=spec), store=StoreSpec(), inline_sha256=checksum)
        req = request(task, inline=Weights(data, checksum))
        mlp, mlp_sum = codec.encode(arch.init_params(arch.manifest(arch.MLP, 2), 3))
        wrong = request(dataclasses.replace(task, model=ModelSpec("mlp", 2), inline_sha256=mlp_sum), inline=Weights(mlp, mlp_sum))
        samples = len(synthetic.Generator(spec).device(27).train)
        with self.subTest(platform="openwhisk"):
            main = load("python-mclr/openwhisk/__main__.py").main
            self.assertEqual(main(req)["samples"], samples)
            self.assertIn("this client trains mclr", main(wrong)["error"])
        with self.subTest(platform="gcf"):
            entry = load("python-mclr/gcf/main.py").fl_client
            body, status, _ = entry(types.SimpleNamespace(get_data=lambda cache=False: json.dumps(req).encode()))
            self.assertEqual((status, body["samples"]), (200, samples))
        with self.subTest(platform="openfaas"):
            handle = load_handler(self, "python-mclr/openfaas").handle
            out = handle(types.SimpleNamespace(body=json.dumps(req).encode()), None)
            self.assertEqual((out["statusCode"], out["body"]["samples"]), (200, samples))
        with self.subTest(platform="lambda"):
            handler = load("python-mclr/lambda/lambda_function.py").lambda_handler
            self.assertEqual(handler(req, None)["samples"], samples)


if __name__ == "__main__":
    unittest.main()
