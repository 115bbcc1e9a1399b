"""AWS's DynamoDB Local, reachable only through a Unix socket.

DynamoDB Local listens on every interface and has no option to bind loopback only, so this
script is run inside a network namespace of the test's own (`unshare --net`), where the only
interface is a loopback nobody else shares. It brings that loopback up, starts DynamoDB Local
on it (in memory), and forwards each connection made to SOCKET to it. A Unix socket is a file,
not a network address, so the test outside the namespace can connect to it; the test harness
(`aws_support/dynamodb_local.rs`) forwards its own loopback port to SOCKET.

Prints `ready` once DynamoDB Local answers and SOCKET accepts connections; exits (and takes
DynamoDB Local with it) when its parent goes away.

usage: python3 dynamodb_local.py JAR SOCKET LOG
"""

import ctypes
import fcntl
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

PORT = 8000
STARTUP_SECONDS = 120
PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Asks the kernel to kill this process when its parent dies, so nothing outlives a test."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def loopback_up() -> None:
    """`ip link set lo up`, without needing iproute2: a new namespace's loopback starts down."""
    siocgifflags, siocsifflags, iff_up = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        request = struct.pack("16sH22x", b"lo", 0)
        flags = struct.unpack("16sH22x", fcntl.ioctl(s, siocgifflags, request))[1]
        fcntl.ioctl(s, siocsifflags, struct.pack("16sH22x", b"lo", flags | iff_up))


def start_dynamodb_local(jar: str, log: str) -> subprocess.Popen:
    lib = os.path.join(os.path.dirname(jar), "DynamoDBLocal_lib")
    with open(log, "wb") as out:
        return subprocess.Popen(
            [
                "java",
                "-Xmx512m",
                f"-Djava.library.path={lib}",
                "-jar",
                jar,
                "-inMemory",
                "-disableTelemetry",
                "-port",
                str(PORT),
            ],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            # It writes a metadata file into its working directory: keep that temporary too.
            cwd=os.path.dirname(log),
            preexec_fn=die_with_parent,
        )


def wait_until_listening(java: subprocess.Popen, log: str) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        try:
            socket.create_connection(("127.0.0.1", PORT), timeout=1).close()
            return
        except OSError:
            pass
        if java.poll() is not None:
            sys.exit(f"DynamoDB Local exited with {java.returncode}; see {log}")
        if time.monotonic() > deadline:
            sys.exit(f"DynamoDB Local did not listen within {STARTUP_SECONDS} s; see {log}")
        time.sleep(0.05)


def pump(source: socket.socket, sink: socket.socket) -> None:
    """Copies one direction until its end closes, then passes the close on."""
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    try:
        sink.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def forward(client: socket.socket) -> None:
    try:
        upstream = socket.create_connection(("127.0.0.1", PORT))
    except OSError:
        client.close()
        return
    back = threading.Thread(target=pump, args=(upstream, client), daemon=True)
    back.start()
    pump(client, upstream)
    back.join()
    client.close()
    upstream.close()


def main() -> None:
    jar, path, log = (os.path.abspath(arg) for arg in sys.argv[1:4])
    die_with_parent()
    loopback_up()
    java = start_dynamodb_local(jar, log)
    wait_until_listening(java, log)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    print("ready", flush=True)
    while True:
        client, _ = listener.accept()
        threading.Thread(target=forward, args=(client,), daemon=True).start()


if __name__ == "__main__":
    main()
