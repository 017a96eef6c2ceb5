"""A Python grpcio implementation of grpcstack.echo.Echo, the peer our client is tested against.

Behaviour (the same as the Rust Echo server in examples/src/echo.rs):
- request metadata `x-echo-initial` is sent back as initial metadata, and
  `x-echo-trailing` / `x-echo-trailing-bin` as trailing metadata;
- a non-zero `fail_code` answers with that status code and `fail_message`;
- `reply_size` > 0 replies with that many bytes of payload, else the request payload.

`--compression gzip|deflate` makes the server compress its responses (when
the client accepts that encoding).

Prints `LISTENING <port>` once it serves, then runs until killed.
"""

import argparse
import sys
import time
from concurrent import futures

import grpc

import stubs

echo_pb2, echo_pb2_grpc = stubs.load()

CODES = {c.value[0]: c for c in grpc.StatusCode}

COMPRESSION = {
    "none": grpc.Compression.NoCompression,
    "gzip": grpc.Compression.Gzip,
    "deflate": grpc.Compression.Deflate,
}


def echo_metadata(context):
    initial = [(k, v) for k, v in context.invocation_metadata() if k == "x-echo-initial"]
    trailing = [
        (k, v)
        for k, v in context.invocation_metadata()
        if k in ("x-echo-trailing", "x-echo-trailing-bin")
    ]
    if initial:
        context.send_initial_metadata(initial)
    if trailing:
        context.set_trailing_metadata(trailing)


def maybe_fail(request, context):
    if request.fail_code:
        context.abort(CODES.get(request.fail_code, grpc.StatusCode.UNKNOWN), request.fail_message)


def reply(request, index=0):
    payload = bytes(request.reply_size) if request.reply_size else request.payload
    return echo_pb2.EchoReply(message=request.message, payload=payload, index=index)


class Echo(echo_pb2_grpc.EchoServicer):
    def Unary(self, request, context):
        echo_metadata(context)
        if request.delay_ms:
            time.sleep(request.delay_ms / 1000)
        maybe_fail(request, context)
        return reply(request)

    def ServerStream(self, request, context):
        echo_metadata(context)
        maybe_fail(request, context)
        for i in range(request.repeat):
            if request.delay_ms:
                time.sleep(request.delay_ms / 1000)
            yield reply(request, i)

    def ClientStream(self, request_iterator, context):
        echo_metadata(context)
        messages = []
        for request in request_iterator:
            maybe_fail(request, context)
            messages.append(request.message)
        return echo_pb2.EchoReply(message=",".join(messages), count=len(messages))

    def Bidi(self, request_iterator, context):
        echo_metadata(context)
        for i, request in enumerate(request_iterator):
            maybe_fail(request, context)
            yield reply(request, i)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--compression", choices=sorted(COMPRESSION), default="none")
    args = parser.parse_args()
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=16),
        compression=COMPRESSION[args.compression],
    )
    echo_pb2_grpc.add_EchoServicer_to_server(Echo(), server)
    port = server.add_insecure_port(f"127.0.0.1:{args.port}")
    server.start()
    print(f"LISTENING {port}", flush=True)
    # Stop when the parent closes our stdin or kills us.
    try:
        sys.stdin.read()
    finally:
        server.stop(grace=1)


if __name__ == "__main__":
    main()
