//! The command-line flags of the benchmark programs, parsed with `clap`.
//!
//! Every flag is `--name value` (or `--name=value`); a flag given twice
//! keeps its last value. The servers take `--addr` (default
//! [`DEFAULT_ADDR`]) and `--runtime` (and `--stack` for ours), the load
//! generators the flags of [`LoadArgs`]. `--help` lists them all; a wrong
//! command line prints the error and the usage and exits with status 2.
//!
//! ```
//! use benches::args::{LoadArgs, Mode};
//!
//! let args =
//!     LoadArgs::try_parse_from(["bench-loadgen", "--mode", "stream", "--stream-msgs=10"]).unwrap();
//! assert_eq!(args.mode, Mode::Stream);
//! assert_eq!(args.stream_msgs, 10);
//! ```

use std::ffi::OsString;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use clap::Parser;

use crate::runtime::Flavor;

/// The address a server listens on, and a load generator calls, by default.
pub const DEFAULT_ADDR: &str = "127.0.0.1:50051";

/// What a load generator calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `helloworld.Greeter/SayHello`.
    Unary,
    /// `benchstream.Streamer/Download`.
    Stream,
}

impl FromStr for Mode {
    type Err = String;

    fn from_str(s: &str) -> Result<Mode, String> {
        match s {
            "unary" => Ok(Mode::Unary),
            "stream" => Ok(Mode::Stream),
            _ => Err("expected unary or stream".into()),
        }
    }
}

/// The request payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Payload {
    /// grpc_bench's complex_proto `HelloRequest`, every field set.
    Complex,
    /// Unary: a `HelloRequest` whose `name` holds this many bytes; stream:
    /// the size of each chunk.
    Bytes(usize),
}

impl FromStr for Payload {
    type Err = String;

    fn from_str(s: &str) -> Result<Payload, String> {
        if s == "complex" {
            return Ok(Payload::Complex);
        }
        s.parse()
            .map(Payload::Bytes)
            .map_err(|_| "expected complex or a number of bytes".into())
    }
}

/// The flags every load generator takes.
#[derive(Clone, Debug)]
pub struct LoadArgs {
    /// `--addr`: the server (default `127.0.0.1:50051`).
    pub addr: SocketAddr,
    /// `--mode unary|stream` (default unary).
    pub mode: Mode,
    /// `--concurrency C`: calls in flight at once (default 1).
    pub concurrency: usize,
    /// `--connections K`: HTTP/2 connections the calls spread over (default 1).
    pub connections: usize,
    /// `--duration S`: seconds measured (default 10; ignored with `--requests`).
    pub duration: Duration,
    /// `--warmup S`: seconds run before measuring (default 1).
    pub warmup: Duration,
    /// `--requests N`: make exactly N calls, no warm-up, instead of a timed
    /// run (0, the default, means a timed run).
    pub requests: Option<u64>,
    /// `--payload complex|BYTES` (default complex; stream mode: 1024 when complex).
    pub payload: Payload,
    /// `--stream-msgs N`: messages per streaming call (default 100).
    pub stream_msgs: u32,
    /// `--dump-request PATH`: write the framed request this run would send
    /// (for `h2load -d`) and exit without calling (an empty PATH: call).
    pub dump_request: Option<std::path::PathBuf>,
    /// `--runtime grpc|tokio`: the runtime settings; each program has its
    /// own default (see [`Flavor`]), which an empty value also picks.
    pub runtime: Option<Flavor>,
    /// A bearer token to send with every call (`--bearer`), if any.
    pub bearer: Option<String>,
}

