"""Generates the Python modules of the grpc.testing protos at run time.

grpcio-tools' bundled protoc compiles copies of examples/proto/grpc/testing/*.proto
into a temporary folder, so nothing generated is kept in the repository and no
system protoc is needed. The copies are flattened (``import "grpc/testing/x.proto"``
becomes ``import "x.proto"``), because a generated ``grpc/`` package on sys.path
would hide grpcio's own ``grpc`` package. The protobuf package stays
``grpc.testing``, so the wire names are unchanged.
"""

import importlib
import os
import re
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO_DIR = os.path.join(HERE, "..", "..", "examples", "proto", "grpc", "testing")
CERTS_DIR = os.path.join(HERE, "..", "certs")
FILES = ("empty.proto", "messages.proto", "test.proto")


def load():
    """Returns a namespace with empty_pb2, messages_pb2, test_pb2 and test_pb2_grpc."""
    from grpc_tools import protoc

    out = tempfile.mkdtemp(prefix="interop-stubs-")
    for name in FILES:
        with open(os.path.join(PROTO_DIR, name), encoding="utf-8") as f:
            text = f.read()
        text = re.sub(r'import "grpc/testing/([a-z_]+\.proto)";', r'import "\1";', text)
        with open(os.path.join(out, name), "w", encoding="utf-8") as f:
            f.write(text)
    rc = protoc.main(
        ["grpc_tools.protoc", f"-I{out}", f"--python_out={out}", f"--grpc_python_out={out}"]
        + [os.path.join(out, name) for name in FILES]
    )
    if rc != 0:
        raise RuntimeError(f"protoc failed with exit code {rc}")
    sys.path.insert(0, out)

    class Stubs:
        empty_pb2 = importlib.import_module("empty_pb2")
        messages_pb2 = importlib.import_module("messages_pb2")
        test_pb2 = importlib.import_module("test_pb2")
        test_pb2_grpc = importlib.import_module("test_pb2_grpc")

    return Stubs


def read_cert(name):
    with open(os.path.join(CERTS_DIR, name), "rb") as f:
        return f.read()


def parse_flags(argv, known):
    """--name=value or --name value, as interop harnesses pass them."""
    flags = {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if not arg.startswith("--"):
            raise SystemExit(f"unexpected argument {arg!r}")
        name, sep, value = arg[2:].partition("=")
        if not sep:
            i += 1
            if i >= len(argv):
                raise SystemExit(f"--{name} needs a value")
            value = argv[i]
        if name not in known:
            raise SystemExit(f"unknown flag --{name}; known: {', '.join(sorted(known))}")
        flags[name] = value
        i += 1
    return flags


def as_bool(value):
    if value in ("true", "True", "1"):
        return True
    if value in ("false", "False", "0", ""):
        return False
    raise SystemExit(f"not a boolean: {value!r}")
