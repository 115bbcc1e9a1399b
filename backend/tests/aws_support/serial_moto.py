"""moto's server with one request processed at a time.

moto's threaded server runs requests concurrently against in-memory backends that do not lock,
so a conditional TransactWriteItems can interleave with another (DynamoDB itself applies each
atomically). Serialising request processing, while still accepting connections on many threads,
gives the tests DynamoDB's per-request atomicity without keep-alive connections blocking others.

usage: python serial_moto.py HOST PORT
"""

import os
import sys
import threading

from werkzeug.serving import run_simple

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    os.environ.setdefault("MOTO_PORT", str(port))
    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def serial(environ, start_response):
        with lock:
            # moto builds whole responses, so the body is complete when the call returns.
            return list(app(environ, start_response))

    run_simple(host, port, serial, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
