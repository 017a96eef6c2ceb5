//! The command-line flags of `interop-client` and `interop-server`, in the
//! style of gRPC's interop harnesses: underscored long names, `--name=value`
//! or `--name value`, booleans with an explicit `true`/`false`
//! (`--use_tls true`, `--use_tls=false`).
//!
//! ```
//! use clap::Parser;
//! use examples::interop::args::ClientArgs;
//!
//! let args = ClientArgs::try_parse_from([
//!     "interop-client", "--server_port=10000", "--use_tls", "false",
//! ])
//! .unwrap();
//! assert_eq!(args.target().port, 10000);
//! assert_eq!(args.test_case, "large_unary");
//! ```

use std::time::Duration;

use clap::{ArgAction, Parser};

use super::{cases, Target};

/// The flags of `interop-client`.
#[derive(Clone, Debug, Parser)]
#[command(about = "Runs gRPC's interop test cases against an interop server.")]
pub struct ClientArgs {
    /// The host to connect to.
    #[arg(long = "server_host", value_name = "HOST", default_value = "localhost")]
    pub server_host: String,

    /// The port to connect to.
    #[arg(long = "server_port", value_name = "PORT")]
    pub server_port: u16,

    /// One case, a comma-separated list of cases, or all.
    #[arg(
        long = "test_case",
        value_name = "CASES",
        default_value = "large_unary"
    )]
    pub test_case: String,

    /// TLS (true) or HTTP/2 with prior knowledge (false).
    #[arg(
        long = "use_tls",
        value_name = "BOOL",
        default_value_t = false,
        action = ArgAction::Set
    )]
    pub use_tls: bool,

    /// Trust the committed test CA instead of the platform's roots.
    #[arg(
        long = "use_test_ca",
        value_name = "BOOL",
        default_value_t = false,
        action = ArgAction::Set
    )]
    pub use_test_ca: bool,

    /// The name to verify in the server's certificate (empty: the host).
    #[arg(long = "server_host_override", value_name = "NAME")]
    pub server_host_override: Option<String>,

    /// A PEM file of roots to trust instead.
    #[arg(long = "ca_file", value_name = "PEM")]
    pub ca_file: Option<String>,

    /// Iterations of the rpc_soak case.
    #[arg(long = "soak_iterations", value_name = "N", default_value_t = 200)]
    pub soak_iterations: usize,

    /// The slowest acceptable rpc_soak iteration, in milliseconds.
    #[arg(
        long = "soak_per_iteration_max_acceptable_latency_ms",
        value_name = "MS",
        default_value_t = 1000
    )]
    pub soak_per_iteration_max_acceptable_latency_ms: u64,
}

impl ClientArgs {
    /// Where and how to connect.
    pub fn target(&self) -> Target {
        Target {
            host: self.server_host.clone(),
            port: self.server_port,
            use_tls: self.use_tls,
            use_test_ca: self.use_test_ca,
            server_host_override: self.server_host_override.clone().filter(|s| !s.is_empty()),
            ca_file: self.ca_file.clone(),
        }
    }

    /// The options of the cases.
    pub fn options(&self) -> cases::Options {
        cases::Options {
            soak_iterations: self.soak_iterations,
            soak_max_latency: Duration::from_millis(
                self.soak_per_iteration_max_acceptable_latency_ms,
            ),
        }
    }
}

/// The flags of `interop-server`.
#[derive(Clone, Debug, Parser)]
#[command(about = "Serves grpc.testing.TestService for gRPC's interop test cases.")]
pub struct ServerArgs {
    /// The port to listen on (0 picks a free one).
    #[arg(long = "port", value_name = "PORT", default_value_t = 10000)]
    pub port: u16,

    /// TLS with the committed test certificate (true) or h2c (false).
    #[arg(
        long = "use_tls",
        value_name = "BOOL",
        default_value_t = false,
        action = ArgAction::Set
    )]
    pub use_tls: bool,
}

