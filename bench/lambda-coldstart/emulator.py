#!/usr/bin/env python3
"""A local Lambda Runtime API (and the two AWS services the API's first request needs) for
bench/lambda-coldstart, standard library and the `openssl` CLI only.

For each run it starts a bootstrap with a Lambda-like environment, hands it one API Gateway v2
event on its first `GET /2018-06-01/runtime/invocation/next`, and times process start → that
first poll (init) and → the `POST …/response` (init + first answer); then kills the process, as
Lambda would freeze it. The same port serves a JWKS (for the token in the authenticated event)
and answers DynamoDB `Query` with an empty page (`AWS_ENDPOINT_URL` points at it), so the
authenticated request runs its whole path: key fetch, signature check, a signed SDK call.

    emulator.py RUNS EVENTS_DIR NAME=BOOTSTRAP:EVENT [NAME=BOOTSTRAP:EVENT …]

prints one JSON object: per name, the list of runs (`init_ms`, `first_ms`, `hwm_kib`, status).
"""

import base64
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Bench"
CLIENT_ID = "bench-client"
SUB = "3f1c2a9e-1111-4222-8333-944455556666"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_key(tmp):
    """An RSA key (PEM) and its JWKS."""
    pem = os.path.join(tmp, "key.pem")
    subprocess.run(["openssl", "genrsa", "-out", pem, "2048"], check=True, capture_output=True)
    modulus = subprocess.run(
        ["openssl", "rsa", "-in", pem, "-noout", "-modulus"], check=True, capture_output=True, text=True
    ).stdout.strip().split("=", 1)[1]
    n = b64url(bytes.fromhex(modulus))
    jwks = {"keys": [{"kty": "RSA", "kid": "bench", "alg": "RS256", "use": "sig", "n": n, "e": "AQAB"}]}
    return pem, jwks


def make_token(pem):
    now = int(time.time())
    header = b64url(json.dumps({"alg": "RS256", "kid": "bench", "typ": "JWT"}).encode())
    claims = {
        "sub": SUB, "iss": ISSUER, "client_id": CLIENT_ID, "token_use": "access",
        "scope": "openid email", "auth_time": now, "iat": now, "exp": now + 3600,
        "jti": str(uuid.uuid4()), "username": SUB,
    }
    payload = b64url(json.dumps(claims).encode())
    signing_input = f"{header}.{payload}".encode()
    signature = subprocess.run(
        ["openssl", "dgst", "-sha256", "-sign", pem], input=signing_input, check=True, capture_output=True
    ).stdout
    return f"{header}.{payload}.{b64url(signature)}"


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.event = None  # bytes handed out by the next /next
        self.request_id = None
        self.polled = None  # monotonic time of the first /next of this run
        self.done = threading.Event()
        self.outcome = None
        self.stop = threading.Event()


# The JWKS, shared by every run's server.
JWKS = {"doc": b"{}"}


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A bootstrap killed while it waited for its next event: nothing to report.
        pass


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body, content_type="application/json", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_GET(self):
        STATE = self.server.state
        if self.path == "/2018-06-01/runtime/invocation/next":
            with STATE.lock:
                event, STATE.event = STATE.event, None
                if STATE.polled is None:
                    STATE.polled = time.monotonic()
                request_id = STATE.request_id
            if event is None:
                # Lambda would freeze the process here; the bench kills it instead.
                STATE.stop.wait(60)
                self.reply(500, b"{}")
                return
            deadline = int(time.time() * 1000) + 30_000
            self.reply(200, event, headers=[
                ("Lambda-Runtime-Aws-Request-Id", request_id),
                ("Lambda-Runtime-Deadline-Ms", str(deadline)),
                ("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:bench"),
                ("Lambda-Runtime-Trace-Id", "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0"),
            ])
        elif self.path == "/jwks.json":
            self.reply(200, JWKS["doc"])
        else:
            self.reply(404, b"{}")

    def do_POST(self):
        STATE = self.server.state
        body = self.body()
        if self.path.startswith("/2018-06-01/runtime/"):
            now = time.monotonic()
            kind = self.path.rsplit("/", 1)[-1]
            self.reply(202, b'{"status":"OK"}')
            STATE.outcome = (now, kind, body)
            STATE.done.set()
        elif self.headers.get("X-Amz-Target", "").startswith("DynamoDB_20120810.Query"):
            self.reply(200, b'{"Count":0,"Items":[],"ScannedCount":0}', "application/x-amz-json-1.0")
        else:
            self.reply(404, b"{}")


