//! Generates code from small `.proto` files and checks what comes out.

use std::fs;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use grpc_build::Builder;

/// A scratch directory, removed when dropped.
struct Scratch {
    root: PathBuf,
}

impl Scratch {
    fn new(name: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let root = std::env::temp_dir().join(format!(
            "grpc-build-test-{}-{}-{name}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(root.join("proto")).unwrap();
        fs::create_dir_all(root.join("out")).unwrap();
        Scratch { root }
    }

    fn proto_dir(&self) -> PathBuf {
        self.root.join("proto")
    }

    fn out_dir(&self) -> PathBuf {
        self.root.join("out")
    }

    /// Writes `proto/<name>` and returns its path.
    fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.proto_dir().join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, contents).unwrap();
        path
    }

    /// Compiles the named protos with `builder`, into `out/`.
    fn compile(&self, builder: Builder, protos: &[&str]) -> io::Result<()> {
        let protos: Vec<PathBuf> = protos.iter().map(|p| self.proto_dir().join(p)).collect();
        builder
            .out_dir(self.out_dir())
            .emit_rerun_if_changed(false)
            .compile_protos(&protos, &[self.proto_dir()])
    }

    /// The generated file of a package.
    fn read(&self, package: &str) -> String {
        let path = self.out_dir().join(format!("{package}.rs"));
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.root);
    }
}

/// The code without whitespace and trailing commas, so assertions do not
/// depend on how the pretty-printer broke lines.
fn squash(code: &str) -> String {
    let compact: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    compact
        .replace(",)", ")")
        .replace(",>", ">")
        .replace(",}", "}")
        .replace(",]", "]")
}

#[track_caller]
fn assert_contains(code: &str, expected: &str) {
    assert!(
        squash(code).contains(&squash(expected)),
        "generated code does not contain\n{expected}\n--- generated ---\n{code}"
    );
}

#[track_caller]
fn assert_lacks(code: &str, unexpected: &str) {
    assert!(
        !squash(code).contains(&squash(unexpected)),
        "generated code contains\n{unexpected}\n--- generated ---\n{code}"
    );
}

const ECHO: &str = r#"
syntax = "proto3";

package grpcstack.echo;

// Echoes things back.
service Echo {
  // Replies once.
  rpc Unary(EchoRequest) returns (EchoReply);
  // Replies many times.
  rpc ServerStream(EchoRequest) returns (stream EchoReply);
  rpc ClientStream(stream EchoRequest) returns (EchoReply);
  rpc Bidi(stream EchoRequest) returns (stream EchoReply);
}

message EchoRequest { string message = 1; }
message EchoReply { string message = 1; }
"#;

fn compile_echo(builder: Builder) -> String {
    let scratch = Scratch::new("echo");
    scratch.write("echo.proto", ECHO);
    scratch.compile(builder, &["echo.proto"]).unwrap();
    scratch.read("grpcstack.echo")
}

#[test]
fn server_trait_has_one_snake_case_method_per_rpc() {
    let code = compile_echo(grpc_build::configure());
    assert_contains(&code, "pub mod echo_server {");
    assert_contains(
        &code,
        "pub trait Echo: ::core::marker::Send + ::core::marker::Sync + 'static {",
    );
    assert_contains(
        &code,
        "fn unary(&self, request: ::grpc_server::codegen::Request<super::EchoRequest>)
         -> impl ::grpc_server::codegen::Future<Output = ::core::result::Result<
                ::grpc_server::codegen::Response<super::EchoReply>,
                ::grpc_server::codegen::Status>> + ::core::marker::Send;",
    );
    assert_contains(
        &code,
        "fn client_stream(&self, request: ::grpc_server::codegen::Request<
             ::grpc_server::codegen::Streaming<super::EchoRequest>>)
         -> impl ::grpc_server::codegen::Future<Output = ::core::result::Result<
                ::grpc_server::codegen::Response<super::EchoReply>,
                ::grpc_server::codegen::Status>> + ::core::marker::Send;",
    );
}

#[test]
fn streaming_replies_get_an_associated_stream_type() {
    let code = compile_echo(grpc_build::configure());
    for (stream, method) in [
        ("ServerStreamStream", "server_stream"),
        ("BidiStream", "bidi"),
    ] {
        assert_contains(
            &code,
            &format!(
                "type {stream}: ::grpc_server::codegen::Stream<Item = ::core::result::Result<
                     super::EchoReply, ::grpc_server::codegen::Status>>
                 + ::core::marker::Send + 'static;"
            ),
        );
        assert_contains(
            &code,
            &format!("fn {method}(&self, request: ::grpc_server::codegen::Request<"),
        );
        assert_contains(
            &code,
            &format!("::grpc_server::codegen::Response<Self::{stream}>"),
        );
    }
    assert_lacks(&code, "UnaryStream");
    assert_lacks(&code, "ClientStreamStream");
}

