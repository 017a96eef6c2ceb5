"""A Python grpcio client that sends a bearer token over TLS, run against our server.

The token travels as gRPC call credentials
(`grpc.access_token_call_credentials`) composed with TLS channel credentials
(`grpc.ssl_channel_credentials` with the test CA), the way a grpcio user
authenticates. Our server's auth layer checks it; its Echo handler replies
with the identity the layer attached.

Each case prints `ok <case> <details>` or `FAIL <case>: <reason>`; the exit
code is the number of failed cases.
"""

import argparse
import sys
import traceback

import grpc

import stubs

echo_pb2, echo_pb2_grpc = stubs.load()

TIMEOUT = 20


def expect(condition, message):
    if not condition:
        raise AssertionError(message)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", required=True, help="host:port of our TLS server")
    parser.add_argument("--ca", required=True, help="PEM file of the test CA")
    parser.add_argument("--server-name", required=True, help="the name the certificate is for")
    parser.add_argument("--token", required=True, help="a token the server accepts")
    parser.add_argument("--identity", required=True, help="who the server takes that token for")
    args = parser.parse_args()

    with open(args.ca, "rb") as f:
        tls = grpc.ssl_channel_credentials(root_certificates=f.read())
    options = [("grpc.ssl_target_name_override", args.server_name)]

    def stub(token):
        credentials = tls
        if token is not None:
            credentials = grpc.composite_channel_credentials(
                tls, grpc.access_token_call_credentials(token)
            )
        channel = grpc.secure_channel(args.target, credentials, options=options)
        return channel, echo_pb2_grpc.EchoStub(channel)

    def unauthenticated(token):
        channel, echo = stub(token)
        with channel:
            try:
                echo.Unary(echo_pb2.EchoRequest(message="who"), timeout=TIMEOUT)
            except grpc.RpcError as err:
                expect(
                    err.code() == grpc.StatusCode.UNAUTHENTICATED,
                    f"code {err.code()} ({err.details()!r})",
                )
                return f"code={err.code().name} details={err.details()!r}"
            raise AssertionError("the call succeeded")

    def case_the_handler_sees_the_identity():
        channel, echo = stub(args.token)
        with channel:
            reply = echo.Unary(echo_pb2.EchoRequest(message="who"), timeout=TIMEOUT)
            expect(reply.message == args.identity, f"identity {reply.message!r}")
            return f"identity={reply.message}"

    def case_a_wrong_token_is_unauthenticated():
        return unauthenticated(args.token + "-wrong")

    def case_no_token_is_unauthenticated():
        return unauthenticated(None)

    failed = 0
    for name, case in [
        ("the_handler_sees_the_identity", case_the_handler_sees_the_identity),
        ("a_wrong_token_is_unauthenticated", case_a_wrong_token_is_unauthenticated),
        ("no_token_is_unauthenticated", case_no_token_is_unauthenticated),
    ]:
        try:
            details = case()
            print(f"ok {name} {details}", flush=True)
        except Exception as err:  # noqa: BLE001 - every failure is reported
            failed += 1
            print(f"FAIL {name}: {err}", flush=True)
            traceback.print_exc()
    sys.exit(failed)


if __name__ == "__main__":
    main()
