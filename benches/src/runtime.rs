//! A tokio runtime sized to the CPU affinity, and the shutdown signal.
//!
//! `std::thread::available_parallelism` honours the process's CPU affinity
//! (`taskset`) and cgroup quota, so a server pinned to one core gets one
//! worker thread, as the benchmark contract asks.

use std::future::Future;
use std::io;

/// The number of worker threads: the CPUs this process may run on.
pub fn worker_threads() -> usize {
    grpc_transport::runtime::worker_threads()
}

/// Which tokio runtime settings a benchmark program runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// `grpc_transport::runtime::builder()`: what our stack recommends (the
    /// global queue looked at every other tick; see that module). The
    /// default of our programs.
    Grpc,
    /// tokio's defaults: what tonic and the bare-hyper ceiling run on by
    /// default.
    Tokio,
}

impl std::str::FromStr for Flavor {
    type Err = String;

    fn from_str(s: &str) -> Result<Flavor, String> {
        match s {
            "grpc" => Ok(Flavor::Grpc),
            "tokio" => Ok(Flavor::Tokio),
            _ => Err("expected grpc or tokio".into()),
        }
    }
}

/// A multi-threaded tokio runtime with [`worker_threads`] workers, on the
/// given settings.
pub fn build(flavor: Flavor) -> io::Result<tokio::runtime::Runtime> {
    match flavor {
        Flavor::Grpc => grpc_transport::runtime::builder().build(),
        Flavor::Tokio => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(worker_threads())
            .enable_all()
            .build(),
    }
}

/// Completes on SIGTERM or Ctrl-C (SIGINT).
pub fn shutdown_signal() -> io::Result<impl Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    })
}

/// Prints the address a server listens on, so scripts can wait for it.
pub fn announce(name: &str, addr: std::net::SocketAddr) {
    eprintln!(
        "{name} listening on {addr} ({} worker threads)",
        worker_threads()
    );
}