/// The command line of a load generator, as `clap` reads it; [`LoadArgs`]
/// is what it means.
#[derive(Debug, Parser)]
#[command(
    about = "A closed-loop gRPC load generator; prints one JSON line.",
    args_override_self = true
)]
struct LoadFlags {
    /// The server to call.
    #[arg(long, value_name = "HOST:PORT", default_value = DEFAULT_ADDR)]
    addr: SocketAddr,
    /// What to call: helloworld.Greeter/SayHello or benchstream.Streamer/Download.
    #[arg(long, value_name = "unary|stream", default_value = "unary")]
    mode: Mode,
    /// Calls in flight at once.
    #[arg(long, value_name = "C", default_value = "1", value_parser = at_least_one)]
    concurrency: usize,
    /// HTTP/2 connections the calls spread over.
    #[arg(long, value_name = "K", default_value = "1", value_parser = at_least_one)]
    connections: usize,
    /// Seconds measured (ignored with --requests).
    #[arg(long, value_name = "S", default_value = "10", value_parser = seconds)]
    duration: Duration,
    /// Seconds run before measuring.
    #[arg(long, value_name = "S", default_value = "1", value_parser = seconds)]
    warmup: Duration,
    /// Make exactly N calls, with no warm-up, instead of a timed run (0: a timed run).
    #[arg(long, value_name = "N", default_value_t = 0)]
    requests: u64,
    /// The request: grpc_bench's complex message, or BYTES of payload (stream
    /// mode: the size of each chunk, 1024 for complex).
    #[arg(long, value_name = "complex|BYTES", default_value = "complex")]
    payload: Payload,
    /// Messages per streaming call.
    #[arg(long = "stream-msgs", value_name = "N", default_value_t = 100)]
    stream_msgs: u32,
    /// Write the framed request this run would send (for h2load -d) and exit
    /// without calling.
    #[arg(long = "dump-request", value_name = "PATH")]
    dump_request: Option<OsString>,
    /// The tokio runtime settings (default: grpc for bench-loadgen, tokio for
    /// tonic-bench-loadgen).
    #[arg(long, value_name = "grpc|tokio", value_parser = runtime_flag)]
    runtime: Option<RuntimeFlag>,
    /// Send `authorization: Bearer TOKEN` with every call (bench-loadgen only;
    /// for `bench-server --with auth`).
    #[arg(long, value_name = "TOKEN")]
    bearer: Option<String>,
}

/// A `--runtime` value: a flavor, or none (the program's own) when empty.
#[derive(Clone, Copy, Debug)]
struct RuntimeFlag(Option<Flavor>);

fn runtime_flag(s: &str) -> Result<RuntimeFlag, String> {
    if s.is_empty() {
        return Ok(RuntimeFlag(None));
    }
    s.parse().map(|flavor| RuntimeFlag(Some(flavor)))
}

