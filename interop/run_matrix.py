#!/usr/bin/env python3
"""The cross-implementation interop matrix.

Starts the interop servers of this repository (Rust, and the Python grpcio
and Node grpc-js peers), each over h2c and over TLS with the test PKI of
interop/certs, then runs the interop clients against them:

- our Rust client against our server, the grpcio server and the grpc-js server;
- the grpcio client and the grpc-js client against our server;

each over h2c and TLS (verifying the server as foo.test.google.fr), and prints
the matrix: one row per case, one column per client -> server and transport.
Cases a peer cannot express are listed as n/a with the reason. The last line
is ``N passed, N failed``; the exit status is 1 if any case failed.

    python3 interop/run_matrix.py             # builds the Rust binaries first
    python3 interop/run_matrix.py --no-build  # uses target/debug as it is

Needs a Python with grpcio and grpcio-tools (GRPC_TEST_PYTHON, else
target/peers/venv/bin/python, else this Python) and node with
interop/node/node_modules installed (scripts/test.sh sets both up).
Only the Python standard library is used here.
"""

import argparse
import os
import queue
import re
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))

CASES = [
    "empty_unary",
    "large_unary",
    "client_compressed_unary",
    "server_compressed_unary",
    "client_streaming",
    "client_compressed_streaming",
    "server_streaming",
    "server_compressed_streaming",
    "ping_pong",
    "empty_stream",
    "custom_metadata",
    "status_code_and_message",
    "special_status_message",
    "unimplemented_method",
    "unimplemented_service",
    "cancel_after_begin",
    "cancel_after_first_response",
    "timeout_on_sleeping_server",
    "concurrent_large_unary",
    "rpc_soak",
]

COMPRESSED = [
    "client_compressed_unary",
    "server_compressed_unary",
    "client_compressed_streaming",
    "server_compressed_streaming",
]

# What each peer cannot express, and why. Our Rust client and server express
# every case.
CLIENT_CANNOT = {
    "grpcio": {
        "client_compressed_streaming": "a grpcio client cannot switch compression off for one message of a stream",
        "server_compressed_unary": "grpcio does not show a response message's compressed flag",
        "server_compressed_streaming": "grpcio does not show a response message's compressed flag",
    },
    "grpc-js": {
        case: "grpc-js has no per-call or per-message compression control and does not show a message's compressed flag"
        for case in COMPRESSED
    },
}
SERVER_CANNOT = {
    "grpcio": {
        "client_compressed_unary": "a grpcio server cannot see whether a request message arrived compressed",
        "client_compressed_streaming": "a grpcio server cannot see whether a request message arrived compressed",
    },
    "grpc-js": {
        case: "a grpc-js server can neither compress chosen response messages nor see whether a request was compressed"
        for case in COMPRESSED
    },
}

PAIRS = [
    ("rust", "rust"),
    ("rust", "grpcio"),
    ("rust", "grpc-js"),
    ("grpcio", "rust"),
    ("grpc-js", "rust"),
]
TRANSPORTS = ["h2c", "tls"]
HOST_OVERRIDE = "foo.test.google.fr"

SERVER_START_LIMIT = 60  # seconds for a server to say it listens
CLIENT_LIMIT = 240  # seconds for one client run (all its cases)


def python():
    if os.environ.get("GRPC_TEST_PYTHON"):
        return os.environ["GRPC_TEST_PYTHON"]
    venv = os.path.join(ROOT, "target", "peers", "venv", "bin", "python")
    return venv if os.path.exists(venv) else sys.executable


def commands(bin_dir):
    py = python()
    return {
        "rust": (
            [os.path.join(bin_dir, "interop-server")],
            [os.path.join(bin_dir, "interop-client")],
        ),
        "grpcio": (
            [py, os.path.join(ROOT, "interop", "python", "interop_server.py")],
            [py, os.path.join(ROOT, "interop", "python", "interop_client.py")],
        ),
        "grpc-js": (
            ["node", os.path.join(ROOT, "interop", "node", "interop_server.js")],
            ["node", os.path.join(ROOT, "interop", "node", "interop_client.js")],
        ),
    }


def not_applicable(client, server, case):
    return CLIENT_CANNOT.get(client, {}).get(case) or SERVER_CANNOT.get(server, {}).get(case)


