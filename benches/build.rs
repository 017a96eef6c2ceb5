//! Generates the benchmark services twice: with our `grpc-build` (into
//! `$OUT_DIR/ours`) and with tonic's builder (into `$OUT_DIR/tonic`). Both
//! parse the protos with protox, so no system `protoc` is needed.

use std::path::PathBuf;

const PROTOS: [&str; 2] = ["proto/helloworld.proto", "proto/benchstream.proto"];

fn main() -> std::io::Result<()> {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    // `bytes` fields as `bytes::Bytes` on both sides, so a streamed chunk is
    // shared, not copied, until it is framed.
    let mut config = grpc_build::prost_build::Config::new();
    config.bytes(["."]);
    grpc_build::configure()
        .out_dir(out.join("ours"))
        .compile_protos_with_config(config, &PROTOS, &["proto"])?;

    let fds = protox::compile(PROTOS, ["proto"])
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{e:?}")))?;
    let tonic_out = out.join("tonic");
    std::fs::create_dir_all(&tonic_out)?;
    tonic_prost_build::configure()
        .out_dir(tonic_out)
        .bytes(".")
        .compile_fds(fds)?;
    for proto in PROTOS {
        println!("cargo:rerun-if-changed={proto}");
    }
    Ok(())
}