#[test]
fn server_struct_registers_every_method_with_its_handler_kind() {
    let code = compile_echo(grpc_build::configure());
    assert_contains(
        &code,
        "pub struct EchoServer<T> { inner: ::grpc_server::codegen::Arc<T>, }",
    );
    assert_contains(&code, "pub fn new(inner: T) -> Self");
    assert_contains(
        &code,
        "pub fn from_arc(inner: ::grpc_server::codegen::Arc<T>) -> Self",
    );
    assert_contains(&code, "impl<T> ::core::clone::Clone for EchoServer<T>");
    assert_contains(&code, "impl<T> ::core::fmt::Debug for EchoServer<T>");
    assert_contains(
        &code,
        "impl<T: Echo> ::grpc_server::codegen::NamedService for EchoServer<T> {
             const NAME: &'static str = \"grpcstack.echo.Echo\";",
    );
    for (method, adapter, rust) in [
        ("Unary", "unary", "unary"),
        ("ServerStream", "server_streaming", "server_stream"),
        ("ClientStream", "client_streaming", "client_stream"),
        ("Bidi", "streaming", "bidi"),
    ] {
        assert_contains(
            &code,
            &format!(
                ".route(
                    ::grpc_server::codegen::GrpcMethod::new(\"grpcstack.echo.Echo\", \"{method}\"),
                    ::grpc_server::codegen::handler::{adapter}(
                        ::grpc_server::codegen::ProstCodec::<super::EchoReply, super::EchoRequest>::default(),"
            ),
        );
        assert_contains(
            &code,
            &format!("async move {{ <T as Echo>::{rust}(&inner, request).await }}"),
        );
    }
}

#[test]
fn client_methods_take_messages_or_streams_and_return_typed_responses() {
    let code = compile_echo(grpc_build::configure());
    assert_contains(&code, "pub mod echo_client {");
    assert_contains(
        &code,
        "#[derive(Debug, Clone)] pub struct EchoClient<S> {
             inner: ::grpc_client::codegen::Grpc<S>, }",
    );
    assert_contains(
        &code,
        "impl<S: ::grpc_client::codegen::GrpcService> EchoClient<S>",
    );
    assert_contains(
        &code,
        "pub fn max_receive_message_size(mut self, limit: usize) -> Self {
             self.inner = self.inner.max_receive_message_size(limit);",
    );
    assert_contains(
        &code,
        "pub fn max_send_message_size(mut self, limit: usize) -> Self {
             self.inner = self.inner.max_send_message_size(limit);",
    );
    assert_contains(
        &code,
        "pub async fn unary(&mut self,
             request: impl ::grpc_client::codegen::IntoRequest<super::EchoRequest>)
         -> ::core::result::Result<::grpc_client::codegen::Response<super::EchoReply>,
                                   ::grpc_client::codegen::Status>",
    );
    assert_contains(
        &code,
        "pub async fn server_stream(&mut self,
             request: impl ::grpc_client::codegen::IntoRequest<super::EchoRequest>)
         -> ::core::result::Result<::grpc_client::codegen::Response<
                ::grpc_client::codegen::Streaming<super::EchoReply>>,
                ::grpc_client::codegen::Status>",
    );
    assert_contains(
        &code,
        "pub async fn client_stream(&mut self,
             request: impl ::grpc_client::codegen::IntoStreamingRequest<Message = super::EchoRequest>)
         -> ::core::result::Result<::grpc_client::codegen::Response<super::EchoReply>,
                                   ::grpc_client::codegen::Status>",
    );
    assert_contains(
        &code,
        "pub async fn bidi(&mut self,
             request: impl ::grpc_client::codegen::IntoStreamingRequest<Message = super::EchoRequest>)
         -> ::core::result::Result<::grpc_client::codegen::Response<
                ::grpc_client::codegen::Streaming<super::EchoReply>>,
                ::grpc_client::codegen::Status>",
    );
    for (call, method, into) in [
        ("unary", "Unary", "IntoRequest::into_request"),
        (
            "server_streaming",
            "ServerStream",
            "IntoRequest::into_request",
        ),
        (
            "client_streaming",
            "ClientStream",
            "IntoStreamingRequest::into_streaming_request",
        ),
        (
            "streaming",
            "Bidi",
            "IntoStreamingRequest::into_streaming_request",
        ),
    ] {
        assert_contains(
            &code,
            &format!(
                "self.inner.{call}(
                    ::grpc_client::codegen::{into}(request),
                    ::grpc_client::codegen::GrpcMethod::new(\"grpcstack.echo.Echo\", \"{method}\"),
                    ::grpc_client::codegen::ProstCodec::<super::EchoRequest, super::EchoReply>::default(),
                ).await"
            ),
        );
    }
}

