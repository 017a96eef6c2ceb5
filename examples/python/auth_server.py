"""A Python grpcio Echo server behind a bearer-token interceptor, our client's peer.

A `grpc.ServerInterceptor` checks the `authorization` metadata of every call
against `Bearer <--token>` and aborts the call with UNAUTHENTICATED
otherwise. Unary replies carry, as their message, the `authorization` value
the call came with, so the client can check what reached the server.

Serves TLS with the given certificate and key (the test PKI). Prints
`LISTENING <port>` once it serves, then runs until its stdin closes or it is
killed.
"""

import argparse
import sys
from concurrent import futures

import grpc

import stubs

echo_pb2, echo_pb2_grpc = stubs.load()


class BearerAuth(grpc.ServerInterceptor):
    def __init__(self, token):
        self._expected = f"Bearer {token}"

        def refuse(request, context):
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "invalid or missing bearer token")

        # Echo's calls checked here are unary, so the refusal is a unary handler.
        self._refuse = grpc.unary_unary_rpc_method_handler(refuse)

    def intercept_service(self, continuation, handler_call_details):
        metadata = dict(handler_call_details.invocation_metadata)
        if metadata.get("authorization") == self._expected:
            return continuation(handler_call_details)
        return self._refuse


class Echo(echo_pb2_grpc.EchoServicer):
    def Unary(self, request, context):
        metadata = dict(context.invocation_metadata())
        return echo_pb2.EchoReply(message=metadata.get("authorization", ""))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--token", required=True, help="the bearer token to accept")
    parser.add_argument("--cert", required=True, help="PEM file of the server certificate")
    parser.add_argument("--key", required=True, help="PEM file of its private key")
    args = parser.parse_args()
    with open(args.cert, "rb") as f:
        cert = f.read()
    with open(args.key, "rb") as f:
        key = f.read()
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=8),
        interceptors=[BearerAuth(args.token)],
    )
    echo_pb2_grpc.add_EchoServicer_to_server(Echo(), server)
    port = server.add_secure_port("127.0.0.1:0", grpc.ssl_server_credentials([(key, cert)]))
    server.start()
    print(f"LISTENING {port}", flush=True)
    try:
        sys.stdin.read()
    finally:
        server.stop(grace=1)


if __name__ == "__main__":
    main()
