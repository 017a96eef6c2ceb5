"""A Python grpcio client for grpcstack.echo.Echo, run against our server.

Each case prints `ok <case>` or `FAIL <case>: <reason>`; the exit code is the
number of failed cases (0 when all passed). `--compression gzip|deflate`
compresses every request with that encoding.
"""

import argparse
import queue
import sys
import traceback

import grpc

import stubs

echo_pb2, echo_pb2_grpc = stubs.load()

TIMEOUT = 20

COMPRESSION = {
    "none": grpc.Compression.NoCompression,
    "gzip": grpc.Compression.Gzip,
    "deflate": grpc.Compression.Deflate,
}


def expect(condition, message):
    if not condition:
        raise AssertionError(message)


def case_unary_with_metadata(stub):
    request = echo_pb2.EchoRequest(message="hello", payload=b"\x00\x01\xff")
    metadata = [("x-echo-initial", "from python"), ("x-echo-trailing-bin", b"\x00\xfe\xff")]
    response, call = stub.Unary.with_call(request, metadata=metadata, timeout=TIMEOUT)
    expect(response.message == "hello", f"message {response.message!r}")
    expect(response.payload == b"\x00\x01\xff", f"payload {response.payload!r}")
    initial = dict(call.initial_metadata())
    expect(initial.get("x-echo-initial") == "from python", f"initial metadata {initial}")
    trailing = dict(call.trailing_metadata())
    expect(trailing.get("x-echo-trailing-bin") == b"\x00\xfe\xff", f"trailing metadata {trailing}")


def case_server_streaming(stub):
    replies = list(stub.ServerStream(echo_pb2.EchoRequest(message="s", repeat=5), timeout=TIMEOUT))
    expect([r.index for r in replies] == [0, 1, 2, 3, 4], f"indexes {[r.index for r in replies]}")
    expect(all(r.message == "s" for r in replies), "messages")


def case_client_streaming(stub):
    requests = iter([echo_pb2.EchoRequest(message=m) for m in "abcd"])
    response = stub.ClientStream(requests, timeout=TIMEOUT)
    expect(response.message == "a,b,c,d", f"message {response.message!r}")
    expect(response.count == 4, f"count {response.count}")


def case_bidi_ping_pong(stub):
    outgoing = queue.Queue()

    def requests():
        while True:
            item = outgoing.get()
            if item is None:
                return
            yield item

    responses = stub.Bidi(requests(), timeout=TIMEOUT)
    for i, word in enumerate(["ping", "pong", "pang"]):
        outgoing.put(echo_pb2.EchoRequest(message=word))
        reply = next(responses)  # answered before the next request is sent
        expect(reply.message == word and reply.index == i, f"reply {reply}")
    outgoing.put(None)
    expect(list(responses) == [], "no more replies")


def case_error_status_with_metadata(stub):
    message = "nöt found: 100% sure\n(line two)"
    request = echo_pb2.EchoRequest(fail_code=5, fail_message=message)
    try:
        stub.Unary(request, metadata=[("x-echo-trailing", "why")], timeout=TIMEOUT)
    except grpc.RpcError as err:
        expect(err.code() == grpc.StatusCode.NOT_FOUND, f"code {err.code()}")
        expect(err.details() == message, f"details {err.details()!r}")
        trailing = dict(err.trailing_metadata())
        expect(trailing.get("x-echo-trailing") == "why", f"trailing {trailing}")
    else:
        raise AssertionError("the call succeeded")


def case_error_in_server_stream(stub):
    request = echo_pb2.EchoRequest(repeat=3, fail_code=9, fail_message="precondition")
    try:
        list(stub.ServerStream(request, timeout=TIMEOUT))
    except grpc.RpcError as err:
        expect(err.code() == grpc.StatusCode.FAILED_PRECONDITION, f"code {err.code()}")
        expect(err.details() == "precondition", f"details {err.details()!r}")
    else:
        raise AssertionError("the call succeeded")


def case_large_messages(stub):
    payload = bytes(range(256)) * (3 * 1024 * 4)  # 3 MiB
    response = stub.Unary(echo_pb2.EchoRequest(payload=payload), timeout=TIMEOUT)
    expect(response.payload == payload, "3 MiB payload echoed intact")


def case_unimplemented_method(channel):
    call = channel.unary_unary("/grpcstack.echo.Echo/Nope")
    try:
        call(b"", timeout=TIMEOUT)
    except grpc.RpcError as err:
        expect(err.code() == grpc.StatusCode.UNIMPLEMENTED, f"code {err.code()}")
    else:
        raise AssertionError("the call succeeded")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", required=True)
    parser.add_argument("--compression", choices=sorted(COMPRESSION), default="none")
    args = parser.parse_args()
    failed = 0
    with grpc.insecure_channel(
        args.target, compression=COMPRESSION[args.compression]
    ) as channel:
        stub = echo_pb2_grpc.EchoStub(channel)
        cases = [
            ("unary_with_metadata", lambda: case_unary_with_metadata(stub)),
            ("server_streaming", lambda: case_server_streaming(stub)),
            ("client_streaming", lambda: case_client_streaming(stub)),
            ("bidi_ping_pong", lambda: case_bidi_ping_pong(stub)),
            ("error_status_with_metadata", lambda: case_error_status_with_metadata(stub)),
            ("error_in_server_stream", lambda: case_error_in_server_stream(stub)),
            ("large_messages", lambda: case_large_messages(stub)),
            ("unimplemented_method", lambda: case_unimplemented_method(channel)),
        ]
        for name, run in cases:
            try:
                run()
                print(f"ok {name}", flush=True)
            except Exception as err:  # noqa: BLE001 - report every failure
                failed += 1
                print(f"FAIL {name}: {err}", flush=True)
                traceback.print_exc()
    sys.exit(min(failed, 100))


if __name__ == "__main__":
    main()
