"""Cloud Functions' Python runtime as the local fabric runs it: what functions-framework
does for an HTTP function, on Flask.

Usage: python3 fabric_gcf.py [--check]

Environment, as functions-framework reads it: FUNCTION_TARGET names the function (it
must be set), FUNCTION_SOURCE the file (main.py in the working directory by default),
FUNCTION_SIGNATURE_TYPE its type (http, the only one served here; a decorator wins),
PORT and HOST where to listen. The function gets the flask.Request of every request to
/ or /<path> (any method; /robots.txt and /favicon.ico are 404) and its return value is
made into the response as Flask's make_response does; an exception, or None, answers
500 with the header X-Google-Status: crash, and the traceback goes to stderr.

--check does what a deploy does before the function takes traffic (the fabric has
checked requirements.txt before): loads the source, finds the function, and exits 1
with the reason on stderr when either fails.
"""

import importlib.util
import os
import sys
import types

import flask

import fabric_serve

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


class LoadError(Exception):
    """The source cannot serve: the deploy fails with this message."""


def load():
    """The function FUNCTION_TARGET names in FUNCTION_SOURCE."""
    target = os.environ.get("FUNCTION_TARGET", "")
    source = os.environ.get("FUNCTION_SOURCE", "main.py")
    if not target:
        raise LoadError("Target is not specified (FUNCTION_TARGET environment variable not set)")
    if not os.path.exists(source):
        raise LoadError("File %s that is expected to define function doesn't exist" % source)
    folder = os.path.dirname(os.path.abspath(source))
    sys.path.insert(0, folder)
    sys.path.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), "fabric_shim"))
    name = os.path.splitext(os.path.basename(source))[0]
    spec = importlib.util.spec_from_file_location(name, source)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return target_of(module, source, target)


def target_of(module, source, target):
    function = getattr(module, target, None)
    if function is None:
        found = ", ".join("'%s'" % n for n, v in vars(module).items() if isinstance(v, types.FunctionType))
        raise LoadError("File %s is expected to contain a function named '%s'. Found: %s instead" % (source, target, found))
    if not isinstance(function, types.FunctionType):
        raise LoadError("The function defined in file %s as '%s' needs to be of type function. Got: %s"
                        % (source, target, type(function)))
    registered = getattr(sys.modules.get("functions_framework"), "signature_types", {})
    kind = registered.get(target) or os.environ.get("FUNCTION_SIGNATURE_TYPE", "http")
    if kind != "http":
        raise LoadError("Function %s is of signature type %s; the local fabric serves HTTP functions only" % (target, kind))
    return function


def crash(error):
    return str(error), 500, {"X-Google-Status": "crash"}


def app_for(function):
    app = flask.Flask(os.environ["FUNCTION_TARGET"])

    def run(path):
        return function(flask.request._get_current_object())

    def not_found():
        flask.abort(404, description="Not Found")

    app.add_url_rule("/robots.txt", "robots", not_found, methods=METHODS)
    app.add_url_rule("/favicon.ico", "favicon", not_found, methods=METHODS)
    app.add_url_rule("/", "run", run, defaults={"path": ""}, methods=METHODS, provide_automatic_options=False)
    app.add_url_rule("/<path:path>", "run", run, methods=METHODS, provide_automatic_options=False)
    app.register_error_handler(500, crash)
    return app


def main():
    try:
        function = load()
    except LoadError as e:
        sys.exit(str(e))
    if "--check" not in sys.argv[1:]:
        fabric_serve.serve(app_for(function))


if __name__ == "__main__":
    main()
