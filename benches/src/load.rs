//! The closed-loop load driver shared by both load generators, and its
//! report.
//!
//! `concurrency` workers each make one call at a time, back to back, over
//! `connections` connections (worker `i` uses connection `i % connections`).
//! After `warmup` the driver measures for `duration`, or, with `requests`,
//! makes exactly that many calls with no warm-up (what the instruction
//! counts under callgrind need). Latencies go into an HDR histogram
//! (1 µs to 60 s, 3 significant digits).
//!
//! The report is one JSON line:
//!
//! ```text
//! {"impl":"ours","mode":"unary","concurrency":64,"connections":1,"calls":812345,
//!  "elapsed_s":10.000,"rps":81234.5,"lat_us":{"p50":780,"p90":900,"p99":1300,"max":5000},
//!  "mb_per_s":8.93,"errors":0}
//! ```
//!
//! `mb_per_s` counts the message bytes received (response payloads, without
//! the 5-byte prefixes), in 10^6 bytes per second.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::args::{LoadArgs, Mode};

/// What one call yields: the message bytes received, or why it failed.
pub type CallResult = Result<u64, String>;

/// The outcome of a run.
#[derive(Debug, Clone)]
pub struct Report {
    /// Which implementation made the calls (`ours`, `tonic`).
    pub implementation: &'static str,
    /// The mode and shape of the run.
    pub args: LoadArgs,
    /// Calls completed while measuring (failed ones included).
    pub calls: u64,
    /// Calls that failed.
    pub errors: u64,
    /// Message bytes received while measuring.
    pub bytes: u64,
    /// Length of the measured interval.
    pub elapsed: Duration,
    /// Latency of each measured call, in microseconds.
    pub latency_us: Histogram<u64>,
}

