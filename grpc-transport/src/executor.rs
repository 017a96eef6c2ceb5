//! [`BoxingExecutor`]: the executor both sides hand hyper.

/// hyper's executor for both sides: spawns the futures hyper hands it (per
/// stream on a server; per call on a client, the request-body pipe and the
/// response waiter) on tokio, boxed.
///
/// hyper's futures are large (a client's is one enum as large as the whole
/// connection task). Spawned as they are, each is copied into the task cell
/// at spawn and again on every stage change of the task; boxed, it is copied
/// once and the task stays small (benches/RESULTS.md has the figures).
#[derive(Clone, Copy, Debug, Default)]
pub struct BoxingExecutor;

impl<F> hyper::rt::Executor<F> for BoxingExecutor
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, future: F) {
        tokio::spawn(Box::pin(future));
    }
}
