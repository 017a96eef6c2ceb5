//! The interop client: runs gRPC's interop test cases against any interop
//! server and exits non-zero, with the reason, when one fails.
//!
//! ```text
//! cargo run -p examples --bin interop-client -- --server_port 10000 --test_case large_unary
//! ```
//!
//! Flags: `--server_host H` (default `localhost`), `--server_port N`
//! (required), `--test_case NAME` (one case, a comma-separated list, or
//! `all`), `--use_tls true|false`, `--use_test_ca true|false` (trust the
//! committed test CA), `--server_host_override NAME` (the name to verify in
//! the server's certificate), `--ca_file PEM` (trust these roots),
//! `--soak_iterations N` (default 200),
//! `--soak_per_iteration_max_acceptable_latency_ms MS` (default 1000).
//!
//! Prints one line per case: `PASS name (12 ms)` or `FAIL name: reason`.

use std::time::{Duration, Instant};

use clap::Parser;
use examples::interop::args::ClientArgs;
use examples::interop::{cases, client_stack, endpoint};

/// The longest a single case may take before it counts as failed.
const CASE_LIMIT: Duration = Duration::from_secs(60);

#[tokio::main]
async fn main() {
    match run().await {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(err) => {
            eprintln!("interop-client: {err}");
            std::process::exit(2);
        }
    }
}

async fn run() -> Result<bool, grpc_core::BoxError> {
    let args = ClientArgs::parse();
    let target = args.target();
    let options = args.options();
    let names: Vec<&str> = match args.test_case.as_str() {
        "all" => cases::ALL.to_vec(),
        list => list.split(',').map(str::trim).collect(),
    };
    if let Some(unknown) = names.iter().find(|n| !cases::ALL.contains(n)) {
        return Err(format!(
            "unknown test case {unknown:?}; known: {}",
            cases::ALL.join(", ")
        )
        .into());
    }

    let channel = endpoint(&target)?.connect_lazy();
    let stack = client_stack(channel);
    let mut all_passed = true;
    for name in names {
        let started = Instant::now();
        let outcome = tokio::time::timeout(CASE_LIMIT, cases::run(name, stack.clone(), &options))
            .await
            .unwrap_or_else(|_| Err(format!("did not finish within {CASE_LIMIT:?}")));
        match outcome {
            Ok(()) => println!("PASS {name} ({} ms)", started.elapsed().as_millis()),
            Err(why) => {
                all_passed = false;
                println!("FAIL {name}: {}", why.replace('\n', "\\n"));
            }
        }
    }
    Ok(all_passed)
}
