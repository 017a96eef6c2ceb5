"""A grpcio interop server: grpc.testing.TestService as the interop test
descriptions define it, for the cross-implementation matrix.

    python interop_server.py --port 0 --use_tls true

Prints ``listening on PORT`` once it serves; stops on SIGTERM or Ctrl-C.

grpcio cannot see whether a request message arrived compressed, so
``expect_compressed`` is not checked here (the matrix lists the
client-compressed cases against this server as not applicable).
Responses are compressed on request with ``set_compression`` and
``disable_next_message_compression``.
"""

import signal
import sys
import threading
import time
from concurrent import futures

import grpc

import stubs

S = stubs.load()
pb = S.messages_pb2
CODES = {code.value[0]: code for code in grpc.StatusCode}


def echo_metadata(context):
    """Echoes x-grpc-test-echo-initial / -trailing-bin; call before any response."""
    initial, trailing = [], []
    for key, value in context.invocation_metadata():
        if key == "x-grpc-test-echo-initial":
            initial.append((key, value))
        elif key == "x-grpc-test-echo-trailing-bin":
            trailing.append((key, value))
    if initial:
        context.send_initial_metadata(initial)
    if trailing:
        context.set_trailing_metadata(trailing)


def abort_if_asked(status, context):
    if status.code != 0:
        context.abort(CODES.get(status.code, grpc.StatusCode.UNKNOWN), status.message)


def payload(size, context):
    if size < 0 or size > 4 * 1024 * 1024:
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"response size {size}")
    return pb.Payload(body=b"\0" * size)


def responses(params, context):
    context.set_compression(grpc.Compression.Gzip)
    for p in params:
        if p.interval_us:
            time.sleep(p.interval_us / 1e6)
        if not p.compressed.value:
            context.disable_next_message_compression()
        yield pb.StreamingOutputCallResponse(payload=payload(p.size, context))


class TestService(S.test_pb2_grpc.TestServiceServicer):
    def EmptyCall(self, request, context):
        return S.empty_pb2.Empty()

    def UnaryCall(self, request, context):
        echo_metadata(context)
        abort_if_asked(request.response_status, context)
        if request.response_compressed.value:
            context.set_compression(grpc.Compression.Gzip)
        else:
            context.set_compression(grpc.Compression.NoCompression)
        return pb.SimpleResponse(payload=payload(request.response_size, context))

    def CacheableUnaryCall(self, request, context):
        return self.UnaryCall(request, context)

    def StreamingOutputCall(self, request, context):
        echo_metadata(context)
        yield from responses(request.response_parameters, context)
        abort_if_asked(request.response_status, context)

    def StreamingInputCall(self, request_iterator, context):
        echo_metadata(context)
        total = sum(len(r.payload.body) for r in request_iterator)
        return pb.StreamingInputCallResponse(aggregated_payload_size=total)

    def FullDuplexCall(self, request_iterator, context):
        echo_metadata(context)
        for request in request_iterator:
            abort_if_asked(request.response_status, context)
            yield from responses(request.response_parameters, context)

    def HalfDuplexCall(self, request_iterator, context):
        echo_metadata(context)
        params = []
        for request in request_iterator:
            abort_if_asked(request.response_status, context)
            params.extend(request.response_parameters)
        yield from responses(params, context)


def main():
    flags = stubs.parse_flags(sys.argv[1:], {"port", "use_tls"})
    port = int(flags.get("port", "10000"))
    use_tls = stubs.as_bool(flags.get("use_tls", "false"))
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=32))
    S.test_pb2_grpc.add_TestServiceServicer_to_server(TestService(), server)
    address = f"0.0.0.0:{port}"
    if use_tls:
        creds = grpc.ssl_server_credentials(
            [(stubs.read_cert("server1.key"), stubs.read_cert("server1.pem"))]
        )
        port = server.add_secure_port(address, creds)
    else:
        port = server.add_insecure_port(address)
    server.start()
    print(f"listening on {port} ({'TLS' if use_tls else 'h2c'})", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.stop(grace=1).wait(5)


if __name__ == "__main__":
    main()
