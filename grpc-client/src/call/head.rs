//! The two heads of a call: the HTTP request a call sends, and how the HTTP
//! response it gets back is read. Shared by the typed calls of
//! [`Grpc`](crate::Grpc) and the low-level [`Call`](crate::Call), and the
//! one place of this crate that builds a gRPC request head (`POST`, the
//! path, `content-type`, `te`, the metadata) and that turns what a service
//! stack answers (its readiness error, its error, its response body's
//! errors) into [`Status`] values, through
//! [`status_from_error`].
//!
//! Reading a response head, in order:
//!
//! 1. `grpc-status` in the headers: a trailers-only response. A non-OK
//!    status is the call's error (its metadata comes from the headers); an
//!    OK one means a response with no messages, whose trailing metadata is
//!    the headers.
//! 2. An HTTP status other than 200 without `grpc-status` is not a gRPC
//!    response (a proxy's 503, a load balancer's 404): its code comes from
//!    [`code_from_http_status`] and the message names the HTTP status.
//! 3. A 200 whose `content-type` is missing or not `application/grpc…` is
//!    [`Code::Unknown`](grpc_core::Code::Unknown).
//! 4. Otherwise the headers are the initial metadata and the body carries
//!    the messages, then trailers with the status.

use std::future::poll_fn;

use bytes::{BufMut, Bytes, BytesMut};
use grpc_core::headers::{APPLICATION_GRPC, TE, TE_TRAILERS};
use grpc_core::limits::MessageLimits;
use grpc_core::metadata::MetadataMap;
use grpc_core::status::outcome::{classify_head, status_of_head, HeadOutcome};
use grpc_core::{BoxError, GrpcBody, GrpcMethod, Status};
use http::header::CONTENT_TYPE;
use http::uri::PathAndQuery;
use http::{Extensions, Method, Uri};
use http_body::Body;
use http_body_util::BodyExt;

use crate::service::GrpcService;
use crate::status::status_from_error;

/// The HTTP request of a call: `POST /{service}/{method}`, the metadata as
/// headers, `content-type` and `te`, and the method as an extension.
pub(crate) fn build_request(
    metadata: MetadataMap,
    mut extensions: Extensions,
    method: GrpcMethod,
    body: GrpcBody,
) -> Result<http::Request<GrpcBody>, Status> {
    // Built by hand, not through `Display` (benches/RESULTS.md has the cost).
    let (service, name) = (method.service(), method.method());
    let mut path = BytesMut::with_capacity(2 + service.len() + name.len());
    path.put_u8(b'/');
    path.extend_from_slice(service.as_bytes());
    path.put_u8(b'/');
    path.extend_from_slice(name.as_bytes());
    let path = PathAndQuery::from_maybe_shared(path.freeze())
        .map_err(|e| Status::internal(format!("invalid method path {method}: {e}")))?;
    extensions.insert(method);
    let mut request = http::Request::new(body);
    *request.method_mut() = Method::POST;
    *request.uri_mut() = Uri::from(path);
    *request.headers_mut() = metadata.into_headers();
    let headers = request.headers_mut();
    headers.insert(CONTENT_TYPE, APPLICATION_GRPC);
    headers.insert(TE, TE_TRAILERS);
    *request.extensions_mut() = extensions;
    Ok(request)
}

/// Waits until `service` is ready; a failure is the call's status.
pub(crate) async fn ready<S: GrpcService>(service: &mut S) -> Result<(), Status> {
    poll_fn(|cx| service.poll_ready(cx))
        .await
        .map_err(|e| status_from_error(e.into()))
}

/// Reads what a service answered: its error as a status, or its response
/// head as gRPC ([`read_head`]).
pub(crate) fn read_response<B, E>(answer: Result<http::Response<B>, E>) -> Result<Head, Status>
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
    E: Into<BoxError>,
{
    answer
        .map_err(|e| status_from_error(e.into()))
        .and_then(read_head)
}

/// A response head read as gRPC: initial metadata, extensions, and a body
/// of messages then trailers.
#[derive(Debug)]
pub(crate) struct Head {
    pub(crate) metadata: MetadataMap,
    pub(crate) extensions: Extensions,
    pub(crate) body: GrpcBody,
}

impl Head {
    /// The receive limit of the call's response: the call's limits, as
    /// sent, narrowed with what a limits layer in the stack handed back in
    /// the response extensions (one that raised the limit above the
    /// default; see `grpc-layers`' limits module).
    pub(crate) fn receive_limit(&self, sent: MessageLimits) -> usize {
        MessageLimits::of(&self.extensions)
            .narrow(sent)
            .max_receive()
    }
}

/// Reads a response head; see ["How a response is read"](crate::call#how-a-response-is-read).
pub(crate) fn read_head<B>(response: http::Response<B>) -> Result<Head, Status>
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let (parts, body) = response.into_parts();
    match classify_head(parts.status, &parts.headers) {
        HeadOutcome::Streaming => {}
        // Trailers-only OK: no messages; the headers are the trailers.
        HeadOutcome::Ended(grpc_core::Code::Ok) => {
            return Ok(Head {
                metadata: MetadataMap::new(),
                extensions: parts.extensions,
                body: GrpcBody::trailers(parts.headers),
            })
        }
        _ => {
            return Err(status_of_head(parts.status, &parts.headers)
                .expect("a head that ended the call has a status"))
        }
    }
    Ok(Head {
        metadata: MetadataMap::from_headers(parts.headers),
        extensions: parts.extensions,
        body: into_grpc_body(body),
    })
}