class Server:
    """One interop server process, on a port it picked itself."""

    def __init__(self, name, transport, command):
        self.name = name
        self.transport = transport
        args = command + ["--port", "0", "--use_tls", "true" if transport == "tls" else "false"]
        self.proc = subprocess.Popen(
            args,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines = queue.Queue()
        self.log = []
        threading.Thread(target=self._pump, daemon=True).start()
        self.port = None

    def _pump(self):
        for line in self.proc.stdout:
            self.log.append(line.rstrip())
            self.lines.put(line)
        self.lines.put(None)

    def wait_listening(self, deadline):
        while self.port is None:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise RuntimeError(f"{self.name} ({self.transport}) did not start within {SERVER_START_LIMIT} s")
            if line is None:
                raise RuntimeError(
                    f"{self.name} ({self.transport}) exited with {self.proc.wait()}: " + " | ".join(self.log[-5:])
                )
            m = re.search(r"listening on (?:\S*:)?(\d+)", line)
            if m:
                self.port = int(m.group(1))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


def run_client(command, client, server, transport, port, cases):
    """Runs one client over the cases; {case: (ok, detail)}."""
    args = command + [
        "--server_host", "127.0.0.1",
        "--server_port", str(port),
        "--test_case", ",".join(cases),
        "--use_tls", "true" if transport == "tls" else "false",
    ]
    if transport == "tls":
        args += ["--use_test_ca", "true", "--server_host_override", HOST_OVERRIDE]
    started = time.monotonic()
    try:
        done = subprocess.run(
            args, cwd=ROOT, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=CLIENT_LIMIT
        )
        out, err, code = done.stdout, done.stderr, done.returncode
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        err, code = f"timed out after {CLIENT_LIMIT} s", None
    results = {}
    for line in out.splitlines():
        m = re.match(r"(PASS|FAIL) (\w+)(?:: (.*)| \((\d+) ms\))?$", line.strip())
        if m:
            results[m.group(2)] = (m.group(1) == "PASS", m.group(3) or f"{m.group(4)} ms")
    for case in cases:
        if case not in results:
            tail = " | ".join((err or "").strip().splitlines()[-3:])
            results[case] = (False, f"no result (client exit {code}): {tail}")
    return (client, server, transport), results, time.monotonic() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-build", action="store_true", help="do not build the Rust binaries first")
    parser.add_argument("--jobs", type=int, default=3, help="clients run at once (default 3)")
    parser.add_argument(
        "--bin-dir", default=os.path.join(ROOT, "target", "debug"), help="where interop-server/-client are"
    )
    opts = parser.parse_args()
    started = time.monotonic()

    if not opts.no_build:
        subprocess.run(
            ["cargo", "build", "--quiet", "-p", "examples", "--bin", "interop-server", "--bin", "interop-client"],
            cwd=ROOT,
            check=True,
            timeout=1200,
        )
    cmds = commands(opts.bin_dir)

    servers = {}
    try:
        needed = sorted({s for _, s in PAIRS})
        for name in needed:
            for transport in TRANSPORTS:
                servers[(name, transport)] = Server(name, transport, cmds[name][0])
        deadline = time.monotonic() + SERVER_START_LIMIT
        for server in servers.values():
            server.wait_listening(deadline)

        jobs = []
        with ThreadPoolExecutor(max_workers=max(1, opts.jobs)) as pool:
            for client, server in PAIRS:
                cases = [c for c in CASES if not not_applicable(client, server, c)]
                for transport in TRANSPORTS:
                    port = servers[(server, transport)].port
                    jobs.append(pool.submit(run_client, cmds[client][1], client, server, transport, port, cases))
            outcomes = [job.result() for job in jobs]
    finally:
        for server in servers.values():
            server.stop()

    results = {key: res for key, res, _ in outcomes}
    print_matrix(results)
    passed = sum(ok for res in results.values() for ok, _ in res.values())
    failed = sum(not ok for res in results.values() for ok, _ in res.values())
    slowest = max(outcomes, key=lambda o: o[2])
    print(
        f"\nwall time {time.monotonic() - started:.1f} s "
        f"(slowest client run: {'->'.join(slowest[0][:2])} {slowest[0][2]}, {slowest[2]:.1f} s)"
    )
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


def print_matrix(results):
    width = max(len(c) for c in CASES) + 2
    columns = [(c, s, t) for c, s in PAIRS for t in TRANSPORTS]
    print("\ninterop matrix: client -> server, over h2c and TLS")
    head1 = " " * width + "".join(f"{c + '->' + s:<16}" for c, s in PAIRS)
    head2 = f"{'case':<{width}}" + "".join(f"{'h2c':<6}{'tls':<10}" for _ in PAIRS)
    print(head1.rstrip())
    print(head2.rstrip())
    for case in CASES:
        cells = []
        for i, (c, s, t) in enumerate(columns):
            res = results.get((c, s, t), {})
            cell = "n/a" if case not in res else ("pass" if res[case][0] else "FAIL")
            cells.append(f"{cell:<6}" if i % 2 == 0 else f"{cell:<10}")
        print(f"{case:<{width}}" + "".join(cells).rstrip())

    print("\nnot applicable (n/a), with the reason:")
    for client, server in PAIRS:
        by_reason = {}
        for case in CASES:
            why = not_applicable(client, server, case)
            if why:
                by_reason.setdefault(why, []).append(case)
        for why, cases in by_reason.items():
            print(f"  {client}->{server}: {', '.join(cases)}: {why}")

    failures = [
        (key, case, detail)
        for key, res in results.items()
        for case, (ok, detail) in res.items()
        if not ok
    ]
    if failures:
        print("\nfailures:")
        for (client, server, transport), case, detail in failures:
            print(f"  {client}->{server} {transport} {case}: {detail}")


if __name__ == "__main__":
    sys.exit(main())
