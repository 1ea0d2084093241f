"""A runtime interface client for Lambda's Python runtimes, as the local fabric runs
them: the standard library only (the pip registry is out of reach, so AWS's
awslambdaric is not installed).

Usage: python3 fabric_lambda.py, in the function's unpacked code (LAMBDA_TASK_ROOT,
else the working folder), with _HANDLER naming module.function and
AWS_LAMBDA_RUNTIME_API the Runtime API's host:port.

The handler's module is imported once; if that fails, the error goes to
/runtime/init/error (Runtime.ImportModuleError, Runtime.HandlerNotFound) and the
process exits. Then, for every event from /runtime/invocation/next, the handler is
called with the decoded JSON event and a context (aws_request_id,
invoked_function_arn, function_name, function_version, memory_limit_in_mb,
log_group_name, log_stream_name, get_remaining_time_in_millis()); its return value
goes back as JSON to …/response, an exception as Lambda's error document
(errorMessage, errorType: the exception's class, stackTrace) to …/error.
"""

import importlib
import json
import os
import sys
import time
import traceback
import urllib.request

API = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime"


def post(path, document):
    data = document if isinstance(document, bytes) else json.dumps(document).encode()
    request = urllib.request.Request(API + path, data=data, method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as answer:
        answer.read()


def error_document(exc, error_type=None):
    return {
        "errorMessage": str(exc),
        "errorType": error_type or type(exc).__name__,
        "stackTrace": traceback.format_exception(type(exc), exc, exc.__traceback__),
    }


def load_handler():
    name = os.environ.get("_HANDLER", "")
    module_name, _, function_name = name.rpartition(".")
    if not module_name:
        raise LookupError("Runtime.MalformedHandlerName", f"bad handler {name!r}: want module.function")
    sys.path.insert(0, os.environ.get("LAMBDA_TASK_ROOT", os.getcwd()))
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise LookupError("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}") from exc
    handler = getattr(module, function_name, None)
    if not callable(handler):
        raise LookupError("Runtime.HandlerNotFound", f"Handler '{function_name}' missing on module '{module_name}'")
    return handler


class Context:
    def __init__(self, headers):
        self.aws_request_id = headers.get("Lambda-Runtime-Aws-Request-Id", "")
        self.invoked_function_arn = headers.get("Lambda-Runtime-Invoked-Function-Arn", "")
        self._deadline_ms = int(headers.get("Lambda-Runtime-Deadline-Ms", "0"))
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")

    def get_remaining_time_in_millis(self):
        return max(0, self._deadline_ms - int(time.time() * 1000))


def serve(handler):
    while True:
        with urllib.request.urlopen(API + "/invocation/next") as answer:
            headers = answer.headers
            body = answer.read()
        context = Context(headers)
        request_id = context.aws_request_id
        try:
            event = json.loads(body) if body else None
            result = handler(event, context)
        except Exception as exc:  # the function's own failure: Lambda reports it
            traceback.print_exc()
            post(f"/invocation/{request_id}/error", error_document(exc))
            continue
        try:
            answer = json.dumps(result).encode()
        except (TypeError, ValueError) as exc:
            post(f"/invocation/{request_id}/error", error_document(exc, "Runtime.MarshalError"))
            continue
        post(f"/invocation/{request_id}/response", answer)


def main():
    try:
        handler = load_handler()
    except LookupError as exc:
        error_type, message = exc.args
        print(message, file=sys.stderr)
        post("/init/error", {"errorMessage": message, "errorType": error_type, "stackTrace": []})
        sys.exit(1)
    serve(handler)


if __name__ == "__main__":
    main()
