"""The part of functions-framework a Cloud Functions source imports, for the local
fabric, where functions-framework is not installed: the decorators record each
function's signature type, which the fabric's runner reads. An installed
functions-framework comes first on sys.path and is used instead."""

import functools

signature_types = {}


def _register(kind):
    def decorator(function):
        signature_types[function.__name__] = kind

        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            return function(*args, **kwargs)

        return wrapper

    return decorator


http = _register("http")
cloud_event = _register("cloudevent")
