"""The envelope of every invocation (protocol §2): the task as JSON text, signed whole
with the key both sides were deployed with, good until its expiry.

``open_request`` accepts exactly what the Go SDK accepts: an object with only the
envelope's fields (a field named like a key is reported before any other unknown
field), protocol 1, the function's kind, a token that verifies in constant time, an
expiry not past, and a task that decodes strictly.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from dataclasses import dataclass
from typing import Any, Optional

from . import deployment, gojson, token
from .errors import Expired, FedKeeperError, Refused
from .task import Task

PROTOCOL = 1
KIND_CLIENT = "fl_client"
ENVELOPE_FIELDS = ("fedkeeper", "kind", "expires", "task", "token", "inline")


@dataclass(frozen=True)
class Weights:
    """Weights in transit: their float32 little-endian bytes and SHA-256."""

    data: bytes
    sha256: str

    def to_json(self) -> dict:
        return {"data": base64.b64encode(self.data).decode("ascii"), "sha256": self.sha256}


@dataclass(frozen=True)
class Request:
    """One invocation's parameters, parsed but not yet opened."""

    protocol: int
    kind: str
    expires: int
    task: str
    token: str
    inline: Optional[Weights] = None

    def to_json(self) -> dict:
        out: dict[str, Any] = {"fedkeeper": self.protocol, "kind": self.kind, "expires": self.expires,
                               "task": self.task, "token": self.token}
        if self.inline is not None:
            out["inline"] = self.inline.to_json()
        return out


def signed_parts(kind: str, expires: int, task: str) -> tuple[str, ...]:
    """What a request's token signs."""
    return ("fedkeeper invocation", str(PROTOCOL), kind, str(expires), task)


def sign(key: str, kind: str, expires: int, task: str) -> str:
    """The token of a task of kind that expires at expires (Unix seconds)."""
    return token.sign(key, *signed_parts(kind, expires, task))


def seal(key: str, kind: str, task: Task | str, expires: int, inline: Optional[Weights] = None) -> Request:
    """A signed request of kind for task (a Task or its JSON text), good until expires."""
    text = task if isinstance(task, str) else task.to_json()
    return Request(PROTOCOL, kind, int(expires), text, sign(key, kind, int(expires), text), inline)


def carries_key(name: str) -> bool:
    """Whether a field's name is a key's: the old bound parameter, or any secret
    setting's environment variable or secret name, in any case."""
    lower = name.lower()
    if lower == "fedkeeper_key":
        return True
    return any(lower in (deployment.env_name(s).lower(), deployment.secret_name(s))
               for s in deployment.SECRET_SETTINGS)


def parse(raw: Any) -> Request:
    """A request from its JSON text or parsed object, refusing any field the envelope
    does not have (above all a key, which comes only from the deployment)."""
    fields = raw
    if isinstance(raw, (str, bytes, bytearray)):
        try:
            fields = gojson.loads(raw)
        except (ValueError, UnicodeDecodeError) as err:
            raise Refused(f"request refused: the parameters are not a JSON object: {err}") from err
    if not isinstance(fields, dict):
        raise Refused("request refused: the parameters are not a JSON object")
    names = sorted(fields)
    for name in names:
        if carries_key(name):
            raise Refused(f"request refused: it carries {json.dumps(name)}, and keys come only from "
                          "the function's deployment")
    for name in names:
        if name not in ENVELOPE_FIELDS:
            raise Refused(f"request refused: unknown field {json.dumps(name)} (a FedKeeper invocation has "
                          "fedkeeper, kind, expires, task, token and inline)")
    try:
        req = Request(protocol=gojson.integer(fields, "fedkeeper", ""), kind=gojson.string(fields, "kind", ""),
                      expires=gojson.integer(fields, "expires", ""), task=gojson.string(fields, "task", ""),
                      token=gojson.string(fields, "token", ""), inline=_inline(fields.get("inline")))
    except Refused as err:
        raise Refused(f"request refused: {err}") from err
    if req.protocol != PROTOCOL:
        raise Refused(f"request refused: protocol {req.protocol}, this function speaks {PROTOCOL} "
                      "(is the keeper the same version?)")
    return req


def _inline(obj: Any) -> Optional[Weights]:
    """Relayed weights, {"data": base64, "sha256": hex}; other fields are ignored, as
    Go's decoder ignores them."""
    if obj is None:
        return None
    if not isinstance(obj, dict):
        raise Refused(f"json: cannot unmarshal {gojson.kind_of(obj)} into inline, an object")
    text = gojson.string(obj, "data", "inline")
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as err:
        raise Refused(f"inline.data is not base64: {err}") from err
    return Weights(data, gojson.string(obj, "sha256", "inline"))


def open_request(req: Request, key: str, kind: str, now: Optional[float] = None) -> Task:
    """Check that the request is a task of kind, signed with key and not expired, and
    decode its task strictly."""
    if req.kind != kind:
        raise Refused(f"request refused: a {json.dumps(req.kind)} task sent to {kind}")
    token.verify(key, req.token, *signed_parts(kind, req.expires, req.task))
    current = int(time.time() if now is None else now)
    if current > req.expires:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(current))
        raise Expired(f"request expired {current - req.expires} s ago (this function's clock: {stamp})")
    try:
        return Task.from_json(req.task)
    except FedKeeperError as err:
        raise Refused(f"request refused: the {kind} task: {err}") from err


def open_raw(raw: Any, key: str, kind: str = KIND_CLIENT, now: Optional[float] = None) -> tuple[Request, Task]:
    """parse, then open_request."""
    req = parse(raw)
    return req, open_request(req, key, kind, now)
