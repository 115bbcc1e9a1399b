"""moto's server with DynamoDB requests processed one at a time.

moto's threaded server runs requests concurrently against in-memory backends that do not lock,
so a conditional TransactWriteItems can interleave with another (DynamoDB itself applies each
atomically). Serialising DynamoDB's requests, while still accepting connections on many threads,
gives the tests DynamoDB's per-request atomicity without keep-alive connections blocking others.

Only DynamoDB is serialised: an SQS ReceiveMessage long poll (the events poller of `ferry serve
--backend aws` keeps one open all the time) would otherwise hold every other request back for up
to its 20 s wait, and S3, SQS and Cognito need no more atomicity than moto gives them.

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


def is_dynamodb(environ) -> bool:
    """DynamoDB's JSON protocol names its operation in `X-Amz-Target: DynamoDB_20120810.<op>`."""
    return environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB")


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    os.environ.setdefault("MOTO_PORT", str(port))
    app = DomainDispatcherApplication(create_backend_app)
    dynamodb = threading.Lock()

    def serve(environ, start_response):
        if not is_dynamodb(environ):
            return app(environ, start_response)
        with dynamodb:
            # moto builds whole responses, so the body is complete when the call returns.
            return list(app(environ, start_response))

    run_simple(host, port, serve, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