def lambda_env(port, home):
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": home,
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}",
        "AWS_LAMBDA_FUNCTION_NAME": "bench",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/bench",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/01/01/[$LATEST]bench",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "ASIABENCHBENCHBENCH0",
        "AWS_SECRET_ACCESS_KEY": "bench/secret/key/bench/secret/key/bench00",
        "AWS_SESSION_TOKEN": "bench-session-token",
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "FERRY_BUCKET": "bench-files",
        "FERRY_TABLE": "bench-table",
        "FERRY_COGNITO_ISSUER": ISSUER,
        "FERRY_COGNITO_JWKS_URL": f"http://127.0.0.1:{port}/jwks.json",
        "FERRY_COGNITO_CLIENT_ID": CLIENT_ID,
        "FERRY_PUBLIC_BASE_URL": "https://ferry.example",
        "RUST_LOG": "info",
    }


def hwm_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def run_once(bootstrap, event):
    """One cold start, on a Runtime API of its own (a fresh port): a killed process's last poll
    can never take the next run's event."""
    server = Server(("127.0.0.1", 0), Handler)
    state = server.state = State()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = lambda_env(server.server_address[1], TMP["dir"])
    state.request_id = str(uuid.uuid4())
    state.event = event
    started = time.monotonic()
    proc = subprocess.Popen([bootstrap], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    finished = state.done.wait(30)
    hwm = hwm_kib(proc.pid)
    proc.send_signal(signal.SIGKILL)
    _, stderr = proc.communicate()
    state.stop.set()
    server.shutdown()
    server.server_close()
    if not finished:
        raise SystemExit(f"{bootstrap}: no response within 30 s\n{stderr.decode(errors='replace')}")
    at, kind, body = state.outcome
    status = None
    if kind == "response":
        try:
            status = json.loads(body).get("statusCode")
        except ValueError:
            pass
    if kind != "response" or status != 200:
        raise SystemExit(f"{bootstrap}: {kind} {body[:500]!r}\n{stderr.decode(errors='replace')[-2000:]}")
    return {
        "init_ms": (state.polled - started) * 1000,
        "first_ms": (at - started) * 1000,
        "hwm_kib": hwm,
    }


TMP = {"dir": "/tmp"}


def main():
    runs, events_dir, specs = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
    tmp = TMP["dir"] = tempfile.mkdtemp(prefix="ferry-coldstart-")
    pem, jwks = make_key(tmp)
    JWKS["doc"] = json.dumps(jwks).encode()
    token = make_token(pem)

    cases = []
    for spec in specs:
        name, rest = spec.split("=", 1)
        bootstrap, event_file = rest.rsplit(":", 1)
        with open(os.path.join(events_dir, event_file)) as f:
            event = f.read()
        for placeholder, value in [("__TOKEN__", token), ("__ISSUER__", ISSUER),
                                   ("__CLIENT_ID__", CLIENT_ID), ("__SUB__", SUB)]:
            event = event.replace(placeholder, value)
        cases.append((name, bootstrap, event.encode()))

    results = {name: [] for name, _, _ in cases}
    # One discarded run each: the first start also reads the binary from disk.
    for name, bootstrap, event in cases:
        run_once(bootstrap, event)
    # Interleaved, so a burst of load from elsewhere hits every case alike.
    for _ in range(runs):
        for name, bootstrap, event in cases:
            results[name].append(run_once(bootstrap, event))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