/// A count that must be at least 1 (`--concurrency`, `--connections`).
fn at_least_one(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

/// A number of seconds, fractions allowed (`--duration`, `--warmup`).
fn seconds(s: &str) -> Result<Duration, String> {
    let secs: f64 = s.parse().map_err(|e| format!("{e}"))?;
    if !(secs.is_finite() && secs >= 0.0) {
        return Err("must be a number of seconds".into());
    }
    Duration::try_from_secs_f64(secs).map_err(|e| e.to_string())
}

impl From<LoadFlags> for LoadArgs {
    fn from(flags: LoadFlags) -> LoadArgs {
        LoadArgs {
            addr: flags.addr,
            mode: flags.mode,
            concurrency: flags.concurrency,
            connections: flags.connections,
            duration: flags.duration,
            warmup: flags.warmup,
            requests: (flags.requests > 0).then_some(flags.requests),
            payload: flags.payload,
            stream_msgs: flags.stream_msgs,
            dump_request: flags.dump_request.filter(|p| !p.is_empty()).map(Into::into),
            runtime: flags.runtime.and_then(|r| r.0),
            bearer: flags.bearer.filter(|t| !t.is_empty()),
        }
    }
}

impl LoadArgs {
    /// The flags of this process; on a wrong command line, prints the error
    /// and the usage and exits with status 2 (`--help` prints the help and
    /// exits with 0).
    pub fn from_env() -> LoadArgs {
        LoadFlags::parse().into()
    }

    /// Parses `args`, the program name first, as [`from_env`](Self::from_env)
    /// would, but returns the error (or the help) instead of exiting.
    pub fn try_parse_from<I, T>(args: I) -> Result<LoadArgs, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        LoadFlags::try_parse_from(args).map(Into::into)
    }

    /// The size of each streamed chunk.
    pub fn chunk_size(&self) -> u32 {
        match self.payload {
            Payload::Complex => 1024,
            Payload::Bytes(n) => n.min(u32::MAX as usize) as u32,
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::error::ErrorKind;
    use clap::CommandFactory;

    use super::*;

    fn parse(args: &[&str]) -> Result<LoadArgs, clap::Error> {
        LoadArgs::try_parse_from(std::iter::once("bench-loadgen").chain(args.iter().copied()))
    }

    #[test]
    fn the_command_is_well_formed() {
        LoadFlags::command().debug_assert();
    }

    #[test]
    fn defaults_are_a_one_connection_unary_run_of_the_complex_payload() {
        let a = parse(&[]).unwrap();
        assert_eq!(a.addr, DEFAULT_ADDR.parse().unwrap());
        assert_eq!(a.mode, Mode::Unary);
        assert_eq!((a.concurrency, a.connections), (1, 1));
        assert_eq!(a.duration, Duration::from_secs(10));
        assert_eq!(a.warmup, Duration::from_secs(1));
        assert_eq!(a.payload, Payload::Complex);
        assert_eq!(a.requests, None);
        assert_eq!(a.stream_msgs, 100);
        assert_eq!(a.dump_request, None);
        assert_eq!(a.runtime, None);
    }

    #[test]
    fn every_flag_is_read_in_both_spellings() {
        let a = parse(&[
            "--addr=127.0.0.1:9",
            "--mode",
            "stream",
            "--concurrency",
            "64",
            "--connections=4",
            "--duration",
            "2.5",
            "--warmup",
            "0",
            "--requests",
            "10",
            "--payload",
            "65536",
            "--stream-msgs",
            "7",
            "--dump-request=req.bin",
            "--runtime",
            "tokio",
        ])
        .unwrap();
        assert_eq!(a.addr.port(), 9);
        assert_eq!(a.mode, Mode::Stream);
        assert_eq!((a.concurrency, a.connections), (64, 4));
        assert_eq!(a.duration, Duration::from_millis(2500));
        assert_eq!(a.warmup, Duration::ZERO);
        assert_eq!(a.requests, Some(10));
        assert_eq!(a.chunk_size(), 65536);
        assert_eq!(a.stream_msgs, 7);
        assert_eq!(a.dump_request, Some("req.bin".into()));
        assert_eq!(a.runtime, Some(Flavor::Tokio));
    }

    #[test]
    fn zero_and_empty_values_mean_the_defaults() {
        let a = parse(&["--requests", "0", "--dump-request=", "--runtime", ""]).unwrap();
        assert_eq!(a.requests, None);
        assert_eq!(a.dump_request, None);
        assert_eq!(a.runtime, None);
    }

    #[test]
    fn a_repeated_flag_keeps_its_last_value() {
        let a = parse(&["--concurrency", "2", "--concurrency=3"]).unwrap();
        assert_eq!(a.concurrency, 3);
    }

    #[test]
    fn unknown_flags_and_bad_values_are_errors() {
        let kind = |args: &[&str]| parse(args).unwrap_err().kind();
        assert_eq!(kind(&["--concurency", "2"]), ErrorKind::UnknownArgument);
        assert_eq!(kind(&["stray"]), ErrorKind::UnknownArgument);
        assert_eq!(kind(&["--mode", "bidi"]), ErrorKind::ValueValidation);
        assert_eq!(kind(&["--concurrency", "0"]), ErrorKind::ValueValidation);
        assert_eq!(kind(&["--connections=0"]), ErrorKind::ValueValidation);
        assert_eq!(kind(&["--duration", "soon"]), ErrorKind::ValueValidation);
        assert_eq!(kind(&["--duration=-1"]), ErrorKind::ValueValidation);
        assert_eq!(kind(&["--warmup=inf"]), ErrorKind::ValueValidation);
        assert_eq!(
            kind(&["--runtime", "async-std"]),
            ErrorKind::ValueValidation
        );
        assert!(parse(&["--duration", "-1"]).is_err());
        assert!(parse(&["--payload"]).is_err());
    }
}
