"""Generates the Python message and service modules for echo.proto at run time.

grpcio-tools' bundled protoc writes them into a temporary folder, so nothing
generated is kept in the repository and no system protoc is needed.
"""

import importlib
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO_DIR = os.path.join(HERE, "..", "proto")


def load():
    """Returns (echo_pb2, echo_pb2_grpc)."""
    from grpc_tools import protoc

    out = tempfile.mkdtemp(prefix="echo-stubs-")
    rc = protoc.main(
        [
            "grpc_tools.protoc",
            f"-I{PROTO_DIR}",
            f"--python_out={out}",
            f"--grpc_python_out={out}",
            os.path.join(PROTO_DIR, "echo.proto"),
        ]
    )
    if rc != 0:
        raise RuntimeError(f"protoc failed with exit code {rc}")
    sys.path.insert(0, out)
    return importlib.import_module("echo_pb2"), importlib.import_module("echo_pb2_grpc")