#[test]
fn proto_comments_become_doc_comments() {
    let code = compile_echo(grpc_build::configure());
    assert!(
        code.contains("/// Echoes things back.\n    pub trait Echo"),
        "{code}"
    );
    assert!(
        code.contains("/// Replies once.\n        fn unary("),
        "{code}"
    );
    assert!(
        code.contains("/// Replies many times.\n        pub async fn server_stream("),
        "{code}"
    );
}

#[test]
fn uncommented_items_get_a_generated_doc_comment() {
    let code = compile_echo(grpc_build::configure());
    assert!(
        code.contains(
            "/// Handles `/grpcstack.echo.Echo/ClientStream`.\n        fn client_stream("
        ),
        "{code}"
    );
    assert!(
        code.contains("/// Calls `/grpcstack.echo.Echo/Bidi`.\n        pub async fn bidi("),
        "{code}"
    );
    assert!(
        code.contains("/// The stream of replies that `bidi` answers with."),
        "{code}"
    );
}

#[test]
fn client_only_builds_have_no_server_module() {
    let code = compile_echo(grpc_build::configure().build_server(false));
    assert_contains(&code, "pub mod echo_client");
    assert_lacks(&code, "echo_server");
    assert_lacks(&code, "grpc_server");
}

#[test]
fn server_only_builds_have_no_client_module() {
    let code = compile_echo(grpc_build::configure().build_client(false));
    assert_contains(&code, "pub mod echo_server");
    assert_lacks(&code, "echo_client");
    assert_lacks(&code, "grpc_client");
}

#[test]
fn disabling_both_sides_leaves_only_the_messages() {
    let code = compile_echo(
        grpc_build::configure()
            .build_server(false)
            .build_client(false),
    );
    assert_contains(&code, "pub struct EchoRequest");
    assert_lacks(&code, "pub mod");
}

#[test]
fn rust_keywords_in_method_names_are_escaped() {
    let scratch = Scratch::new("keywords");
    scratch.write(
        "kw.proto",
        r#"
        syntax = "proto3";
        package kw;
        service Lookup {
          rpc Type(Empty) returns (Empty);
          rpc Async(Empty) returns (stream Empty);
          rpc Self(Empty) returns (Empty);
          rpc New(Empty) returns (Empty);
          rpc MaxReceiveMessageSize(Empty) returns (Empty);
        }
        message Empty {}
        "#,
    );
    scratch
        .compile(grpc_build::configure(), &["kw.proto"])
        .unwrap();
    let code = scratch.read("kw");
    assert_contains(&code, "fn r#type(&self,");
    assert_contains(&code, "pub async fn r#type(&mut self,");
    assert_contains(&code, "type AsyncStream:");
    assert_contains(&code, "fn r#async(&self,");
    assert_contains(&code, "fn self_(&self,");
    assert_contains(&code, "<T as Lookup>::r#type(&inner, request)");
    assert_contains(&code, "GrpcMethod::new(\"kw.Lookup\", \"Type\")");
    // Names of the client's own methods move aside on the client only.
    assert_contains(&code, "pub async fn new_(&mut self,");
    assert_contains(&code, "pub async fn max_receive_message_size_(&mut self,");
    assert_contains(&code, "fn max_receive_message_size(&self,");
    assert_contains(
        &code,
        "#[allow(clippy::wrong_self_convention)] fn new(&self,",
    );
    assert_lacks(&code, "#[allow(clippy::wrong_self_convention)] fn r#type(");
}

