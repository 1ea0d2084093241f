"""The client end to end on relayed tasks (no store): what train gets and must
return, privacy and attacks, and the platforms' entry points."""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import types
import unittest
from unittest import mock

import numpy as np

from fedkeeper import Client, Deployment, Model, Task, Update, arch, attack, codec, serving
from fedkeeper.envelope import Weights
from fedkeeper.errors import FedKeeperError, NoStore, Refused, TrainError
from fedkeeper.task import Attack, Privacy, StoreSpec

from .support import KEY, a_task, request, temp_dir, write_idx


def add_one(task: Task, global_model: Model) -> Update:
    """A client of its own: adds one to every parameter and reports its share."""
    data = task.load_data()
    global_model.params += 1
    return Update(params=global_model.params, samples=len(data), loss=0.5)


class Relayed(unittest.TestCase):
    def setUp(self) -> None:
        self.source = write_idx(temp_dir(self), 80)
        self.layout = arch.manifest("mlp", 2)
        self.v0 = arch.init_params(self.layout, 1)
        data, self.sum = codec.encode(self.v0)
        self.inline = Weights(data, self.sum)
        self.task = dataclasses.replace(a_task(self.source), store=StoreSpec(), inline_sha256=self.sum)
        self.dep = Deployment(token_key=KEY)

    def req(self, task: Task | None = None) -> dict:
        return request(task or self.task, inline=self.inline)

    def test_the_update_comes_back_in_the_answer(self) -> None:
        res = Client(add_one, self.dep).handle(self.req())
        self.assertEqual(list(res), ["experiment", "round", "client", "attempt", "base_version", "samples", "loss",
                                     "train_seconds", "load_seconds", "warm_data", "seconds", "update"])
        self.assertEqual((res["client"], res["samples"], res["loss"], res["warm_data"]), (1, 20, 0.5, False))
        got = codec.decode(base64.b64decode(res["update"]["data"]), self.layout, res["update"]["sha256"])
        np.testing.assert_array_equal(got, self.v0 + 1)
        json.dumps(res)  # the answer is JSON

    def test_a_warm_instance_keeps_its_data(self) -> None:
        client = Client(add_one, self.dep)
        client.handle(self.req())
        self.assertTrue(client.handle(self.req(dataclasses.replace(self.task, client=2)))["warm_data"])

    def test_what_train_returns_is_checked(self) -> None:
        cases = {
            "too few values": (lambda t, g: Update(g.params[:3], 1), "the update has 3 values"),
            "no samples": (lambda t, g: Update(g.params, 0), "samples"),
            "float samples": (lambda t, g: Update(g.params, 2.0), "samples"),
            "not flat": (lambda t, g: Update(g.params.reshape(2, -1), 1), "shape"),
            "not an Update": (lambda t, g: g.params, "not a fedkeeper.Update"),
            "a NaN loss": (lambda t, g: Update(g.params, 1, float("nan")), "diverged"),
            "its own error": (lambda t, g: (_ for _ in ()).throw(MemoryError("out of memory")), "out of memory"),
        }
        for name, (train, want) in cases.items():
            with self.subTest(name):
                with self.assertRaisesRegex(TrainError, "fl_client: client 1: .*" + want):
                    Client(train, self.dep).handle(self.req())

    def test_privacy_clips_every_clients_change(self) -> None:
        task = dataclasses.replace(self.task, privacy=Privacy(clip=1.0, noise_multiplier=0.0001))
        res = Client(add_one, self.dep).handle(self.req(task))
        got = codec.decode(base64.b64decode(res["update"]["data"]), self.layout, res["update"]["sha256"])
        norm = float(np.linalg.norm(got.astype(np.float64) - self.v0))
        self.assertAlmostEqual(norm, 1.0, delta=0.02)
        again = Client(add_one, self.dep).handle(self.req(task))
        self.assertEqual(again["update"], res["update"])  # seeded by the task's training seed

    def test_attackers_are_gos_choice(self) -> None:
        spec = Attack(kind="scale", fraction=0.5, factor=-10.0, seed=4)
        bad = attack.malicious(spec, 4)
        self.assertEqual(len(bad), 2)
        for client in range(4):
            task = dataclasses.replace(self.task, client=client, attack=spec)
            res = Client(add_one, self.dep).handle(self.req(task))
            got = codec.decode(base64.b64decode(res["update"]["data"]), self.layout, res["update"]["sha256"])
            g, trained = self.v0.astype(np.float64), (self.v0 + 1).astype(np.float64)
            want = (g + (trained - g) * -10.0).astype(np.float32) if client in bad else self.v0 + 1
            np.testing.assert_array_equal(got, want)

    def test_refusals(self) -> None:
        with self.assertRaisesRegex(Refused, "^fl_client: request refused"):
            Client(add_one, self.dep).handle({**self.req(), "note": 1})
        bad = Weights(self.inline.data[:-4], self.sum)
        with self.assertRaisesRegex(FedKeeperError, "inline global model: weights: damaged"):
            Client(add_one, self.dep).handle(request(self.task, inline=bad))
        stored = a_task(self.source)
        with self.assertRaisesRegex(NoStore, "without a MongoDB address"):
            Client(add_one, self.dep).handle(request(stored))
        status, out = Client(add_one, Deployment()).answer(self.req())
        self.assertEqual((status, list(out)), (500, ["error"]))
        self.assertIn("this function has no key", out["error"])


