//! A tokio runtime sized to the CPU affinity, and the shutdown signal.
//!
//! `std::thread::available_parallelism` honours the process's CPU affinity
//! (`taskset`) and cgroup quota, so a server pinned to one core gets one
//! worker thread, as the benchmark contract asks.

use std::future::Future;
use std::io;

/// The number of worker threads: the CPUs this process may run on.
pub fn worker_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// A multi-threaded tokio runtime with [`worker_threads`] workers.
pub fn build() -> io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(worker_threads())
        .enable_all()
        .build()
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
