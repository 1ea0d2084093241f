"""The request's refusals beyond the vectors: key fields, types, strict tasks, the
inline weights' agreement with the task, and Go's encoding of tasks."""

from __future__ import annotations

import dataclasses
import json
import time
import unittest

from fedkeeper import envelope, token
from fedkeeper.envelope import Weights
from fedkeeper.errors import Expired, InvalidTask, InvalidToken, Refused
from fedkeeper.task import Attack, Privacy, Source, StoreSpec, Task

from .support import KEY, a_task, request

SOURCE = Source("file:///i", "file:///l")


def opened(req: dict, key: str = KEY) -> Task:
    return envelope.open_raw(json.dumps(req), key)[1]


class EnvelopeRefusals(unittest.TestCase):
    def test_a_key_is_named_before_other_unknown_fields(self) -> None:
        for name in ("fedkeeper_key", "FEDKEEPER_TOKEN_KEY", "fedkeeper-mongo-uri", "Fedkeeper_Relay_Targets",
                     "FEDKEEPER-TOKEN-KEY"):
            with self.subTest(name):
                req = {**request(a_task(SOURCE)), name: "x", "aaa": 1}
                with self.assertRaisesRegex(Refused, "keys come only from the function's deployment") as caught:
                    opened(req)
                self.assertIn(json.dumps(name), str(caught.exception))

    def test_the_tensor_directory_is_no_key(self) -> None:
        req = {**request(a_task(SOURCE)), "FEDKEEPER_TENSOR_DIR": "/x"}
        with self.assertRaisesRegex(Refused, 'unknown field "FEDKEEPER_TENSOR_DIR"'):
            opened(req)

    def test_malformed_envelopes(self) -> None:
        good = request(a_task(SOURCE))
        cases = {
            "not an object": ("[1]", "not a JSON object"),
            "not JSON": ("{", "not a JSON object"),
            "protocol 2": ({**good, "fedkeeper": 2}, "protocol 2, this function speaks 1"),
            "protocol as text": ({**good, "fedkeeper": "1"}, "cannot unmarshal string"),
            "a float expiry": ({**good, "expires": 1.5}, "cannot unmarshal number"),
            "a field in another case": ({**good, "Kind": "fl_client"}, 'unknown field "Kind"'),
            "inline not base64": ({**good, "inline": {"data": "@@", "sha256": "x"}}, "not base64"),
        }
        for name, (raw, want) in cases.items():
            with self.subTest(name):
                with self.assertRaisesRegex(Refused, want):
                    envelope.open_raw(raw if isinstance(raw, str) else json.dumps(raw), KEY)

    def test_tokens_and_expiry(self) -> None:
        task = a_task(SOURCE)
        with self.assertRaisesRegex(InvalidToken, "no key"):
            opened(request(task), key="")
        with self.assertRaises(InvalidToken):
            opened({**request(task), "token": "ab" * 32})
        with self.assertRaisesRegex(Refused, "cannot unmarshal number 5 into token"):
            opened({**request(task), "token": 5})
        with self.assertRaises(Expired):
            opened(request(task, expires=int(time.time()) - 5))
        wrong_kind = envelope.seal(KEY, "fl_server_aggregator", task, int(time.time()) + 60).to_json()
        with self.assertRaisesRegex(Refused, 'a "fl_server_aggregator" task sent to fl_client'):
            opened(wrong_kind)

    def test_the_task_is_decoded_strictly(self) -> None:
        text = a_task(SOURCE).to_json()
        cases = {
            "unknown nested field": (text.replace('"hidden":2', '"hidden":2,"layers":3'), 'unknown field "layers"'),
            "unknown partition field": (text.replace('"seed":1}', '"seed":1,"x":0}'), 'unknown field "x"'),
            "a float round": (text.replace('"round":1', '"round":1.0'), "cannot unmarshal number 1.0"),
            "a negative seed": (text.replace('"seed":3', '"seed":-3'), "uint64"),
            "a string for a number": (text.replace('"lr":0.1', '"lr":"0.1"'), "cannot unmarshal string"),
            "NaN": (text.replace('"lr":0.1', '"lr":NaN'), "invalid character"),
            "not an object": ("[]", "cannot unmarshal array"),
        }
        for name, (task_text, want) in cases.items():
            with self.subTest(name):
                req = envelope.seal(KEY, "fl_client", task_text, int(time.time()) + 60).to_json()
                with self.assertRaisesRegex(Refused, want):
                    opened(req)

    def test_null_is_the_zero_value(self) -> None:
        text = a_task(SOURCE).to_json().replace('"base_version":0', '"base_version":null')
        self.assertEqual(opened(envelope.seal(KEY, "fl_client", text, int(time.time()) + 60).to_json()).base_version, 0)


class InlineWeightsMustAgree(unittest.TestCase):
    """Weights inline must be what the signed task names, and only then."""

    def test_agreement(self) -> None:
        stored = a_task(SOURCE)
        relayed = dataclasses.replace(stored, store=StoreSpec(), inline_sha256="abc")
        cases = [
            ("stored weights, nothing inline", stored, None, ""),
            ("relayed weights that match", relayed, Weights(b"", "abc"), ""),
            ("weights the task does not name", stored, Weights(b"", "abc"), "does not name"),
            ("other weights than the task names", relayed, Weights(b"", "evil"), "does not carry"),
            ("the named weights missing", relayed, None, "does not carry"),
            ("attempt 0", dataclasses.replace(stored, attempt=0), None, "attempt"),
            ("round 0", dataclasses.replace(stored, round=0), None, "round"),
            ("a client outside the partition", dataclasses.replace(stored, client=4), None, "outside 0..3"),
            ("no store", dataclasses.replace(stored, store=StoreSpec()), None, "store db and collection"),
            ("no experiment", dataclasses.replace(stored, experiment=""), None, "experiment is missing"),
        ]
        for name, task, inline, want in cases:
            with self.subTest(name):
                if not want:
                    task.validate(inline)
                    continue
                with self.assertRaisesRegex(InvalidTask, want):
                    task.validate(inline)


class TaskEncoding(unittest.TestCase):
    def test_optional_fields_are_written_only_when_set(self) -> None:
        task = dataclasses.replace(a_task(SOURCE), privacy=Privacy(clip=1.0, noise_multiplier=1e-7),
                                   attack=Attack(kind="scale", fraction=0.5, factor=-10.0, seed=9), accept_late=True)
        text = task.to_json()
        self.assertIn('"privacy":{"clip":1,"noise_multiplier":1e-7}', text)
        self.assertIn('"attack":{"kind":"scale","fraction":0.5,"factor":-10,"seed":9}', text)
        self.assertTrue(text.endswith('"accept_late":true}'))
        self.assertEqual(Task.from_json(text), task)

    def test_tokens_sign_utf8_lengths(self) -> None:
        self.assertNotEqual(token.sign("k", "ab", "c"), token.sign("k", "a", "bc"))
        self.assertEqual(len(token.sign("k", "数据")), 64)


if __name__ == "__main__":
    unittest.main()
