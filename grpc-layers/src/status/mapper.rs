//! [`MapError`]: how an error or a panic becomes a [`Status`], and
//! [`DefaultMapper`], the table the layers use unless told otherwise.

use std::any::Any;
use std::error::Error;
use std::fmt;
use std::sync::Arc;

use grpc_core::status::find_in_chain;
use grpc_core::status::mapping::Side;
use grpc_core::{BoxError, Code, Status};

use super::classify::{chain_message, classify, panic_text, Verdict};

/// Turns what went wrong in a call into the [`Status`] it ends with.
///
/// Implemented for [`DefaultMapper`] and for any
/// `Fn(BoxError) -> Status + Clone` closure. A closure can handle the errors
/// it knows and hand the rest to a [`DefaultMapper`]:
///
/// ```
/// use grpc_core::{BoxError, Status};
/// use grpc_layers::status::{DefaultMapper, MapError, ServerStatusLayer};
///
/// let defaults = DefaultMapper::new();
/// let mapper = move |err: BoxError| match err.downcast::<std::num::ParseIntError>() {
///     Ok(bad) => Status::invalid_argument(format!("not a number: {bad}")),
///     Err(err) => defaults.map_error(err),
/// };
/// let layer = ServerStatusLayer::new().mapper(mapper);
/// # let _ = layer;
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not map errors to a gRPC status",
    note = "use `DefaultMapper` (with rules for your error types) or a closure `Fn(BoxError) -> Status + Clone`"
)]
pub trait MapError {
    /// The status for an error; keep `error` reachable through the status's
    /// [`source`](Error::source) where it helps.
    fn map_error(&self, error: BoxError) -> Status;

    /// The status for a panic of the service or its response body, given
    /// the panic's payload. By default `INTERNAL` with a generic message:
    /// the payload stays in the server's logs, not in the answer.
    fn map_panic(&self, payload: &(dyn Any + Send)) -> Status {
        let _ = payload;
        Status::internal("internal error: the handler panicked")
    }
}

impl<F> MapError for F
where
    F: Fn(BoxError) -> Status,
{
    fn map_error(&self, error: BoxError) -> Status {
        self(error)
    }
}

