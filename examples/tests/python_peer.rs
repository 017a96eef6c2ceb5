//! Cross-implementation tests against Python grpcio, both directions:
//! a grpcio client against our server, and our client against a grpcio
//! server, for all four RPC kinds, metadata and non-OK statuses.
//!
//! They need a Python with `grpcio` and `grpcio-tools`: `scripts/test.sh`
//! installs one under `target/peers/venv` and sets `GRPC_TEST_PYTHON`.
//! Without it these tests fail with instructions; set `GRPC_SKIP_PEERS=1`
//! to skip them deliberately.

mod support;

use std::process::Stdio;

use examples::echo_cases;
use grpc_client::Endpoint;
use support::*;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use tokio::time::timeout;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grpcio_client_passes_every_case_against_our_server() {
    let Some(python) = python("peer") else { return };
    let server = start_echo().await;
    let mut child = Command::new(python)
        .arg(python_dir().join("echo_client.py"))
        .arg("--target")
        .arg(server.addr.to_string())
        .current_dir(python_dir())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the Python client");
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let (status, out, err) = timeout(LIMIT * 4, async {
        let read_out = async {
            let mut s = String::new();
            tokio::io::AsyncReadExt::read_to_string(&mut BufReader::new(stdout), &mut s)
                .await
                .ok();
            s
        };
        let read_err = async {
            let mut s = String::new();
            tokio::io::AsyncReadExt::read_to_string(&mut BufReader::new(stderr), &mut s)
                .await
                .ok();
            s
        };
        let (out, err) = tokio::join!(read_out, read_err);
        (child.wait().await.unwrap(), out, err)
    })
    .await
    .expect("the Python client finishes");
    println!("{out}");
    assert!(
        status.success(),
        "the grpcio client reported failures:\n{out}\n{err}"
    );
    for case in echo_cases::CASES {
        assert!(
            out.contains(&format!("ok {case}")),
            "case {case} did not pass:\n{out}\n{err}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_passes_every_case_against_a_grpcio_server() {
    let Some(python) = python("peer") else { return };
    let mut child = Command::new(python)
        .arg(python_dir().join("echo_server.py"))
        .current_dir(python_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the Python server");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let port: u16 = timeout(LIMIT, async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(port) = line.strip_prefix("LISTENING ") {
                return port.trim().parse().unwrap();
            }
        }
        panic!("the Python server exited before listening");
    })
    .await
    .expect("the Python server starts");

    let channel = Endpoint::new(format!("http://127.0.0.1:{port}").parse().unwrap())
        .unwrap()
        .connect_lazy();
    let results = timeout(LIMIT * 4, echo_cases::run_all(channel))
        .await
        .unwrap();
    drop(child.stdin.take());
    let _ = child.kill().await;

    let mut failed = Vec::new();
    for (name, result) in &results {
        match result {
            Ok(()) => println!("ok {name}"),
            Err(reason) => {
                println!("FAIL {name}: {reason}");
                failed.push(*name);
            }
        }
    }
    assert_eq!(results.len(), echo_cases::CASES.len());
    assert!(failed.is_empty(), "cases failed against grpcio: {failed:?}");
}