#[cfg(test)]
mod tests {
    use clap::error::ErrorKind;
    use clap::CommandFactory;

    use super::*;

    fn client(args: &[&str]) -> Result<ClientArgs, clap::Error> {
        ClientArgs::try_parse_from(std::iter::once("interop-client").chain(args.iter().copied()))
    }

    fn server(args: &[&str]) -> Result<ServerArgs, clap::Error> {
        ServerArgs::try_parse_from(std::iter::once("interop-server").chain(args.iter().copied()))
    }

    #[test]
    fn the_commands_are_well_formed() {
        ClientArgs::command().debug_assert();
        ServerArgs::command().debug_assert();
    }

    #[test]
    fn defaults_are_those_of_the_interop_descriptions() {
        let a = client(&["--server_port", "1"]).unwrap();
        let target = a.target();
        assert_eq!(target.host, "localhost");
        assert_eq!(target.port, 1);
        assert!(!target.use_tls && !target.use_test_ca);
        assert_eq!(target.server_host_override, None);
        assert_eq!(target.ca_file, None);
        assert_eq!(a.test_case, "large_unary");
        let options = a.options();
        assert_eq!(options.soak_iterations, 200);
        assert_eq!(options.soak_max_latency, Duration::from_millis(1000));

        let s = server(&[]).unwrap();
        assert_eq!((s.port, s.use_tls), (10000, false));
    }

    #[test]
    fn both_flag_forms_parse_and_booleans_take_a_value() {
        let s = server(&["--port=8080", "--use_tls", "true"]).unwrap();
        assert_eq!((s.port, s.use_tls), (8080, true));
        let s = server(&["--port", "0", "--use_tls=false"]).unwrap();
        assert_eq!((s.port, s.use_tls), (0, false));

        let a = client(&[
            "--server_host",
            "127.0.0.1",
            "--server_port=10000",
            "--test_case",
            "empty_unary,large_unary",
            "--use_tls=true",
            "--use_test_ca",
            "true",
            "--server_host_override=foo.test.google.fr",
            "--ca_file",
            "ca.pem",
            "--soak_iterations=5",
            "--soak_per_iteration_max_acceptable_latency_ms",
            "250",
        ])
        .unwrap();
        let target = a.target();
        assert_eq!(target.host, "127.0.0.1");
        assert_eq!(target.port, 10000);
        assert!(target.use_tls && target.use_test_ca);
        assert_eq!(
            target.server_host_override.as_deref(),
            Some("foo.test.google.fr")
        );
        assert_eq!(target.ca_file.as_deref(), Some("ca.pem"));
        assert_eq!(a.test_case, "empty_unary,large_unary");
        assert_eq!(a.options().soak_iterations, 5);
        assert_eq!(a.options().soak_max_latency, Duration::from_millis(250));

        // An empty override means "verify the host itself".
        let a = client(&["--server_port=1", "--server_host_override="]).unwrap();
        assert_eq!(a.target().server_host_override, None);
    }

    #[test]
    fn bad_command_lines_are_refused() {
        let kind = |r: Result<ServerArgs, clap::Error>| r.unwrap_err().kind();
        assert_eq!(kind(server(&["--nope=1"])), ErrorKind::UnknownArgument);
        assert_eq!(kind(server(&["stray"])), ErrorKind::UnknownArgument);
        // A boolean needs its value: a bare `--use_tls` is not `true`.
        assert!(server(&["--use_tls"]).is_err());
        assert!(server(&["--port"]).is_err());
        assert_eq!(kind(server(&["--use_tls=yes"])), ErrorKind::InvalidValue);
        assert_eq!(kind(server(&["--port=x"])), ErrorKind::ValueValidation);
        assert_eq!(
            kind(server(&["--port=1", "--port=2"])),
            ErrorKind::ArgumentConflict
        );
        assert_eq!(
            client(&[]).unwrap_err().kind(),
            ErrorKind::MissingRequiredArgument
        );
    }
}
