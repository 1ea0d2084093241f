"""Entry points for each platform's Python convention, each a thin adapter over one
``Client.answer``:

- OpenWhisk: ``main(args: dict) -> dict`` (also as a raw web action);
- Cloud Functions: a function taking a Flask request (functions-framework);
- OpenFaaS python3-http: ``handle(event, context)``;
- AWS Lambda (python3.x): ``lambda_handler(event, context)``.

Each takes a Client or a train function (a Client is made for it, reading the
deployment once, when the module is loaded on a cold start).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, Callable, Union

from . import gojson
from .client import Client, TrainFunc

# The largest request body served (Cloud Functions accepts 10 MB).
MAX_BODY = 10 << 20
JSON_HEADERS = {"Content-Type": "application/json"}


def _client(target: Union[Client, TrainFunc]) -> Client:
    return target if isinstance(target, Client) else Client(target)


def answer_body(client: Client, body: bytes) -> tuple[int, dict]:
    """An HTTP body's answer: its status and JSON object (an empty body is {})."""
    if len(body) > MAX_BODY:
        return 413, {"error": "request too large"}
    if not body.strip():
        body = b"{}"
    try:
        params = gojson.loads(body)
    except (ValueError, UnicodeDecodeError):
        return 400, {"error": "the request body is not JSON"}
    return client.answer(params)


def openwhisk(target: Union[Client, TrainFunc]) -> Callable[[dict], dict]:
    """An OpenWhisk action's main: the activation's parameters in, the result out (an
    error as {"error": …}, which OpenWhisk reports as an application error). A raw web
    action's request (``__ow_method``, its JSON body in ``__ow_body``) is answered as
    {statusCode, headers, body}."""
    client = _client(target)

    def main(args: dict) -> dict:
        if isinstance(args, dict) and "__ow_method" in args:
            status, out = answer_body(client, _web_body(args.get("__ow_body")))
            return {"statusCode": status, "headers": dict(JSON_HEADERS), "body": out}
        return client.answer(args)[1]

    return main


def _web_body(body: Any) -> bytes:
    """A raw web action's body: OpenWhisk passes a JSON body base64-encoded."""
    if not isinstance(body, str) or not body:
        return b""
    try:
        decoded = base64.b64decode(body, validate=True)
        json.loads(decoded)
        return decoded
    except (binascii.Error, ValueError):
        return body.encode("utf-8")


def cloud_function(target: Union[Client, TrainFunc]) -> Callable[[Any], tuple[dict, int, dict]]:
    """A Cloud Functions HTTP function: a Flask request in, (JSON body, status,
    headers) out; register it with ``functions_framework.http`` or name it as the
    entry point."""
    client = _client(target)

    def entry(request: Any) -> tuple[dict, int, dict]:
        status, out = answer_body(client, request.get_data(cache=False))
        return out, status, dict(JSON_HEADERS)

    return entry


def openfaas(target: Union[Client, TrainFunc]) -> Callable[[Any, Any], dict]:
    """An OpenFaaS python3-http handler: the event's body (bytes) in, a dict with
    statusCode, headers and the JSON body out."""
    client = _client(target)

    def handle(event: Any, context: Any = None) -> dict:
        body = getattr(event, "body", b"")
        if isinstance(body, str):
            body = body.encode("utf-8")
        status, out = answer_body(client, body or b"")
        return {"statusCode": status, "headers": dict(JSON_HEADERS), "body": out}

    return handle


class FunctionError(Exception):
    """A client's refusal or failure, raised in a Lambda handler so that Lambda reports
    a function error (X-Amz-Function-Error), which the keeper retries."""


def aws_lambda(target: Union[Client, TrainFunc]) -> Callable[[Any, Any], dict]:
    """An AWS Lambda handler: the invocation's event (the task's JSON object) in, the
    result out. A refused or failed task raises FunctionError with the client's
    message, so Lambda marks the invocation failed instead of answering a success that
    holds an error."""
    client = _client(target)

    def lambda_handler(event: Any, context: Any = None) -> dict:
        if isinstance(event, (bytes, str)):
            status, out = answer_body(client, event.encode("utf-8") if isinstance(event, str) else event)
        else:
            status, out = client.answer(event if event is not None else {})
        if status >= 400:
            raise FunctionError(out.get("error", f"the client answered HTTP {status}"))
        return out

    return lambda_handler
