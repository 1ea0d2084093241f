"""OpenFaaS's python3-http template as the local fabric runs it: the part of the
template's index.py that the of-watchdog forwards requests to, on Flask.

Usage: python3 fabric_openfaas.py, in a folder holding function/handler.py (the layout
faas-cli build gives the template's function folder).

function.handler.handle(event, context) is called for every request to / or /<path>
(GET, PUT, POST, PATCH, DELETE) with event.body (the raw bytes), event.headers,
event.method, event.query, event.path and context.hostname ($HOSTNAME, else localhost).
Its return value becomes the answer as the template makes it: None is an empty 200; a
dict is (its body, its statusCode or 200, its headers), the body as JSON when it is a
dict, "" when missing and str() of anything else; any other value goes to Flask as it
is. An exception is Flask's own 500. It serves on $PORT.
"""

import os
import sys

import flask

import fabric_serve

METHODS = ["GET", "PUT", "POST", "PATCH", "DELETE"]


class Event:
    def __init__(self, request):
        self.body = request.get_data()
        self.headers = request.headers
        self.method = request.method
        self.query = request.args
        self.path = request.path


class Context:
    def __init__(self):
        self.hostname = os.getenv("HOSTNAME", "localhost")


def answer(result):
    """The template's reading of a handler's return value (it tests for exactly dict)."""
    if result is None:
        return "", 200
    if type(result) is not dict:
        return result
    if "body" not in result:
        body = ""
    elif type(result["body"]) is dict:
        body = flask.jsonify(result["body"])
    else:
        body = str(result["body"])
    headers = result.get("headers", [])
    if type(headers) is dict:
        headers = list(headers.items())
    return body, result.get("statusCode", 200), headers


def app_for(handler):
    app = flask.Flask("index")

    def call(path):
        return answer(handler.handle(Event(flask.request), Context()))

    app.add_url_rule("/", "call", call, defaults={"path": ""}, methods=METHODS)
    app.add_url_rule("/<path:path>", "call", call, methods=METHODS)
    return app


if __name__ == "__main__":
    sys.path.insert(0, os.getcwd())
    from function import handler

    fabric_serve.serve(app_for(handler))
