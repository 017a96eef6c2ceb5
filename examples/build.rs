//! Generates the messages, server traits and clients of `proto/*.proto`.

fn main() -> std::io::Result<()> {
    grpc_build::configure().compile_protos(
        &[
            "proto/echo.proto",
            "proto/demo.proto",
            "proto/grpc/testing/test.proto",
        ],
        &["proto"],
    )
}
