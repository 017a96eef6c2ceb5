//! Load shedding end to end, over real HTTP/2 on 127.0.0.1: `grpc-server`
//! with `ServerLoadShedLayer` inside the status layer and outside the rest
//! of the default stack (where `grpc_server::stack` puts it), `grpc-client`
//! channels calling it. A burst ten times the cap: every call ends
//! promptly with OK or the shed status, none is lost, the counters agree
//! with what the clients saw, and nothing is left holding a place.
#![cfg(all(
    feature = "load-shed",
    feature = "status",
    feature = "deadline",
    feature = "limits"
))]

mod support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use grpc_client::{Channel, Endpoint, Grpc};
use grpc_core::codec::BytesCodec;
use grpc_core::{Code, GrpcMethod, Request, Response, Status};
use grpc_layers::deadline::ServerDeadlineLayer;
use grpc_layers::limits::ServerLimitsLayer;
use grpc_layers::load_shed::{LoadShedStats, ServerLoadShedLayer, ShedCode};
use grpc_layers::status::ServerStatusLayer;
use grpc_server::{handler, Router, Server};
use support::{bounded, LIMIT};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::time::timeout;
use tower::ServiceBuilder;

const WORK: GrpcMethod = GrpcMethod::new("test.Shed", "Work");
const QUICK: GrpcMethod = GrpcMethod::new("test.Shed", "Quick");

/// How long an admitted `Work` call holds its place.
const HOLD: Duration = Duration::from_millis(300);

/// A server on 127.0.0.1; stops when dropped.
struct TestServer {
    addr: SocketAddr,
    stats: LoadShedStats,
    handled: Arc<AtomicUsize>,
    _stop: oneshot::Sender<()>,
}

async fn serve(layer: ServerLoadShedLayer) -> TestServer {
    let stats = layer.stats();
    let handled = Arc::new(AtomicUsize::new(0));
    let counted = handled.clone();
    let router = Router::new()
        .route(
            WORK,
            handler::unary(BytesCodec, move |request: Request<Bytes>| {
                counted.fetch_add(1, Ordering::SeqCst);
                async move {
                    tokio::time::sleep(HOLD).await;
                    Ok::<_, Status>(Response::new(request.into_inner()))
                }
            }),
        )
        .route(
            QUICK,
            handler::unary(BytesCodec, |request: Request<Bytes>| async move {
                Ok::<_, Status>(Response::new(request.into_inner()))
            }),
        );
    let service = ServiceBuilder::new()
        .layer(ServerStatusLayer::new())
        .layer(layer)
        .layer(ServerDeadlineLayer::new())
        .layer(ServerLimitsLayer::new())
        .service(router);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(Server::new().serve_with_shutdown(listener, service, async {
        let _ = stopped.await;
    }));
    TestServer {
        addr,
        stats,
        handled,
        _stop: stop,
    }
}

fn channel(addr: SocketAddr) -> Channel {
    Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect_timeout(LIMIT)
        .connect_lazy()
}

/// What one call of the burst saw.
struct Outcome {
    result: Result<Bytes, Status>,
    latency: Duration,
    /// The `grpc-retry-pushback-ms` of its response head, as it arrived.
    pushback: Option<String>,
}

/// `calls` calls of `method` at once, spread over `connections` channels.
async fn burst(
    addr: SocketAddr,
    method: GrpcMethod,
    calls: usize,
    connections: usize,
) -> Vec<Outcome> {
    let channels: Vec<Channel> = (0..connections).map(|_| channel(addr)).collect();
    // Connect every channel first, so the burst measures calls, not dials.
    for channel in &channels {
        let mut grpc = Grpc::new(channel.clone());
        bounded(grpc.unary(Request::new(Bytes::new()), QUICK, BytesCodec))
            .await
            .expect("the warm-up call succeeds");
    }
    let mut tasks = Vec::with_capacity(calls);
    for i in 0..calls {
        // Our client keeps reserved `grpc-*` headers out of a status's
        // metadata, so the pushback is read off the response head.
        let seen = Arc::new(Mutex::new(None));
        let record = seen.clone();
        let service = ServiceBuilder::new()
            .map_response(move |response: http::Response<_>| {
                *record.lock().unwrap() = response
                    .headers()
                    .get("grpc-retry-pushback-ms")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                response
            })
            .service(channels[i % connections].clone());
        let mut grpc = Grpc::new(service);
        tasks.push(tokio::spawn(async move {
            let start = Instant::now();
            let payload = Bytes::from(i.to_string());
            let result = timeout(LIMIT, grpc.unary(Request::new(payload), method, BytesCodec))
                .await
                .expect("a call of the burst waited unboundedly")
                .map(Response::into_inner);
            let latency = start.elapsed();
            let pushback = seen.lock().unwrap().take();
            Outcome {
                result,
                latency,
                pushback,
            }
        }));
    }
    let mut outcomes = Vec::with_capacity(calls);
    for task in tasks {
        outcomes.push(bounded(task).await.expect("no call task panicked"));
    }
    outcomes
}