/// Erases a response body; a [`GrpcBody`] (what a `Channel` returns) is
/// taken as it is, any other body gets its errors mapped through
/// [`status_from_error`] first.
fn into_grpc_body<B>(body: B) -> GrpcBody
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    match GrpcBody::downcast(body) {
        Ok(grpc) => grpc,
        Err(body) => GrpcBody::new(body.map_err(|e| status_from_error(e.into()))),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use grpc_core::codec::BytesCodec;
    use grpc_core::test_util::ScriptedBody;
    use grpc_core::{Code, Streaming};
    use http::{HeaderValue, StatusCode};

    pub(crate) fn response(
        status: u16,
        headers: &[(&'static str, &'static str)],
        body: ScriptedBody,
    ) -> http::Response<ScriptedBody> {
        let mut r = http::Response::new(body);
        *r.status_mut() = StatusCode::from_u16(status).unwrap();
        for (k, v) in headers {
            r.headers_mut().append(*k, HeaderValue::from_static(v));
        }
        r
    }

    #[test]
    fn the_request_head_is_a_grpc_post_to_the_method_path() {
        let mut md = MetadataMap::new();
        md.insert("x-a", "1").unwrap();
        let method = GrpcMethod::new("pkg.Svc", "Do");
        let req = build_request(md, Extensions::new(), method, GrpcBody::empty()).unwrap();
        assert_eq!(req.method(), Method::POST);
        assert_eq!(req.uri(), "/pkg.Svc/Do");
        assert_eq!(req.headers()["content-type"], "application/grpc");
        assert_eq!(req.headers()["te"], "trailers");
        assert_eq!(req.headers()["x-a"], "1");
        assert_eq!(req.extensions().get::<GrpcMethod>(), Some(&method));
    }

    #[test]
    fn a_trailers_only_error_is_the_status_with_its_metadata() {
        let r = response(
            200,
            &[
                ("content-type", "application/grpc"),
                ("grpc-status", "5"),
                ("grpc-message", "gone"),
                ("x-why", "deleted"),
            ],
            ScriptedBody::default(),
        );
        let status = read_head(r).unwrap_err();
        assert_eq!(status.code(), Code::NotFound);
        assert_eq!(status.message(), "gone");
        assert_eq!(status.metadata().get("x-why"), Some("deleted"));
    }

    #[test]
    fn grpc_status_wins_over_the_http_status() {
        let r = response(503, &[("grpc-status", "8")], ScriptedBody::default());
        assert_eq!(read_head(r).unwrap_err().code(), Code::ResourceExhausted);
    }

    #[test]
    fn non_grpc_http_errors_map_by_http_status_and_name_it() {
        for (http, code) in [
            (503, Code::Unavailable),
            (404, Code::Unimplemented),
            (401, Code::Unauthenticated),
            (500, Code::Unknown),
        ] {
            let status = read_head(response(
                http,
                &[("content-type", "text/html")],
                ScriptedBody::default(),
            ))
            .unwrap_err();
            assert_eq!(status.code(), code, "{http}");
            assert!(
                status.message().contains(&http.to_string()),
                "{}",
                status.message()
            );
        }
    }

    #[test]
    fn a_200_without_a_grpc_content_type_is_unknown() {
        let status = read_head(response(200, &[], ScriptedBody::default())).unwrap_err();
        assert_eq!(status.code(), Code::Unknown);
        let status = read_head(response(
            200,
            &[("content-type", "application/json")],
            ScriptedBody::default(),
        ))
        .unwrap_err();
        assert_eq!(status.code(), Code::Unknown);
    }

    #[tokio::test]
    async fn a_trailers_only_ok_reads_as_an_empty_stream_with_trailing_metadata() {
        let r = response(
            200,
            &[
                ("content-type", "application/grpc"),
                ("grpc-status", "0"),
                ("x-t", "1"),
            ],
            ScriptedBody::default(),
        );
        let head = read_head(r).unwrap();
        assert!(head.metadata.is_empty());
        let mut stream = Streaming::new_response(head.body, BytesCodec, 100);
        assert!(stream.message().await.unwrap().is_none());
        assert_eq!(stream.trailers().unwrap().get("x-t"), Some("1"));
    }

    #[test]
    fn a_grpc_body_is_not_boxed_again_and_other_bodies_map_errors() {
        use futures_util::FutureExt;
        let body = into_grpc_body(GrpcBody::once(Bytes::from_static(b"x"), None));
        assert_eq!(format!("{body:?}"), "GrpcBody { kind: \"once\" }");
        let broken = ScriptedBody::default().with_error(Status::data_loss("gone"));
        let mut body = into_grpc_body(broken);
        let err = body.frame().now_or_never().unwrap().unwrap().unwrap_err();
        assert_eq!(err.code(), Code::DataLoss);
    }
}
