//! The command-line flags of the benchmark programs.
//!
//! Every program takes `--name value` pairs; the servers take `--addr` (and
//! `--stack` for ours), the load generators the flags of [`LoadArgs`]. A
//! hand-written parser keeps the benchmark binaries small and quick to build.
//!
//! ```
//! use benches::args::{Flags, LoadArgs, Mode};
//!
//! let flags = Flags::parse(["--mode", "stream", "--stream-msgs", "10"].map(String::from)).unwrap();
//! let args = LoadArgs::from_flags(&flags).unwrap();
//! assert_eq!(args.mode, Mode::Stream);
//! assert_eq!(args.stream_msgs, 10);
//! ```

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

/// A malformed command line.
#[derive(Debug)]
pub struct ArgError(String);

impl fmt::Display for ArgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ArgError {}

/// `--name value` pairs, as given.
#[derive(Debug, Default)]
pub struct Flags {
    values: HashMap<String, String>,
}

impl Flags {
    /// Parses `--name value` pairs (also `--name=value`).
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Flags, ArgError> {
        let mut values = HashMap::new();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let Some(name) = arg.strip_prefix("--") else {
                return Err(ArgError(format!("unexpected argument {arg:?}")));
            };
            let (name, value) = match name.split_once('=') {
                Some((n, v)) => (n.to_owned(), v.to_owned()),
                None => {
                    let value = args
                        .next()
                        .ok_or_else(|| ArgError(format!("--{name} needs a value")))?;
                    (name.to_owned(), value)
                }
            };
            values.insert(name, value);
        }
        Ok(Flags { values })
    }

    /// The flags of this process.
    pub fn from_env() -> Result<Flags, ArgError> {
        Flags::parse(std::env::args().skip(1))
    }

    /// A flag's value parsed as `T`, or `default` when absent.
    pub fn get<T: FromStr>(&self, name: &str, default: T) -> Result<T, ArgError>
    where
        T::Err: fmt::Display,
    {
        match self.values.get(name) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|e| ArgError(format!("--{name} {v:?}: {e}"))),
        }
    }

    /// Fails on any flag not in `known`, so a typo is not silently ignored.
    pub fn only(&self, known: &[&str]) -> Result<(), ArgError> {
        match self.values.keys().find(|k| !known.contains(&k.as_str())) {
            Some(unknown) => Err(ArgError(format!(
                "unknown flag --{unknown} (known: --{})",
                known.join(", --")
            ))),
            None => Ok(()),
        }
    }
}

/// Exits with a usage message when the command line is wrong.
pub fn or_exit<T>(result: Result<T, ArgError>, usage: &str) -> T {
    result.unwrap_or_else(|err| {
        eprintln!("error: {err}\nusage: {usage}");
        std::process::exit(2)
    })
}

/// The flags of a server: `--addr` (default `127.0.0.1:50051`).
pub fn server_addr(flags: &Flags) -> Result<SocketAddr, ArgError> {
    flags.get("addr", SocketAddr::from(([127, 0, 0, 1], 50051)))
}

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
    /// `--requests N`: make exactly N calls, no warm-up, instead of a timed run.
    pub requests: Option<u64>,
    /// `--payload complex|BYTES` (default complex; stream mode: 1024 when complex).
    pub payload: Payload,
    /// `--stream-msgs N`: messages per streaming call (default 100).
    pub stream_msgs: u32,
    /// `--dump-request PATH`: write the framed request this run would send
    /// (for `h2load -d`) and exit without calling.
    pub dump_request: Option<std::path::PathBuf>,
    /// `--runtime grpc|tokio`: the runtime settings; each program has its
    /// own default (see [`Flavor`](crate::runtime::Flavor)).
    pub runtime: Option<crate::runtime::Flavor>,
}

/// Every flag a load generator knows.
pub const LOAD_FLAGS: &[&str] = &[
    "addr",
    "mode",
    "concurrency",
    "connections",
    "duration",
    "warmup",
    "requests",
    "payload",
    "stream-msgs",
    "dump-request",
    "runtime",
];

/// The usage line of a load generator.
pub const LOAD_USAGE: &str = "--addr 127.0.0.1:PORT --mode unary|stream --concurrency C \
     --connections K --duration S --warmup S [--requests N] --payload complex|BYTES --stream-msgs N [--dump-request PATH] [--runtime grpc|tokio]";

impl LoadArgs {
    /// Reads the load-generator flags.
    pub fn from_flags(flags: &Flags) -> Result<LoadArgs, ArgError> {
        flags.only(LOAD_FLAGS)?;
        let secs = |name, default| -> Result<Duration, ArgError> {
            let s: f64 = flags.get(name, default)?;
            if !(s.is_finite() && s >= 0.0) {
                return Err(ArgError(format!("--{name} must be a number of seconds")));
            }
            Ok(Duration::from_secs_f64(s))
        };
        let requests: u64 = flags.get("requests", 0)?;
        let args = LoadArgs {
            addr: flags.get("addr", SocketAddr::from(([127, 0, 0, 1], 50051)))?,
            mode: flags.get("mode", Mode::Unary)?,
            concurrency: flags.get("concurrency", 1)?,
            connections: flags.get("connections", 1)?,
            duration: secs("duration", 10.0)?,
            warmup: secs("warmup", 1.0)?,
            requests: (requests > 0).then_some(requests),
            payload: flags.get("payload", Payload::Complex)?,
            stream_msgs: flags.get("stream-msgs", 100)?,
            dump_request: flags
                .get("dump-request", String::new())
                .map(|p| (!p.is_empty()).then(|| p.into()))?,
            runtime: match flags.get("runtime", String::new())?.as_str() {
                "" => None,
                name => Some(
                    name.parse()
                        .map_err(|e| ArgError(format!("--runtime: {e}")))?,
                ),
            },
        };
        if args.concurrency == 0 || args.connections == 0 {
            return Err(ArgError(
                "--concurrency and --connections must be at least 1".into(),
            ));
        }
        Ok(args)
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
    use super::*;

    fn parse(args: &[&str]) -> Result<LoadArgs, ArgError> {
        LoadArgs::from_flags(&Flags::parse(args.iter().map(|s| s.to_string()))?)
    }

    #[test]
    fn defaults_are_a_one_connection_unary_run_of_the_complex_payload() {
        let a = parse(&[]).unwrap();
        assert_eq!(a.mode, Mode::Unary);
        assert_eq!((a.concurrency, a.connections), (1, 1));
        assert_eq!(a.payload, Payload::Complex);
        assert_eq!(a.requests, None);
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
        ])
        .unwrap();
        assert_eq!(a.addr.port(), 9);
        assert_eq!((a.concurrency, a.connections), (64, 4));
        assert_eq!(a.duration, Duration::from_millis(2500));
        assert_eq!(a.requests, Some(10));
        assert_eq!(a.chunk_size(), 65536);
        assert_eq!(a.stream_msgs, 7);
    }

    #[test]
    fn unknown_flags_and_bad_values_are_errors() {
        assert!(parse(&["--concurency", "2"]).is_err());
        assert!(parse(&["--mode", "bidi"]).is_err());
        assert!(parse(&["--concurrency", "0"]).is_err());
        assert!(parse(&["--duration", "-1"]).is_err());
        assert!(parse(&["--payload"]).is_err());
        assert!(parse(&["stray"]).is_err());
    }
}
