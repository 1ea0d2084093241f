"""The Python side of python/interop's cross-language test: it serves the requests the
Go test sealed (read as JSON on standard input, each with the tensor directory of
its function's deployment) with the SDK's Client, and prints the
answers, with a digest of each data share the train function saw, as JSON.

Its train function adds 0.25 to every parameter of the global model it was given
(so the Go test can tell it read exactly the Go-written version) and reports the
weighted sum of its share's labels as its loss (so the Go test can tell the share is
the one Go's partitioner computes). With "trainer": "mclr" it trains instead as the
SDK's fedkeeper.mclr does (on synthetic data), the digest covering the features."""

from __future__ import annotations

import hashlib
import json
import sys

import numpy as np

from fedkeeper import Client, Deployment, Model, Task, Update, mclr


def main() -> None:
    spec = json.load(sys.stdin)
    shares: dict[str, str] = {}

    def train_mclr(task: Task, global_model: Model) -> Update:
        data = task.load_data()
        shares[f"{task.experiment}/r{task.round}/c{task.client}/a{task.attempt}"] = hashlib.sha256(
            np.ascontiguousarray(data.images, dtype="<f4").tobytes() + data.labels.tobytes()).hexdigest()
        return mclr.train(task, global_model)

    def train(task: Task, global_model: Model) -> Update:
        data = task.load_data()
        pixels = np.rint(data.images * np.float32(255)).astype(np.uint8)
        shares[f"{task.experiment}/r{task.round}/c{task.client}/a{task.attempt}"] = hashlib.sha256(
            pixels.tobytes() + data.labels.tobytes()).hexdigest()
        weighted = int(np.sum(data.labels.astype(np.int64) * np.arange(1, len(data) + 1)))
        return Update(params=global_model.params + np.float32(0.25), samples=len(data), loss=float(weighted))

    # One client per deployment: with a tensor directory, and without.
    clients: dict[str, Client] = {}
    answers = []
    for item in spec["requests"]:
        folder = item["tensor_dir"]
        if folder not in clients:
            trainer = train_mclr if spec.get("trainer") == "mclr" else train
            clients[folder] = Client(trainer, Deployment(token_key=spec["key"], mongo_uri=spec["mongo_uri"],
                                                       tensor_dir=folder))
        status, body = clients[folder].answer(item["request"])
        answers.append({"status": status, "body": body})
    for client in clients.values():
        client.close()
    json.dump({"answers": answers, "shares": shares}, sys.stdout)


if __name__ == "__main__":
    main()
