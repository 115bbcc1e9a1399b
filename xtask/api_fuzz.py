#!/usr/bin/env python3
"""Property-based fuzzing of Ferry's HTTP API from the OpenAPI document it serves.

`cargo xtask test` runs this after the Rust tests: it starts `target/debug/ferry serve` on two
free loopback ports with a fresh data directory, signs a user up and in through the local
identity provider's Cognito JSON API (SignUp + InitiateAuth USER_PASSWORD_AUTH on `POST /`),
and runs schemathesis (`st`, pinned in xtask/requirements-test.txt) against
`/api/openapi.json` with that bearer token. Any 5xx answer fails the run; the server's log is
kept in target/api-fuzz-ferry.log.

    .tools/venv/bin/python xtask/api_fuzz.py [--max-examples N]
"""

import argparse
import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parent.parent
FERRY = ROOT / "target" / "debug" / "ferry"
CLIENT_ID = "ferry-local-client"  # LOCAL_CLIENT_ID in backend/src/local.rs
TARGET_PREFIX = "AWSCognitoIdentityProviderService."
USER = "fuzz@example.com"
PASSWORD = "Fuzz-password-0123456789"


def free_port(taken: set[int]) -> int:
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in taken:
            return port


def cognito(url: str, action: str, body: dict) -> dict:
    request = urllib.request.Request(
        url + "/",
        data=json.dumps(body).encode(),
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": TARGET_PREFIX + action,
        },
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


def wait_for_health(url: str, server: subprocess.Popen, log: pathlib.Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"api fuzz: ferry serve exited ({server.returncode}); see {log}")
        try:
            with urllib.request.urlopen(url + "/api/health", timeout=5):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    sys.exit(f"api fuzz: ferry serve did not answer /api/health within 120 s; see {log}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=60, help="test cases per operation")
    args = parser.parse_args()
    if not FERRY.exists():
        sys.exit(f"api fuzz: {FERRY} is missing (build the workspace first)")
    st = pathlib.Path(sys.executable).parent / "st"
    if not st.exists():
        sys.exit(f"api fuzz: {st} is missing (cargo xtask setup installs it)")

    tmp = pathlib.Path(tempfile.mkdtemp(prefix="ferry-api-fuzz-"))
    site = tmp / "site"
    site.mkdir()
    (site / "index.html").write_text("<!doctype html><title>Ferry</title>\n")
    port = free_port(set())
    s3_port = free_port({port})
    url = f"http://127.0.0.1:{port}"
    log = ROOT / "target" / "api-fuzz-ferry.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as log_file:
        server = subprocess.Popen(
            [
                str(FERRY), "serve",
                "--port", str(port),
                "--s3-port", str(s3_port),
                "--data-dir", str(tmp / "data"),
                "--site-dir", str(site),
            ],
            cwd=ROOT,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env={**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "info,tower_http=warn")},
        )
    try:
        wait_for_health(url, server, log)
        cognito(url, "SignUp", {
            "ClientId": CLIENT_ID,
            "Username": USER,
            "Password": PASSWORD,
            "UserAttributes": [{"Name": "email", "Value": USER}],
        })
        auth = cognito(url, "InitiateAuth", {
            "ClientId": CLIENT_ID,
            "AuthFlow": "USER_PASSWORD_AUTH",
            "AuthParameters": {"USERNAME": USER, "PASSWORD": PASSWORD},
        })
        token = auth["AuthenticationResult"]["AccessToken"]
        command = [
            str(st), "run", f"{url}/api/openapi.json",
            "--url", url,
            "--header", f"Authorization: Bearer {token}",
            "--checks", "not_a_server_error",
            "--max-examples", str(args.max_examples),
            # One request at a time: the fuzz looks for wrong answers, not for load limits.
            "--workers", "1",
            "--request-timeout", "30",
            "--generation-database", "none",
        ]
        print("$ " + " ".join(c if "Bearer" not in c else "--header 'Authorization: Bearer …'" for c in command), flush=True)
        result = subprocess.run(command, cwd=tmp)
        if result.returncode != 0:
            print(f"api fuzz: FAILED (server log: {log})", file=sys.stderr)
        return result.returncode
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