impl Report {
    /// Completed calls per second.
    pub fn rps(&self) -> f64 {
        self.calls as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Received message bytes per second, in MB (10^6 bytes).
    pub fn mb_per_s(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The report as one JSON line.
    pub fn to_json(&self) -> String {
        let h = &self.latency_us;
        let mode = match self.args.mode {
            Mode::Unary => "unary",
            Mode::Stream => "stream",
        };
        format!(
            concat!(
                "{{\"impl\":\"{}\",\"mode\":\"{}\",\"concurrency\":{},\"connections\":{},",
                "\"calls\":{},\"elapsed_s\":{:.3},\"rps\":{:.1},",
                "\"lat_us\":{{\"p50\":{},\"p90\":{},\"p99\":{},\"max\":{}}},",
                "\"mb_per_s\":{:.2},\"errors\":{}}}"
            ),
            self.implementation,
            mode,
            self.args.concurrency,
            self.args.connections,
            self.calls,
            self.elapsed.as_secs_f64(),
            self.rps(),
            h.value_at_quantile(0.50),
            h.value_at_quantile(0.90),
            h.value_at_quantile(0.99),
            h.max(),
            self.mb_per_s(),
            self.errors,
        )
    }
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

struct Shared {
    recording: AtomicBool,
    stop: AtomicBool,
    issued: AtomicU64,
    budget: Option<u64>,
    first_error: AtomicBool,
}

struct Tally {
    calls: u64,
    errors: u64,
    bytes: u64,
    latency_us: Histogram<u64>,
}

/// How long to wait for calls still in flight when the measurement ends.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a run with a request budget may take at most.
const BUDGET_TIMEOUT: Duration = Duration::from_secs(900);

/// Runs the closed loop; `clients[i % clients.len()]` makes worker `i`'s
/// calls. Must run inside a tokio runtime.
pub async fn run<F, Fut>(implementation: &'static str, args: &LoadArgs, clients: Vec<F>) -> Report
where
    F: FnMut() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = CallResult> + Send,
{
    assert!(!clients.is_empty(), "at least one client");
    let shared = Arc::new(Shared {
        recording: AtomicBool::new(args.requests.is_some()),
        stop: AtomicBool::new(false),
        issued: AtomicU64::new(0),
        budget: args.requests,
        first_error: AtomicBool::new(true),
    });
    let mut workers = tokio::task::JoinSet::new();
    let start = Instant::now();
    for i in 0..args.concurrency {
        let mut call = clients[i % clients.len()].clone();
        let shared = shared.clone();
        workers.spawn(async move {
            let mut tally = Tally {
                calls: 0,
                errors: 0,
                bytes: 0,
                latency_us: histogram(),
            };
            loop {
                if shared.stop.load(Ordering::Relaxed) {
                    break;
                }
                if let Some(budget) = shared.budget {
                    if shared.issued.fetch_add(1, Ordering::Relaxed) >= budget {
                        break;
                    }
                }
                let t0 = Instant::now();
                let outcome = call().await;
                let micros = t0.elapsed().as_micros().max(1) as u64;
                if !shared.recording.load(Ordering::Relaxed) {
                    continue;
                }
                tally.calls += 1;
                tally.latency_us.saturating_record(micros);
                match outcome {
                    Ok(bytes) => tally.bytes += bytes,
                    Err(err) => {
                        tally.errors += 1;
                        if shared.first_error.swap(false, Ordering::Relaxed) {
                            eprintln!("first error: {err}");
                        }
                        // Do not spin on a dead server.
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            }
            tally
        });
    }

    // With a request budget the join below is the wait (bounded by
    // BUDGET_TIMEOUT); no timer ticks meanwhile, so instruction counts stay clean.
    let (measure_start, measure_end, drain_timeout) = if args.requests.is_some() {
        (start, None, BUDGET_TIMEOUT)
    } else {
        tokio::time::sleep(args.warmup).await;
        shared.recording.store(true, Ordering::Relaxed);
        let measure_start = Instant::now();
        tokio::time::sleep(args.duration).await;
        shared.recording.store(false, Ordering::Relaxed);
        shared.stop.store(true, Ordering::Relaxed);
        (measure_start, Some(Instant::now()), DRAIN_TIMEOUT)
    };

    let mut total = Tally {
        calls: 0,
        errors: 0,
        bytes: 0,
        latency_us: histogram(),
    };
    let drained = tokio::time::timeout(drain_timeout, async {
        while let Some(joined) = workers.join_next().await {
            match joined {
                Ok(t) => {
                    total.calls += t.calls;
                    total.errors += t.errors;
                    total.bytes += t.bytes;
                    total
                        .latency_us
                        .add(&t.latency_us)
                        .expect("histograms share bounds");
                }
                Err(_) => total.errors += 1,
            }
        }
    })
    .await;
    if drained.is_err() {
        eprintln!(
            "{} workers still busy after {drain_timeout:?}; counted as errors",
            workers.len()
        );
        total.errors += workers.len() as u64;
        workers.abort_all();
    }
    let end = measure_end.unwrap_or_else(Instant::now);
    Report {
        implementation,
        args: args.clone(),
        calls: total.calls,
        errors: total.errors,
        bytes: total.bytes,
        elapsed: end - measure_start,
        latency_us: total.latency_us,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::LoadArgs;

    fn args(extra: &[&str]) -> LoadArgs {
        LoadArgs::try_parse_from(std::iter::once("loadgen").chain(extra.iter().copied())).unwrap()
    }

    #[tokio::test]
    async fn a_request_budget_makes_exactly_that_many_calls() {
        let counter = Arc::new(AtomicU64::new(0));
        let c = counter.clone();
        let client = move || {
            let c = c.clone();
            async move {
                c.fetch_add(1, Ordering::Relaxed);
                Ok(10)
            }
        };
        let report = run(
            "test",
            &args(&["--requests", "100", "--concurrency", "8"]),
            vec![client],
        )
        .await;
        assert_eq!(report.calls, 100);
        assert_eq!(counter.load(Ordering::Relaxed), 100);
        assert_eq!(report.bytes, 1000);
        assert_eq!(report.errors, 0);
        let json = report.to_json();
        assert!(json.contains("\"errors\":0"), "{json}");
        assert!(
            json.starts_with("{\"impl\":\"test\",\"mode\":\"unary\""),
            "{json}"
        );
    }

    #[tokio::test]
    async fn failed_calls_are_counted_as_errors() {
        let client = || async { Err::<u64, _>("refused".to_string()) };
        let report = run("test", &args(&["--requests", "3"]), vec![client]).await;
        assert_eq!(report.errors, 3);
        assert!(report.to_json().contains("\"errors\":3"));
    }

    #[tokio::test]
    async fn a_timed_run_measures_only_after_the_warmup() {
        let client = || async {
            tokio::time::sleep(Duration::from_millis(1)).await;
            Ok(1)
        };
        let report = run(
            "test",
            &args(&["--duration", "0.2", "--warmup", "0.1", "--concurrency", "2"]),
            vec![client],
        )
        .await;
        assert!(report.calls > 0);
        assert!(report.elapsed >= Duration::from_millis(200));
        assert!(
            report.elapsed < Duration::from_millis(1000),
            "{:?}",
            report.elapsed
        );
    }
}