type RuleFn = dyn Fn(&(dyn Error + 'static)) -> Option<Status> + Send + Sync;

#[derive(Clone)]
struct Rule {
    type_name: &'static str,
    map: Arc<RuleFn>,
}

/// The shipped mapping from errors to statuses, to which rules for your own
/// error types can be added.
///
/// An error is read with its whole [`source`](Error::source) chain:
///
/// 1. a [`Status`] anywhere in the chain wins, as it is;
/// 2. otherwise, from the outermost error in: the first one that a rule
///    added with [`rule`](Self::rule) or [`code`](Self::code) knows, or
///    the built-in table below knows, decides;
/// 3. anything else is `UNKNOWN`.
///
/// | error | code |
/// |---|---|
/// | `tower::timeout::error::Elapsed` | `DEADLINE_EXCEEDED` |
/// | `tower::load_shed::error::Overloaded` | `UNAVAILABLE` |
/// | `h2::Error`: a stream reset (`RST_STREAM`) | by its error code, per gRPC's `PROTOCOL-HTTP2.md` ([`code_from_http2_error`]): `REFUSED_STREAM` → `UNAVAILABLE`, `CANCEL` → `CANCELLED`, `ENHANCE_YOUR_CALM` → `RESOURCE_EXHAUSTED`, `INADEQUATE_SECURITY` → `PERMISSION_DENIED`, others → `INTERNAL` |
/// | `h2::Error`: a `GOAWAY` from the peer | a connection failure |
/// | `io::Error` of a connection kind ([`is_connection_failure`]: refused, reset, aborted, not connected, broken pipe, unexpected EOF, timed out, address not available, host or network unreachable, network down) | a connection failure |
/// | `hyper::Error`: closed or canceled (unless its cause says more) | a connection failure |
///
/// A connection failure is [`connection_failure_code`]: `UNAVAILABLE`, or
/// `CANCELLED` for a mapper set to the [server's side](Self::side) of its
/// own connections.
///
/// [`code_from_http2_error`]: grpc_core::status::mapping::code_from_http2_error
/// [`is_connection_failure`]: grpc_core::status::mapping::is_connection_failure
/// [`connection_failure_code`]: grpc_core::status::mapping::connection_failure_code
///
/// The status message is the chain's text (`outer: inner: …`) and the
/// original error is the status's source. A panic is `INTERNAL` with a
/// generic message, or with the panic's own text after
/// [`panic_messages(true)`](Self::panic_messages).
///
/// ```
/// use grpc_core::{BoxError, Code, Status};
/// use grpc_layers::status::{DefaultMapper, MapError};
///
/// #[derive(Debug)]
/// struct NoSuchUser(String);
/// impl std::fmt::Display for NoSuchUser {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
///         write!(f, "no user {:?}", self.0)
///     }
/// }
/// impl std::error::Error for NoSuchUser {}
///
/// let mapper = DefaultMapper::new().code::<NoSuchUser>(Code::NotFound);
/// let status = mapper.map_error(Box::new(NoSuchUser("ada".into())));
/// assert_eq!(status.code(), Code::NotFound);
/// assert_eq!(status.message(), "no user \"ada\"");
///
/// let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
/// let status = mapper.map_error(Box::new(refused));
/// assert_eq!(status.code(), Code::Unavailable);
/// assert!(std::error::Error::source(&status).is_some());
/// ```
#[derive(Clone)]
pub struct DefaultMapper {
    rules: Option<Arc<Vec<Rule>>>,
    panic_messages: bool,
    side: Side,
}

impl Default for DefaultMapper {
    fn default() -> Self {
        DefaultMapper {
            rules: None,
            panic_messages: false,
            side: Side::Client,
        }
    }
}

impl DefaultMapper {
    /// The built-in table, with no rules of your own.
    pub fn new() -> Self {
        DefaultMapper::default()
    }

    /// Whose connection a connection failure broke (default
    /// [`Side::Client`]: `UNAVAILABLE`, the code for a call this process
    /// made, also when a handler's own outgoing call fails).
    /// [`Side::Server`] is for errors of the connection a server serves a
    /// call on: its calls end `CANCELLED`, as `PROTOCOL-HTTP2.md` says;
    /// `grpc-server` reads request bodies with such a mapper.
    pub fn side(mut self, side: Side) -> Self {
        self.side = side;
        self
    }

    /// Maps an error of type `E` (anywhere in a chain) with `rule`.
    ///
    /// Rules are tried in the order they were added, before the built-in
    /// table. The original error becomes the status's source; a status
    /// with an empty message gets the error chain's text as its message.
    pub fn rule<E>(self, rule: impl Fn(&E) -> Status + Send + Sync + 'static) -> Self
    where
        E: Error + 'static,
    {
        self.push(Rule {
            type_name: std::any::type_name::<E>(),
            map: Arc::new(move |err: &(dyn Error + 'static)| err.downcast_ref::<E>().map(&rule)),
        })
    }

    /// Maps an error of type `E` (anywhere in a chain) to `code`, with the
    /// error chain's text as the message.
    pub fn code<E>(self, code: Code) -> Self
    where
        E: Error + 'static,
    {
        self.rule::<E>(move |_| Status::new(code, String::new()))
    }

    /// Whether a panic's own text (`the handler panicked: …`) goes in the
    /// status message, instead of a generic one (default `false`: a panic
    /// message can tell a client more about the server than it should
    /// know).
    pub fn panic_messages(mut self, on: bool) -> Self {
        self.panic_messages = on;
        self
    }

    fn push(mut self, rule: Rule) -> Self {
        Arc::make_mut(self.rules.get_or_insert_with(Default::default)).push(rule);
        self
    }

    /// What the rules and the table say about one error of the chain.
    fn verdict(&self, err: &(dyn Error + 'static)) -> Result<Status, Verdict> {
        for rule in self.rules.iter().flat_map(|rules| rules.iter()) {
            if let Some(status) = (rule.map)(err) {
                return Ok(status);
            }
        }
        Err(classify(err, self.side))
    }
}

impl MapError for DefaultMapper {
    fn map_error(&self, error: BoxError) -> Status {
        let error = match error.downcast::<Status>() {
            Ok(status) => return *status,
            Err(error) => error,
        };
        if let Some(status) = find_in_chain::<Status>(&*error) {
            return status.clone();
        }
        let mut fallback = None;
        let mut cur: Option<&(dyn Error + 'static)> = Some(&*error);
        let mut decided = None;
        while let Some(err) = cur {
            match self.verdict(err) {
                Ok(status) => {
                    decided = Some(status);
                    break;
                }
                Err(Verdict::Code(code)) => {
                    decided = Some(Status::new(code, String::new()));
                    break;
                }
                Err(Verdict::Fallback(code)) => {
                    fallback.get_or_insert(code);
                }
                Err(Verdict::Unknown) => {}
            }
            cur = err.source();
        }
        let status = decided
            .unwrap_or_else(|| Status::new(fallback.unwrap_or(Code::Unknown), String::new()));
        let status = if status.message().is_empty() {
            Status::new(status.code(), chain_message(&*error))
                .with_details(status.details().clone())
                .with_metadata(status.metadata().clone())
        } else {
            status
        };
        status.with_source(error)
    }

    fn map_panic(&self, payload: &(dyn Any + Send)) -> Status {
        match panic_text(payload) {
            Some(text) if self.panic_messages => {
                Status::internal(format!("internal error: the handler panicked: {text}"))
            }
            _ => Status::internal("internal error: the handler panicked"),
        }
    }
}

impl fmt::Debug for DefaultMapper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rules: Vec<&str> = self
            .rules
            .iter()
            .flat_map(|rules| rules.iter().map(|rule| rule.type_name))
            .collect();
        f.debug_struct("DefaultMapper")
            .field("rules", &rules)
            .field("panic_messages", &self.panic_messages)
            .field("side", &self.side)
            .finish()
    }
}
