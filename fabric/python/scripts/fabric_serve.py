"""Serves a WSGI app on $PORT for the fabric's HTTP runners: with waitress when this
interpreter has it (as OpenFaaS's python3-http template serves), otherwise with the
server that comes with Flask. HOST defaults to 127.0.0.1: the fabric's functions are
reached through the fabric only."""

import os


def serve(app):
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "8080"))
    try:
        import waitress
    except ImportError:
        app.run(host=host, port=port, threaded=False)
        return
    waitress.serve(app, host=host, port=port)