#[test]
fn messages_of_other_packages_are_reached_through_super() {
    let scratch = Scratch::new("packages");
    scratch.write(
        "common/ids.proto",
        r#"
        syntax = "proto3";
        package acme.common;
        message Id { string value = 1; }
        "#,
    );
    scratch.write(
        "store.proto",
        r#"
        syntax = "proto3";
        package acme.store;
        import "common/ids.proto";
        import "google/protobuf/empty.proto";
        import "google/protobuf/timestamp.proto";
        service Store {
          rpc Get(acme.common.Id) returns (Item);
          rpc Touch(acme.common.Id) returns (google.protobuf.Timestamp);
          rpc Ping(google.protobuf.Empty) returns (google.protobuf.Empty);
        }
        message Item { acme.common.Id id = 1; }
        "#,
    );
    scratch
        .compile(grpc_build::configure(), &["store.proto"])
        .unwrap();
    let code = scratch.read("acme.store");
    assert_contains(
        &code,
        "fn get(&self, request: ::grpc_server::codegen::Request<super::super::common::Id>)",
    );
    assert_contains(&code, "::grpc_server::codegen::Response<super::Item>");
    assert_contains(
        &code,
        "::grpc_server::codegen::Response<::prost_types::Timestamp>",
    );
    assert_contains(
        &code,
        "fn ping(&self, request: ::grpc_server::codegen::Request<()>)",
    );
    assert_contains(
        &code,
        "ProstCodec::<super::super::common::Id, super::Item>::default()",
    );
}

#[test]
fn a_service_with_no_methods_still_gets_a_server_and_a_client() {
    let scratch = Scratch::new("empty");
    scratch.write(
        "empty.proto",
        r#"
        syntax = "proto3";
        package nothing;
        service Idle {}
        "#,
    );
    scratch
        .compile(grpc_build::configure(), &["empty.proto"])
        .unwrap();
    let code = scratch.read("nothing");
    assert_contains(
        &code,
        "pub trait Idle: ::core::marker::Send + ::core::marker::Sync + 'static {}",
    );
    assert_contains(
        &code,
        "fn register(self, router: ::grpc_server::codegen::Router)
             -> ::grpc_server::codegen::Router { router }",
    );
    assert_contains(&code, "pub struct IdleClient<S>");
}

#[test]
fn a_file_without_a_package_uses_the_bare_service_name() {
    let scratch = Scratch::new("nopackage");
    scratch.write(
        "bare.proto",
        r#"
        syntax = "proto3";
        service Bare { rpc Poke(Nudge) returns (Nudge); }
        message Nudge {}
        "#,
    );
    scratch
        .compile(grpc_build::configure(), &["bare.proto"])
        .unwrap();
    // prost-build names the file of the empty package `_.rs`.
    let code = scratch.read("_");
    assert_contains(&code, "const NAME: &'static str = \"Bare\";");
    assert_contains(&code, "GrpcMethod::new(\"Bare\", \"Poke\")");
}

#[test]
fn deprecated_options_become_deprecated_attributes() {
    let scratch = Scratch::new("deprecated");
    scratch.write(
        "old.proto",
        r#"
        syntax = "proto3";
        package old;
        service Legacy {
          option deprecated = true;
          rpc Fetch(Req) returns (Req) { option deprecated = true; }
          rpc Keep(Req) returns (Req);
        }
        message Req {}
        "#,
    );
    scratch
        .compile(grpc_build::configure(), &["old.proto"])
        .unwrap();
    let code = scratch.read("old");
    assert_contains(&code, "#[deprecated] pub trait Legacy");
    assert_contains(&code, "#[deprecated] pub struct LegacyServer<T>");
    assert_contains(
        &code,
        "#[deprecated] #[derive(Debug, Clone)] pub struct LegacyClient<S>",
    );
    assert_contains(&code, "#[deprecated] fn fetch(&self,");
    assert_contains(&code, "#[deprecated] pub async fn fetch(&mut self,");
    assert_lacks(&code, "#[deprecated] fn keep(");
    assert_contains(&code, "#[allow(deprecated)] pub mod legacy_server");
    assert_contains(&code, "#[allow(deprecated)] pub mod legacy_client");
}

#[test]
fn comments_that_rustdoc_would_misread_are_escaped() {
    let scratch = Scratch::new("comments");
    scratch.write(
        "doc.proto",
        r#"
        syntax = "proto3";
        package doc;
        service Notes {
          // Takes a list [a, b], see https://example.com/notes.
          //
          //     let x = 1;
          rpc Write(Note) returns (Note);
        }
        message Note {}
        "#,
    );
    scratch
        .compile(grpc_build::configure(), &["doc.proto"])
        .unwrap();
    let code = scratch.read("doc");
    assert!(
        code.contains(
            "/// Takes a list \\[a, b\\], see <https://example.com/notes>.\n        ///\n        /// ```text\n        /// let x = 1;\n        /// ```\n        fn write("
        ),
        "{code}"
    );
}

