"""A grpcio interop client: runs the interop test cases against any interop
server, for the cross-implementation matrix.

    python interop_client.py --server_host localhost --server_port 10000 \
        --test_case empty_unary,large_unary --use_tls true --use_test_ca true \
        --server_host_override foo.test.google.fr

``--test_case`` takes one case, a comma-separated list, or ``all``. Prints
``PASS name (N ms)`` or ``FAIL name: reason`` per case; exits 1 if any failed.

Not expressible with grpcio (the matrix lists them as not applicable):
server_compressed_unary and server_compressed_streaming (grpcio does not show
a message's compressed flag) and client_compressed_streaming (a grpcio client
cannot switch compression off for one message of a stream).
"""

import queue
import sys
import threading
import time

import grpc

import stubs

S = stubs.load()
pb = S.messages_pb2
Empty = S.empty_pb2.Empty

CASE_LIMIT = 60  # seconds per call wait
CONCURRENT_CALLS = 100
SPECIAL_MESSAGE = "\t\ntest with whitespace\r\nand Unicode BMP \u263a and non-BMP \U0001f608\t\n"

ALL = [
    "empty_unary",
    "large_unary",
    "client_compressed_unary",
    "client_streaming",
    "server_streaming",
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


class Failed(Exception):
    pass


def ensure(cond, why):
    if not cond:
        raise Failed(why)


def zeros(n):
    return pb.Payload(body=b"\0" * n)


def check_payload(what, payload, n):
    ensure(len(payload.body) == n, f"{what}: payload of {len(payload.body)} bytes, expected {n}")
    ensure(payload.body.count(0) == n, f"{what}: payload is not all zeros")


def large_request(**extra):
    return pb.SimpleRequest(response_size=314159, payload=zeros(271828), **extra)


class Requests:
    """A request iterator fed from the test, ended by close()."""

    _END = object()

    def __init__(self):
        self._q = queue.Queue()

    def send(self, message):
        self._q.put(message)

    def close(self):
        self._q.put(self._END)

    def __iter__(self):
        return self

    def __next__(self):
        item = self._q.get(timeout=CASE_LIMIT)
        if item is self._END:
            raise StopIteration
        return item


def empty_unary(stub, channel, opts):
    ensure(stub.EmptyCall(Empty(), timeout=CASE_LIMIT) is not None, "no response")


def large_unary(stub, channel, opts):
    response = stub.UnaryCall(large_request(), timeout=CASE_LIMIT)
    check_payload("UnaryCall", response.payload, 314159)


def client_compressed_unary(stub, channel, opts):
    probe = large_request(expect_compressed=pb.BoolValue(value=True))
    try:
        stub.UnaryCall(probe, timeout=CASE_LIMIT, compression=grpc.Compression.NoCompression)
        raise Failed("the probe succeeded; expected INVALID_ARGUMENT")
    except grpc.RpcError as e:
        ensure(e.code() == grpc.StatusCode.INVALID_ARGUMENT, f"the probe: {e.code()} {e.details()!r}")
    for compressed in (True, False):
        request = large_request(expect_compressed=pb.BoolValue(value=compressed))
        compression = grpc.Compression.Gzip if compressed else grpc.Compression.NoCompression
        response = stub.UnaryCall(request, timeout=CASE_LIMIT, compression=compression)
        check_payload("UnaryCall", response.payload, 314159)


def client_streaming(stub, channel, opts):
    requests = (pb.StreamingInputCallRequest(payload=zeros(n)) for n in (27182, 8, 1828, 45904))
    response = stub.StreamingInputCall(requests, timeout=CASE_LIMIT)
    ensure(
        response.aggregated_payload_size == 74922,
        f"aggregated_payload_size {response.aggregated_payload_size}",
    )


def check_sizes(what, responses, sizes):
    ensure(len(responses) == len(sizes), f"{what}: {len(responses)} responses, expected {len(sizes)}")
    for i, (r, n) in enumerate(zip(responses, sizes)):
        check_payload(f"{what} response {i}", r.payload, n)


def server_streaming(stub, channel, opts):
    sizes = [31415, 9, 2653, 58979]
    request = pb.StreamingOutputCallRequest(
        response_parameters=[pb.ResponseParameters(size=n) for n in sizes]
    )
    check_sizes("StreamingOutputCall", list(stub.StreamingOutputCall(request, timeout=CASE_LIMIT)), sizes)


def duplex(size, body):
    return pb.StreamingOutputCallRequest(
        response_parameters=[pb.ResponseParameters(size=size)], payload=zeros(body)
    )


def ping_pong(stub, channel, opts):
    steps = [(31415, 27182), (9, 8), (2653, 1828), (58979, 45904)]
    requests = Requests()
    responses = stub.FullDuplexCall(requests, timeout=CASE_LIMIT)
    for i, (size, body) in enumerate(steps):
        requests.send(duplex(size, body))
        response = next(responses, None)
        ensure(response is not None, f"the response stream ended after {i} responses")
        check_payload(f"response {i}", response.payload, size)
    requests.close()
    rest = list(responses)
    ensure(not rest, f"{len(rest)} responses more than expected")


def empty_stream(stub, channel, opts):
    responses = list(stub.FullDuplexCall(iter([]), timeout=CASE_LIMIT))
    ensure(not responses, f"{len(responses)} responses, expected none")


ECHO_INITIAL = ("x-grpc-test-echo-initial", "test_initial_metadata_value")
ECHO_TRAILING = ("x-grpc-test-echo-trailing-bin", b"\xab\xab\xab")


def check_echo(what, initial, trailing):
    ensure(ECHO_INITIAL in list(initial or []), f"{what}: initial metadata {initial}")
    ensure(ECHO_TRAILING in list(trailing or []), f"{what}: trailing metadata {trailing}")


def custom_metadata(stub, channel, opts):
    metadata = [ECHO_INITIAL, ECHO_TRAILING]
    response, call = stub.UnaryCall.with_call(large_request(), metadata=metadata, timeout=CASE_LIMIT)
    check_payload("UnaryCall", response.payload, 314159)
    check_echo("UnaryCall", call.initial_metadata(), call.trailing_metadata())
    call = stub.FullDuplexCall(iter([duplex(314159, 271828)]), metadata=metadata, timeout=CASE_LIMIT)
    check_sizes("FullDuplexCall", list(call), [314159])
    check_echo("FullDuplexCall", call.initial_metadata(), call.trailing_metadata())


def expect_status(stub, message):
    status = pb.EchoStatus(code=2, message=message)
    try:
        stub.UnaryCall(pb.SimpleRequest(response_status=status), timeout=CASE_LIMIT)
        raise Failed("UnaryCall succeeded; expected the echoed status")
    except grpc.RpcError as e:
        ensure(
            e.code() == grpc.StatusCode.UNKNOWN and e.details() == message,
            f"UnaryCall: {e.code()} {e.details()!r}",
        )
    try:
        list(stub.FullDuplexCall(iter([pb.StreamingOutputCallRequest(response_status=status)]), timeout=CASE_LIMIT))
        raise Failed("FullDuplexCall succeeded; expected the echoed status")
    except grpc.RpcError as e:
        ensure(
            e.code() == grpc.StatusCode.UNKNOWN and e.details() == message,
            f"FullDuplexCall: {e.code()} {e.details()!r}",
        )


def status_code_and_message(stub, channel, opts):
    expect_status(stub, "test status message")


def special_status_message(stub, channel, opts):
    expect_status(stub, SPECIAL_MESSAGE)


def expect_unimplemented(call):
    try:
        call(Empty(), timeout=CASE_LIMIT)
        raise Failed("UnimplementedCall succeeded; expected UNIMPLEMENTED")
    except grpc.RpcError as e:
        ensure(e.code() == grpc.StatusCode.UNIMPLEMENTED, f"{e.code()} {e.details()!r}")


def unimplemented_method(stub, channel, opts):
    expect_unimplemented(stub.UnimplementedCall)


def unimplemented_service(stub, channel, opts):
    expect_unimplemented(S.test_pb2_grpc.UnimplementedServiceStub(channel).UnimplementedCall)


def cancel_after_begin(stub, channel, opts):
    requests = Requests()
    future = stub.StreamingInputCall.future(requests, timeout=CASE_LIMIT)
    time.sleep(0.05)
    ensure(not future.done(), "the call ended before it was cancelled")
    ensure(future.cancel(), "the call could not be cancelled")
    requests.close()
    try:
        future.result(timeout=CASE_LIMIT)
        raise Failed("the call succeeded; expected CANCELLED")
    except grpc.FutureCancelledError:
        pass
    ensure(future.code() == grpc.StatusCode.CANCELLED, f"status {future.code()}")
    empty_unary(stub, channel, opts)


def cancel_after_first_response(stub, channel, opts):
    requests = Requests()
    responses = stub.FullDuplexCall(requests, timeout=CASE_LIMIT)
    requests.send(duplex(31415, 27182))
    first = next(responses)
    check_payload("the first response", first.payload, 31415)
    responses.cancel()
    requests.close()
    try:
        next(responses)
        raise Failed("the stream went on after the cancellation")
    except grpc.RpcError as e:
        ensure(e.code() == grpc.StatusCode.CANCELLED, f"status {e.code()}")
    empty_unary(stub, channel, opts)


def timeout_on_sleeping_server(stub, channel, opts):
    requests = Requests()
    requests.send(pb.StreamingOutputCallRequest(payload=zeros(27182)))
    try:
        list(stub.FullDuplexCall(requests, timeout=0.001))
        raise Failed("the call ended OK; expected DEADLINE_EXCEEDED")
    except grpc.RpcError as e:
        ensure(e.code() == grpc.StatusCode.DEADLINE_EXCEEDED, f"status {e.code()} {e.details()!r}")
    finally:
        requests.close()


def concurrent_large_unary(stub, channel, opts):
    calls = [stub.UnaryCall.future(large_request(), timeout=CASE_LIMIT) for _ in range(CONCURRENT_CALLS)]
    for call in calls:
        check_payload("UnaryCall", call.result().payload, 314159)


def rpc_soak(stub, channel, opts):
    slow = 0
    for i in range(opts["soak_iterations"]):
        started = time.monotonic()
        try:
            large_unary(stub, channel, opts)
        except (Failed, grpc.RpcError) as e:
            raise Failed(f"iteration {i}: {describe(e)}")
        if time.monotonic() - started > opts["soak_max_latency"]:
            slow += 1
    ensure(slow == 0, f"{slow} iterations were too slow")


def describe(e):
    if isinstance(e, grpc.RpcError):
        return f"{e.code()} {e.details()!r}"
    return str(e)


def main():
    known = {
        "server_host", "server_port", "test_case", "use_tls", "use_test_ca",
        "server_host_override", "ca_file", "soak_iterations",
        "soak_per_iteration_max_acceptable_latency_ms",
    }
    flags = stubs.parse_flags(sys.argv[1:], known)
    host = flags.get("server_host", "localhost")
    target = f"{host}:{flags['server_port']}"
    names = flags.get("test_case", "large_unary")
    names = ALL if names == "all" else [n.strip() for n in names.split(",")]
    opts = {
        "soak_iterations": int(flags.get("soak_iterations", "200")),
        "soak_max_latency": int(flags.get("soak_per_iteration_max_acceptable_latency_ms", "1000")) / 1000,
    }
    if stubs.as_bool(flags.get("use_tls", "false")):
        if "ca_file" in flags:
            with open(flags["ca_file"], "rb") as f:
                roots = f.read()
        elif stubs.as_bool(flags.get("use_test_ca", "false")):
            roots = stubs.read_cert("ca.pem")
        else:
            roots = None
        options = []
        if flags.get("server_host_override"):
            options.append(("grpc.ssl_target_name_override", flags["server_host_override"]))
        channel = grpc.secure_channel(target, grpc.ssl_channel_credentials(roots), options)
    else:
        channel = grpc.insecure_channel(target)
    stub = S.test_pb2_grpc.TestServiceStub(channel)
    all_passed = True
    for name in names:
        case = globals().get(name) if name in ALL else None
        started = time.monotonic()
        try:
            if case is None:
                raise Failed(f"not a case this client runs: {name!r}")
            case(stub, channel, opts)
            print(f"PASS {name} ({int((time.monotonic() - started) * 1000)} ms)", flush=True)
        except Exception as e:  # every failure is reported, whatever raised it
            all_passed = False
            print(f"FAIL {name}: {describe(e)}".replace("\n", "\\n"), flush=True)
    channel.close()
    sys.exit(0 if all_passed else 1)


if __name__ == "__main__":
    main()
