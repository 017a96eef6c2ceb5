//! Every interop case, our client against our server, in process over
//! h2c and over TLS with the committed test certificate (verified under the
//! interop override name `foo.test.google.fr`).

use std::time::Duration;

use examples::interop::{cases, certs, client_stack, endpoint, serve, test_server_tls, Target};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// Every case is bounded by this.
const LIMIT: Duration = Duration::from_secs(60);

async fn run_all(use_tls: bool) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, use_tls.then(test_server_tls), async {
        let _ = stopped.await;
    }));
    let target = Target {
        host: "127.0.0.1".into(),
        port,
        use_tls,
        use_test_ca: true,
        server_host_override: Some(certs::SERVER_HOST_OVERRIDE.into()),
        ca_file: None,
    };
    let stack = client_stack(endpoint(&target).unwrap().connect_lazy());
    let options = cases::Options {
        soak_iterations: 20,
        // Generous: debug builds on a busy machine.
        soak_max_latency: Duration::from_secs(5),
    };
    let mut failures = Vec::new();
    for case in cases::ALL {
        let outcome = tokio::time::timeout(LIMIT, cases::run(case, stack.clone(), &options))
            .await
            .unwrap_or_else(|_| Err("timed out".into()));
        if let Err(why) = outcome {
            failures.push(format!("{case}: {why}"));
        }
    }
    let _ = stop.send(());
    let _ = tokio::time::timeout(LIMIT, server).await;
    assert!(
        failures.is_empty(),
        "failed cases:\n{}",
        failures.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_interop_case_passes_over_h2c() {
    run_all(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_interop_case_passes_over_tls_with_the_test_ca() {
    run_all(true).await;
}

#[tokio::test]
async fn the_test_ca_is_refused_without_use_test_ca() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(serve(listener, Some(test_server_tls()), async {
        let _ = stopped.await;
    }));
    let target = Target {
        host: "127.0.0.1".into(),
        port,
        use_tls: true,
        use_test_ca: false,
        server_host_override: None,
        ca_file: None,
    };
    let stack = client_stack(endpoint(&target).unwrap().connect_lazy());
    let outcome = tokio::time::timeout(
        LIMIT,
        cases::run("empty_unary", stack, &cases::Options::default()),
    )
    .await
    .unwrap();
    let why = outcome.unwrap_err();
    assert!(why.contains("Unavailable"), "{why}");
    let _ = stop.send(());
}