/// The `q` quantile (0..=1) of `latencies`, by nearest rank.
fn quantile(latencies: &mut [Duration], q: f64) -> Duration {
    assert!(!latencies.is_empty());
    latencies.sort();
    let rank = ((q * latencies.len() as f64).ceil() as usize).clamp(1, latencies.len());
    latencies[rank - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_ten_times_the_cap_ends_promptly_with_ok_or_shed_and_nothing_is_lost() {
    const CAP: usize = 20;
    const CALLS: usize = 10 * CAP;
    let server = serve(ServerLoadShedLayer::new().max_in_flight(CAP)).await;
    // The warm-up calls (one per channel) are served too.
    let warm_up = 4;

    let started = Instant::now();
    let outcomes = burst(server.addr, WORK, CALLS, 4).await;
    let wall = started.elapsed();

    let mut served = Vec::new();
    let mut shed = Vec::new();
    for (i, outcome) in outcomes.iter().enumerate() {
        match &outcome.result {
            Ok(reply) => {
                assert_eq!(reply, &Bytes::from(i.to_string()), "call {i}'s own reply");
                assert_eq!(outcome.pushback, None, "call {i}");
                served.push(outcome.latency);
            }
            Err(status) => {
                assert_eq!(
                    status.code(),
                    Code::ResourceExhausted,
                    "call {i}: {status:?}"
                );
                assert!(
                    status.message().contains("load shed"),
                    "call {i}: {status:?}"
                );
                assert_eq!(outcome.pushback.as_deref(), Some("100"), "call {i}");
                shed.push(outcome.latency);
            }
        }
    }

    // None lost: every call is counted once, on both sides.
    assert_eq!(served.len() + shed.len(), CALLS);
    assert_eq!(server.stats.served() as usize, served.len() + warm_up);
    assert_eq!(server.stats.shed() as usize, shed.len());
    assert_eq!(
        server.handled.load(Ordering::SeqCst),
        served.len(),
        "only admitted calls reach the handler"
    );
    // The cap held: at least one cap's worth was served, and far from all.
    assert!(served.len() >= CAP, "served {}", served.len());
    assert!(shed.len() >= CALLS / 2, "shed {}", shed.len());

    let served_p50 = quantile(&mut served, 0.50);
    let served_p99 = quantile(&mut served, 0.99);
    let shed_p50 = quantile(&mut shed, 0.50);
    let shed_p99 = quantile(&mut shed, 0.99);
    println!(
        "load shed burst: cap {CAP}, {CALLS} calls at once over 4 connections, handler {} ms: \
         served {} (p50 {:.1} ms, p99 {:.1} ms), shed {} (p50 {:.1} ms, p99 {:.1} ms), \
         wall {:.1} ms",
        HOLD.as_millis(),
        served.len(),
        ms(served_p50),
        ms(served_p99),
        shed.len(),
        ms(shed_p50),
        ms(shed_p99),
        ms(wall),
    );
    // A refusal is answered at once: before an admitted call could have
    // finished, let alone waited for a place.
    assert!(
        shed_p99 < HOLD,
        "shed p99 {shed_p99:?} is not below the handler's {HOLD:?}"
    );
    assert!(served_p50 >= HOLD, "served p50 {served_p50:?}");

    // Nothing is left holding a place: the full cap is free again.
    bounded(async {
        while server.stats.in_flight() != 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    let again = burst(server.addr, WORK, CAP, 2).await;
    assert!(
        again.iter().all(|o| o.result.is_ok()),
        "a cap's worth after the burst is served whole"
    );
}

#[tokio::test]
async fn a_method_cap_sheds_only_that_method_with_the_configured_code() {
    let layer = ServerLoadShedLayer::new()
        .method_limit("/test.Shed/Work", 2)
        .shed_code(ShedCode::Unavailable)
        .retry_pushback(None);
    let server = serve(layer).await;

    let work = tokio::spawn({
        let addr = server.addr;
        async move { burst(addr, WORK, 10, 1).await }
    });
    // While Work is at its cap, Quick calls are still served.
    bounded(async {
        while server.stats.in_flight() < 2 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await;
    let quick = burst(server.addr, QUICK, 10, 1).await;
    assert!(quick.iter().all(|o| o.result.is_ok()));

    let work = bounded(work).await.unwrap();
    let mut served = 0;
    for outcome in &work {
        match &outcome.result {
            Ok(_) => served += 1,
            Err(status) => {
                assert_eq!(status.code(), Code::Unavailable, "{status:?}");
                assert_eq!(outcome.pushback, None);
                assert!(status.message().contains("/test.Shed/Work"), "{status:?}");
            }
        }
    }
    assert!(served >= 2, "served {served}");
    assert!(served < work.len(), "some Work calls were shed");
    let method = server.stats.method("/test.Shed/Work").unwrap();
    assert_eq!(method.shed() as usize, work.len() - served);
}
