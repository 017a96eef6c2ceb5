//! The demo program as the README runs it: plain, and with `--auth`.

use std::process::Command;

fn run(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_demo"))
        .args(args)
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("OTEL_TRACES_EXPORTER")
        .env_remove("OTEL_METRICS_EXPORTER")
        .output()
        .expect("the demo runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "demo {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[test]
fn the_demo_makes_one_call_of_each_kind() {
    let out = run(&[]);
    assert!(out.contains("\"Hello, Ada!\""), "{out}");
    assert!(out.contains("InvalidArgument"), "{out}");
    assert!(out.contains("total 55 over 10 numbers"), "{out}");
    assert!(out.contains("all four RPC kinds worked"), "{out}");
    assert!(!out.contains("Unauthenticated"), "{out}");
}

#[test]
fn with_auth_the_token_is_required_and_names_the_caller() {
    let out = run(&["--auth"]);
    assert!(out.contains("requires a bearer token"), "{out}");
    assert!(
        out.contains("Unauthenticated: missing credentials"),
        "{out}"
    );
    assert!(out.contains("the server knows you as ada"), "{out}");
    assert!(out.contains("all four RPC kinds worked"), "{out}");
}
