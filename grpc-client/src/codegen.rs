//! What generated clients need, re-exported so that generated code only
//! names `::grpc_client::codegen::…`.

pub use grpc_core::codec::ProstCodec;
pub use grpc_core::{
    GrpcBody, GrpcMethod, IntoRequest, IntoStreamingRequest, Request, Response, Status, Streaming,
};

pub use crate::call::Grpc;
pub use crate::service::GrpcService;