class EntryPoints(unittest.TestCase):
    """Each platform's adapter answers as that platform expects."""

    def setUp(self) -> None:
        self.source = write_idx(temp_dir(self), 80)
        v0 = arch.init_params(arch.manifest("mlp", 2), 1)
        data, checksum = codec.encode(v0)
        task = dataclasses.replace(a_task(self.source), store=StoreSpec(), inline_sha256=checksum)
        self.body = json.dumps(request(task, inline=Weights(data, checksum))).encode()
        self.client = Client(add_one, Deployment(token_key=KEY))

    def test_openwhisk(self) -> None:
        main = serving.openwhisk(self.client)
        self.assertEqual(main(json.loads(self.body))["samples"], 20)
        self.assertIn("unknown field", main({"x": 1})["error"])
        web = main({"__ow_method": "post", "__ow_body": base64.b64encode(self.body).decode()})
        self.assertEqual((web["statusCode"], web["body"]["samples"]), (200, 20))
        self.assertEqual(main({"__ow_method": "post", "__ow_body": "{nope"})["statusCode"], 400)

    def test_cloud_functions(self) -> None:
        import flask

        entry = serving.cloud_function(self.client)
        app = flask.Flask("test")
        with app.test_request_context("/", method="POST", data=self.body):
            body, status, headers = entry(flask.request)
        self.assertEqual((status, body["samples"], headers["Content-Type"]), (200, 20, "application/json"))
        with app.test_request_context("/", method="POST", data=b"not json"):
            self.assertEqual(entry(flask.request)[1], 400)
        with app.test_request_context("/", method="POST", data=b""):
            body, status, _ = entry(flask.request)
        self.assertEqual(status, 500)
        self.assertIn("request refused", body["error"])

    def test_openfaas(self) -> None:
        handle = serving.openfaas(self.client)
        out = handle(types.SimpleNamespace(body=self.body, headers={}, method="POST"), None)
        self.assertEqual((out["statusCode"], out["body"]["samples"]), (200, 20))
        self.assertEqual(handle(types.SimpleNamespace(body=b"{}"), None)["statusCode"], 500)

    def test_aws_lambda(self) -> None:
        handler = serving.aws_lambda(self.client)
        self.assertEqual(handler(json.loads(self.body), None)["samples"], 20)
        self.assertEqual(handler(self.body.decode(), None)["samples"], 20)
        # A refused task is a function error, which Lambda reports and the keeper retries.
        with self.assertRaisesRegex(serving.FunctionError, "unknown field"):
            handler({"x": 1}, None)
        with self.assertRaisesRegex(serving.FunctionError, "not JSON"):
            handler("{nope", None)

    def test_a_train_function_is_served_with_the_deployment(self) -> None:
        with mock.patch.dict(os.environ, {"FEDKEEPER_TOKEN_KEY": "", "FEDKEEPER_SECRETS_DIR": "/nonexistent-fk"}):
            main = serving.openwhisk(add_one)  # reads the environment: no key there
        self.assertIn("this function has no key", main(json.loads(self.body))["error"])
        with mock.patch.dict(os.environ, {"FEDKEEPER_TOKEN_KEY": KEY}):
            main = serving.openwhisk(add_one)
        self.assertEqual(main(json.loads(self.body))["samples"], 20)


if __name__ == "__main__":
    unittest.main()
