//! The demo: a server and a client in one program, one call of each RPC kind.
//!
//! ```sh
//! cargo run -p examples --bin demo
//! ```
//!
//! It starts the `demo.Chat` server on a free loopback port, calls it once
//! per RPC kind, prints what happened, shuts the server down gracefully and
//! exits 0 (non-zero if any call failed).
//!
//! With the standard `OTEL_*` environment variables set it exports the
//! spans and metrics of both sides over OTLP, flushed before it exits (see
//! [`examples::telemetry`]):
//!
//! ```sh
//! OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4317 cargo run -p examples --bin demo
//! ```
//!
//! With `--auth`, the server answers only callers with a known bearer
//! token (`grpc_layers::auth`), and the client sends one; the demo then
//! also shows a call without it refused with `UNAUTHENTICATED`. The token
//! goes over h2c because the demo talks to itself on loopback, which its
//! client allows explicitly (`allow_insecure(true)`): without that, the
//! channel refuses to send credentials over plaintext.
//!
//! ```sh
//! cargo run -p examples --bin demo -- --auth
//! ```

use std::pin::Pin;
use std::time::Duration;

use clap::Parser;
use examples::demo::chat_client::ChatClient;
use examples::demo::chat_server::{Chat, ChatServer};
use examples::demo::{CountdownRequest, HelloReply, HelloRequest, Line, Number, SumReply, Tick};
use examples::telemetry::Telemetry;
use futures_util::{Stream, StreamExt};
use grpc_client::codegen::GrpcService;
use grpc_client::Endpoint;
use grpc_core::{Request, Response, Status, Streaming};
use grpc_layers::auth::{Access, BearerTokens, ClientAuthLayer, Identity, ServerAuthLayer};
use grpc_layers::compression::ServerCompressionLayer;
use grpc_layers::deadline::ServerDeadlineLayer;
use grpc_layers::limits::ServerLimitsLayer;
use grpc_layers::otel::{ClientTelemetryLayer, ServerTelemetryLayer};
use grpc_layers::status::ServerStatusLayer;
use grpc_server::{Router, Server};
use tokio::sync::{mpsc, oneshot};
use tokio_stream::wrappers::ReceiverStream;
use tower::ServiceBuilder;

/// The command line of the demo.
#[derive(Debug, Parser)]
#[command(about = "A server and a client in one program, one call of each RPC kind.")]
struct Args {
    /// Require a bearer token on the server and send one from the client.
    #[arg(long)]
    auth: bool,
}

/// The token the demo's server accepts with `--auth`, and whose caller it is.
const DEMO_TOKEN: &str = "demo-token";

/// The demo service.
struct DemoChat;

type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

impl Chat for DemoChat {
    async fn hello(&self, request: Request<HelloRequest>) -> Result<Response<HelloReply>, Status> {
        let caller = request
            .extensions()
            .get::<Identity<String>>()
            .map(|Identity(caller)| caller.clone());
        let name = request.into_inner().name;
        if name.is_empty() {
            return Err(Status::invalid_argument("name must not be empty"));
        }
        let greeting = match caller {
            Some(caller) => format!("Hello, {name}! (the server knows you as {caller})"),
            None => format!("Hello, {name}!"),
        };
        Ok(Response::new(HelloReply { greeting }))
    }

    type CountdownStream = BoxStream<Tick>;

    async fn countdown(
        &self,
        request: Request<CountdownRequest>,
    ) -> Result<Response<Self::CountdownStream>, Status> {
        let from = request.into_inner().from;
        let ticks = futures_util::stream::iter((1..=from).rev()).then(|remaining| async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            Ok(Tick { remaining })
        });
        Ok(Response::new(Box::pin(ticks)))
    }

    async fn sum(&self, request: Request<Streaming<Number>>) -> Result<Response<SumReply>, Status> {
        let mut numbers = request.into_inner();
        let (mut total, mut count) = (0i64, 0u32);
        while let Some(number) = numbers.message().await? {
            total = total
                .checked_add(number.value)
                .ok_or_else(|| Status::out_of_range("the sum overflows an i64"))?;
            count += 1;
        }
        Ok(Response::new(SumReply { total, count }))
    }

    type ConverseStream = BoxStream<Line>;

    async fn converse(
        &self,
        request: Request<Streaming<Line>>,
    ) -> Result<Response<Self::ConverseStream>, Status> {
        let answers = request.into_inner().map(|line| {
            let text = line?.text;
            Ok(Line {
                text: format!("you said {:?} ({} letters)", text, text.chars().count()),
            })
        });
        Ok(Response::new(Box::pin(answers)))
    }
}