#[test]
fn the_include_file_and_descriptor_set_are_written_when_asked() {
    let scratch = Scratch::new("extras");
    scratch.write("echo.proto", ECHO);
    let fds = scratch.root.join("echo.bin");
    scratch
        .compile(
            grpc_build::configure()
                .include_file("all.rs")
                .file_descriptor_set_path(&fds),
            &["echo.proto"],
        )
        .unwrap();
    let include = fs::read_to_string(scratch.out_dir().join("all.rs")).unwrap();
    assert!(include.contains("grpcstack.echo.rs"), "{include}");
    let bytes = fs::read(&fds).unwrap();
    assert!(!bytes.is_empty());
    // The set names the file, and keeps source info for reflection.
    assert!(contains_bytes(&bytes, b"echo.proto"));
    assert!(contains_bytes(&bytes, b"Echoes things back."));
}

fn contains_bytes(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn a_custom_prost_config_is_used_for_the_messages() {
    let scratch = Scratch::new("config");
    scratch.write("echo.proto", ECHO);
    let mut config = grpc_build::prost_build::Config::new();
    config.type_attribute(".grpcstack.echo.EchoRequest", "#[non_exhaustive]");
    grpc_build::configure()
        .out_dir(scratch.out_dir())
        .emit_rerun_if_changed(false)
        .compile_protos_with_config(
            config,
            &[scratch.proto_dir().join("echo.proto")],
            &[scratch.proto_dir()],
        )
        .unwrap();
    let code = scratch.read("grpcstack.echo");
    assert_contains(&code, "#[non_exhaustive] #[derive(Clone, PartialEq, Eq, Hash, ::prost::Message)] pub struct EchoRequest");
    assert_contains(&code, "pub mod echo_server");
}

#[test]
fn a_syntax_error_is_reported_with_file_line_and_column() {
    let scratch = Scratch::new("broken");
    scratch.write(
        "broken.proto",
        "syntax = \"proto3\";\npackage broken;\nmessage Oops { string name = 1 }\n",
    );
    let err = scratch
        .compile(grpc_build::configure(), &["broken.proto"])
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    let message = err.to_string();
    assert!(message.starts_with("broken.proto:3:"), "{message}");
    assert!(message.contains("expected"), "{message}");
}

#[test]
fn an_unknown_message_type_is_reported_not_panicked_on() {
    let scratch = Scratch::new("unknown");
    scratch.write(
        "svc.proto",
        r#"
        syntax = "proto3";
        package svc;
        service S { rpc M(Missing) returns (Missing); }
        "#,
    );
    let err = scratch
        .compile(grpc_build::configure(), &["svc.proto"])
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("Missing"), "{err}");
}

#[test]
fn a_missing_file_is_reported() {
    let scratch = Scratch::new("missing");
    let err = scratch
        .compile(grpc_build::configure(), &["nowhere.proto"])
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("nowhere.proto"), "{err}");
}

#[test]
fn compiling_with_no_output_directory_names_out_dir_in_the_error() {
    // Outside a build script there is no OUT_DIR, and no out_dir was set.
    if std::env::var_os("OUT_DIR").is_some() {
        return;
    }
    let scratch = Scratch::new("no-out-dir");
    scratch.write("echo.proto", ECHO);
    let err = grpc_build::configure()
        .emit_rerun_if_changed(false)
        .compile_protos(
            &[scratch.proto_dir().join("echo.proto")],
            &[scratch.proto_dir()],
        )
        .unwrap_err();
    assert!(err.to_string().contains("OUT_DIR"), "{err}");
}

#[test]
fn the_service_generator_can_drive_a_prost_config_directly() {
    let scratch = Scratch::new("direct");
    let proto = scratch.write("echo.proto", ECHO);
    let fds = protox::compile([&proto], [scratch.proto_dir()]).unwrap();
    let mut config = grpc_build::prost_build::Config::new();
    config.out_dir(scratch.out_dir()).service_generator(
        grpc_build::configure()
            .build_server(false)
            .service_generator(),
    );
    config.compile_fds(fds).unwrap();
    let code = scratch.read("grpcstack.echo");
    assert_contains(&code, "pub mod echo_client");
    assert_lacks(&code, "pub mod echo_server");
}
