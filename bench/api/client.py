#!/usr/bin/env python3
"""The client half of bench/api (standard library only): sign-ups and sign-ins through the local
identity provider's Cognito JSON API, a burst of concurrent sign-ins, and a walk through every
page of the file list. Each command prints one JSON object."""

import argparse
import base64
import collections
import http.client
import json
import threading
import time
import urllib.parse

PASSWORD = "bench-Passw0rd-1"


def connection(base):
    url = urllib.parse.urlsplit(base)
    return http.client.HTTPConnection(url.hostname, url.port, timeout=120)


def cognito(conn, target, body):
    conn.request(
        "POST",
        "/",
        body=json.dumps(body),
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": f"AWSCognitoIdentityProviderService.{target}",
        },
    )
    response = conn.getresponse()
    return response.status, json.loads(response.read() or b"{}")


def sign_in(conn, client_id, email):
    status, body = cognito(
        conn,
        "InitiateAuth",
        {
            "ClientId": client_id,
            "AuthFlow": "USER_PASSWORD_AUTH",
            "AuthParameters": {"USERNAME": email, "PASSWORD": PASSWORD},
        },
    )
    token = body.get("AuthenticationResult", {}).get("AccessToken") if status == 200 else None
    return status, token


def client_id(conn):
    conn.request("GET", "/config.json")
    return json.loads(conn.getresponse().read())["client_id"]


def users(args):
    """Signs up `count` new users and signs each in, one after another."""
    conn = connection(args.url)
    cid = client_id(conn)
    emails, tokens = [], []
    started = time.monotonic()
    for i in range(args.count):
        email = f"{args.prefix}-{i}-{time.time_ns()}@example.com"
        status, body = cognito(
            conn,
            "SignUp",
            {
                "ClientId": cid,
                "Username": email,
                "Password": PASSWORD,
                "UserAttributes": [{"Name": "email", "Value": email}],
            },
        )
        if status != 200:
            raise SystemExit(f"SignUp answered {status}: {body}")
        status, token = sign_in(conn, cid, email)
        if not token:
            raise SystemExit(f"InitiateAuth answered {status}")
        emails.append(email)
        tokens.append(token)
    print(json.dumps({"emails": emails, "tokens": tokens, "secs": time.monotonic() - started}))


def signin(args):
    """Signs the first user of a `users` answer in again and prints its access token."""
    with open(args.users) as f:
        email = json.load(f)["emails"][0]
    conn = connection(args.url)
    status, token = sign_in(conn, client_id(conn), email)
    if not token:
        raise SystemExit(f"InitiateAuth answered {status}")
    print(token)


def burst(args):
    """`count` sign-ins released at the same moment, each on its own connection, each retried
    while the server says it is busy."""
    with open(args.users) as f:
        emails = json.load(f)["emails"]
    cid = client_id(connection(args.url))
    conns = [connection(args.url) for _ in range(args.count)]
    for conn in conns:
        conn.connect()
    statuses = collections.Counter()
    lock = threading.Lock()
    gate = threading.Barrier(args.count)

    def one(i):
        gate.wait()
        # The server sheds password work beyond its bound (Cognito's TooManyRequestsException,
        # with Retry-After): a client retries, so every sign-in of the burst is hashed in the end.
        for _ in range(60):
            try:
                status, token = sign_in(conns[i], cid, emails[i % len(emails)])
            except Exception as err:  # noqa: BLE001 - a failed request is a figure, not a crash
                status, token = type(err).__name__, None
            if token or status != 400:
                break
            with lock:
                statuses["retried after 400"] += 1
            time.sleep(1)
        with lock:
            statuses[str(status)] += 1

    started = time.monotonic()
    threads = [threading.Thread(target=one, args=(i,)) for i in range(args.count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps({"statuses": statuses, "secs": time.monotonic() - started}))


def scan(args):
    """Reads every page of GET /api/files (100 a page) on one kept-alive connection."""
    conn = connection(args.url)
    headers = {"Authorization": f"Bearer {args.token}"}
    cursor, records, pages = None, 0, 0
    started = time.monotonic()
    while True:
        path = "/api/files?limit=100" + (f"&cursor={cursor}" if cursor else "")
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        body = json.loads(response.read())
        if response.status != 200:
            raise SystemExit(f"GET {path} answered {response.status}: {body}")
        records += len(body["items"])
        pages += 1
        cursor = body.get("next_cursor")
        if not cursor:
            break
    print(json.dumps({"records": records, "pages": pages, "secs": time.monotonic() - started}))


def sub(args):
    payload = args.token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    print(claims["sub"])


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    commands = parser.add_subparsers(required=True)
    p = commands.add_parser("users")
    p.add_argument("url")
    p.add_argument("prefix")
    p.add_argument("count", type=int)
    p.set_defaults(run=users)
    p = commands.add_parser("signin")
    p.add_argument("url")
    p.add_argument("users")
    p.set_defaults(run=signin)
    p = commands.add_parser("burst")
    p.add_argument("url")
    p.add_argument("users")
    p.add_argument("count", type=int)
    p.set_defaults(run=burst)
    p = commands.add_parser("scan")
    p.add_argument("url")
    p.add_argument("token")
    p.set_defaults(run=scan)
    p = commands.add_parser("sub")
    p.add_argument("token")
    p.set_defaults(run=sub)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