async fn run_client(addr: std::net::SocketAddr, auth: bool) -> Result<(), Status> {
    let target = format!("http://{addr}");
    let channel = Endpoint::new(target.parse().expect("a valid URI"))
        .map_err(|e| Status::invalid_argument(e.to_string()))?
        .connect_lazy();
    // The default client stack, with telemetry outermost (it records
    // nothing unless an OpenTelemetry SDK is installed) and, with --auth,
    // the token.
    let telemetry = ClientTelemetryLayer::new().target(&target);
    if !auth {
        let stack = ServiceBuilder::new()
            .layer(telemetry)
            .layer(grpc_client::stack::default_layers())
            .service(channel);
        return calls(ChatClient::new(stack)).await;
    }
    println!("unary        Hello(\"Ada\") without the token (an error, on purpose)");
    let err = ChatClient::new(channel.clone())
        .hello(HelloRequest { name: "Ada".into() })
        .await
        .unwrap_err();
    println!("             -> {:?}: {}", err.code(), err.message());
    let credentials = ClientAuthLayer::bearer(DEMO_TOKEN)
        .expect("a valid header value")
        // Loopback h2c: see the module docs.
        .allow_insecure(true);
    let stack = ServiceBuilder::new()
        .layer(telemetry)
        .layer(credentials)
        .layer(grpc_client::stack::default_layers())
        .service(channel);
    calls(ChatClient::new(stack)).await
}

/// One call of each kind through `client`.
async fn calls<S: GrpcService>(mut client: ChatClient<S>) -> Result<(), Status> {
    println!("unary        Hello(\"Ada\")");
    let reply = client.hello(HelloRequest { name: "Ada".into() }).await?;
    println!("             -> {:?}", reply.get_ref().greeting);

    println!("unary        Hello(\"\") (an error, on purpose)");
    let err = client
        .hello(HelloRequest {
            name: String::new(),
        })
        .await
        .unwrap_err();
    println!("             -> {:?}: {}", err.code(), err.message());

    println!("server-side  Countdown(from 3)");
    let mut ticks = client
        .countdown(CountdownRequest { from: 3 })
        .await?
        .into_inner();
    while let Some(tick) = ticks.message().await? {
        println!("             -> tick, {} remaining", tick.remaining);
    }

    println!("client-side  Sum(1..=10)");
    let numbers = futures_util::stream::iter((1..=10).map(|value| Number { value }));
    let sum = client.sum(numbers).await?.into_inner();
    println!(
        "             -> total {} over {} numbers",
        sum.total, sum.count
    );

    println!("bidi         Converse (each line answered before the next is sent)");
    let (tx, rx) = mpsc::channel(1);
    let lines = ["hello", "how are you?", "bye"];
    tx.send(Line {
        text: lines[0].into(),
    })
    .await
    .ok();
    let mut answers = client.converse(ReceiverStream::new(rx)).await?.into_inner();
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            tx.send(Line {
                text: (*line).into(),
            })
            .await
            .ok();
        }
        match answers.message().await? {
            Some(answer) => println!("             {line:?} -> {:?}", answer.text),
            None => return Err(Status::internal("the conversation ended early")),
        }
    }
    drop(tx);
    while answers.message().await?.is_some() {}
    Ok(())
}

#[tokio::main]
async fn main() {
    let Args { auth } = Args::parse();
    let telemetry = match Telemetry::from_env() {
        Ok(telemetry) => telemetry,
        Err(err) => {
            eprintln!("demo         {err}");
            std::process::exit(2);
        }
    };
    if telemetry.is_on() {
        println!("telemetry    exporting over OTLP (OTEL_* environment variables)");
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let addr = listener.local_addr().expect("a local address");
    println!("server       listening on {addr} (h2c)");

    let router = Router::new().add_service(ChatServer::new(DemoChat));
    // The default server stack written out, with telemetry outermost and
    // the auth layer where grpc_server::stack says it goes; without --auth
    // every method is open, so the authorizer is never asked.
    let access = if auth {
        Access::authenticated()
    } else {
        Access::open()
    };
    let authorizer = ServerAuthLayer::new(BearerTokens::new().token(DEMO_TOKEN, "ada".to_owned()))
        .default_access(access);
    let service = ServiceBuilder::new()
        .layer(ServerTelemetryLayer::new())
        .layer(ServerStatusLayer::new())
        .layer(ServerDeadlineLayer::new())
        .layer(authorizer)
        .layer(ServerLimitsLayer::new())
        .layer(ServerCompressionLayer::new())
        .service(router);
    if auth {
        println!("server       requires a bearer token (--auth)");
    }
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(Server::new().serve_with_shutdown(listener, service, async {
        stopped.await.ok();
    }));

    let outcome = tokio::time::timeout(Duration::from_secs(30), run_client(addr, auth)).await;

    stop.send(()).ok();
    match server.await {
        Ok(Ok(())) => println!("server       shut down gracefully"),
        Ok(Err(err)) => eprintln!("server       failed: {err}"),
        Err(err) => eprintln!("server       task failed: {err}"),
    }
    if telemetry.is_on() {
        match tokio::task::spawn_blocking(move || telemetry.shutdown()).await {
            Ok(Ok(())) => println!("telemetry    flushed"),
            Ok(Err(err)) => eprintln!("telemetry    {err}"),
            Err(err) => eprintln!("telemetry    task failed: {err}"),
        }
    }
    match outcome {
        Ok(Ok(())) => println!("demo         all four RPC kinds worked"),
        Ok(Err(status)) => {
            eprintln!("demo         a call failed: {status}");
            std::process::exit(1);
        }
        Err(_) => {
            eprintln!("demo         timed out");
            std::process::exit(1);
        }
    }
}
