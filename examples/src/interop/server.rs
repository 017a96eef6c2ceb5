//! The interop server: `grpc.testing.TestService` as gRPC's interop test
//! descriptions define it.
//!
//! ```text
//! cargo run -p examples --bin interop-server -- --port 10000 --use_tls false
//! ```
//!
//! Flags: `--port N` (default 10000; 0 picks a free port), `--use_tls
//! true|false` (default false; TLS uses the committed test certificate for
//! `*.test.google.fr`, `localhost` and `127.0.0.1`). Prints `listening on
//! ADDR` once it accepts connections. On Ctrl-C or SIGTERM it stops
//! accepting, drains the calls in flight, flushes its telemetry and exits 0.
//!
//! With the standard `OTEL_*` environment variables set (see
//! [`examples::telemetry`]) it exports spans and metrics over OTLP.

use clap::Parser;
use examples::interop::args::ServerArgs;
use examples::interop::{serve, test_server_tls};
use examples::telemetry::{shutdown_signal, Telemetry};
use tokio::net::TcpListener;

#[tokio::main]
async fn main() {
    if let Err(err) = run().await {
        eprintln!("interop-server: {err}");
        std::process::exit(2);
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let ServerArgs { port, use_tls } = ServerArgs::parse();
    let telemetry = Telemetry::from_env()?;
    let listener = TcpListener::bind(("0.0.0.0", port)).await?;
    let addr = listener.local_addr()?;
    let tls = use_tls.then(test_server_tls);
    println!(
        "listening on {addr} ({})",
        if use_tls { "TLS" } else { "h2c" }
    );
    serve(listener, tls, shutdown_signal()).await?;
    println!("drained");
    if telemetry.is_on() {
        tokio::task::spawn_blocking(move || telemetry.shutdown()).await??;
        println!("telemetry flushed");
    }
    Ok(())
}
