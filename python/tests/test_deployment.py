"""The deployment: environment variables first, then secret files, trimmed."""

from __future__ import annotations

import os
import unittest

from fedkeeper.deployment import Deployment, lookup
from fedkeeper.errors import FedKeeperError

from .support import temp_dir


class DeploymentSettings(unittest.TestCase):
    def test_environment_then_secret_files(self) -> None:
        folder = temp_dir(self)
        for name, value in (("fedkeeper-token-key", " file-key\n"), ("fedkeeper-mongo-uri", "mongodb://f\n"),
                            ("tensor-dir", "/not/read")):
            with open(os.path.join(folder, name), "w", encoding="utf-8") as f:
                f.write(value)
        env = {"FEDKEEPER_SECRETS_DIR": folder, "FEDKEEPER_MONGO_URI": "mongodb://env"}
        dep = Deployment.load(env)
        self.assertEqual((dep.token_key, dep.mongo_uri, dep.tensor_dir), ("file-key", "mongodb://env", ""))
        self.assertEqual(lookup("tensor-dir", {**env, "FEDKEEPER_TENSOR_DIR": "/t"}), "/t")

    def test_openfaas_default_folder_and_nothing(self) -> None:
        self.assertEqual(lookup("token-key", {"FEDKEEPER_SECRETS_DIR": "/nonexistent-fk"}), "")

    def test_relay_targets_must_be_an_object(self) -> None:
        with self.assertRaisesRegex(FedKeeperError, "FEDKEEPER_RELAY_TARGETS is not a JSON object"):
            Deployment.load({"FEDKEEPER_RELAY_TARGETS": "[1]", "FEDKEEPER_SECRETS_DIR": "/nonexistent-fk"})
        dep = Deployment.load({"FEDKEEPER_RELAY_TARGETS": '{"openfaas/a": {"url": "http://x"}}',
                               "FEDKEEPER_SECRETS_DIR": "/nonexistent-fk"})
        self.assertEqual(dep.relay["openfaas/a"]["url"], "http://x")


if __name__ == "__main__":
    unittest.main()
