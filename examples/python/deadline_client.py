"""A Python grpcio client whose calls run past their `timeout=`, run against our server.

Each case calls grpcstack.echo.Echo with a timeout the server cannot meet and
expects DEADLINE_EXCEEDED well before the server would have finished. It
prints `ok <case> <details>` or `FAIL <case>: <reason>`; the exit code is the
number of failed cases. The details say whose status the client saw: our
server's ("... the server stopped the call ...") or grpcio's own timer's.
"""

import argparse
import sys
import time
import traceback

import grpc

import stubs

echo_pb2, echo_pb2_grpc = stubs.load()

TIMEOUT = 0.5  # seconds
SLACK = 5.0  # the call must end well before the handler would have finished


def expect(condition, message):
    if not condition:
        raise AssertionError(message)


def expect_deadline_exceeded(err, start):
    elapsed = time.monotonic() - start
    expect(err.code() == grpc.StatusCode.DEADLINE_EXCEEDED, f"code {err.code()} ({err.details()!r})")
    expect(elapsed >= TIMEOUT * 0.9, f"ended after {elapsed:.3f}s, before the deadline")
    expect(elapsed < SLACK, f"ended after {elapsed:.3f}s")
    return f"after {elapsed:.3f}s: {err.details()}"


def case_unary_past_its_deadline(stub):
    # The handler would wait 60 s before replying.
    start = time.monotonic()
    try:
        stub.Unary(echo_pb2.EchoRequest(message="slow", delay_ms=60_000), timeout=TIMEOUT)
    except grpc.RpcError as err:
        return expect_deadline_exceeded(err, start)
    raise AssertionError("the call succeeded")


def case_server_stream_past_its_deadline(stub):
    # The handler would send 100,000 replies, one every 20 ms.
    start = time.monotonic()
    received = 0
    try:
        for _ in stub.ServerStream(
            echo_pb2.EchoRequest(message="s", repeat=100_000, delay_ms=20), timeout=TIMEOUT
        ):
            received += 1
    except grpc.RpcError as err:
        details = expect_deadline_exceeded(err, start)
        expect(received >= 3, f"only {received} replies before the deadline")
        return f"{received} replies, then {details}"
    raise AssertionError(f"the stream ended with OK after {received} replies")


CASES = [
    ("unary_past_its_deadline", case_unary_past_its_deadline),
    ("server_stream_past_its_deadline", case_server_stream_past_its_deadline),
]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", required=True)
    args = parser.parse_args()
    failed = 0
    with grpc.insecure_channel(args.target) as channel:
        stub = echo_pb2_grpc.EchoStub(channel)
        for name, run in CASES:
            try:
                details = run(stub)
                print(f"ok {name} {details}", flush=True)
            except Exception as err:  # noqa: BLE001 - report every failure
                failed += 1
                print(f"FAIL {name}: {err}", flush=True)
                traceback.print_exc()
    sys.exit(min(failed, 100))


if __name__ == "__main__":
    main()
