//! The `<service>_client` module: a typed client struct over any
//! `grpc_client::GrpcService`.

use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

use crate::generator::{MethodModel, ServiceModel};

/// The whole `<service>_client` module.
pub(crate) fn generate(service: &ServiceModel) -> TokenStream {
    let module = Ident::new(&format!("{}_client", service.snake_name), Span::call_site());
    let client_name = Ident::new(&format!("{}Client", service.camel_name), Span::call_site());
    let full_name = &service.full_name;

    let module_doc = format!(
        " Client side of the `{full_name}` service: `{client_name}` calls it over any \
         `grpc_client::GrpcService`, such as a `Channel`."
    );
    let client_docs = &service.docs;
    let deprecated = service.deprecated_attribute();
    let allow_deprecated = service.allow_deprecated_attribute();
    let methods = service.methods.iter().map(|method| call(service, method));

    quote! {
        #[doc = #module_doc]
        #allow_deprecated
        pub mod #module {
            #client_docs
            #deprecated
            #[derive(Debug, Clone)]
            pub struct #client_name<S> {
                inner: ::grpc_client::codegen::Grpc<S>,
            }

            impl<S: ::grpc_client::codegen::GrpcService> #client_name<S> {
                /// A client that sends its calls through `inner`.
                pub fn new(inner: S) -> Self {
                    Self {
                        inner: ::grpc_client::codegen::Grpc::new(inner),
                    }
                }

                /// Sets the largest reply message accepted from the server
                /// (default 4 MiB; a narrower limit of the call or of a
                /// layer wins); a larger one fails the call with
                /// `RESOURCE_EXHAUSTED`.
                pub fn max_receive_message_size(mut self, limit: usize) -> Self {
                    self.inner = self.inner.max_receive_message_size(limit);
                    self
                }

                /// Sets the largest request message sent to the server
                /// (default `i32::MAX`; a narrower limit of the call or of a
                /// layer wins).
                pub fn max_send_message_size(mut self, limit: usize) -> Self {
                    self.inner = self.inner.max_send_message_size(limit);
                    self
                }

                #(#methods)*
            }
        }
    }
}

/// One client method.
fn call(service: &ServiceModel, method: &MethodModel) -> TokenStream {
    let full_name = &service.full_name;
    let proto_name = &method.proto_name;
    let name = client_method_ident(method);
    let input = &method.input;
    let output = &method.output;
    let docs = method.docs(&format!("Calls `/{full_name}/{proto_name}`."));
    let deprecated = method.deprecated_attribute();
    let allow_convention = method.self_convention_allowance(&name);

    let (request, into_request) = if method.client_streaming {
        (
            quote! {
                impl ::grpc_client::codegen::IntoStreamingRequest<Message = #input>
            },
            quote! {
                ::grpc_client::codegen::IntoStreamingRequest::into_streaming_request(request)
            },
        )
    } else {
        (
            quote! { impl ::grpc_client::codegen::IntoRequest<#input> },
            quote! { ::grpc_client::codegen::IntoRequest::into_request(request) },
        )
    };
    let (reply, call) = match (method.client_streaming, method.server_streaming) {
        (false, false) => (quote! { #output }, quote! { unary }),
        (false, true) => (
            quote! { ::grpc_client::codegen::Streaming<#output> },
            quote! { server_streaming },
        ),
        (true, false) => (quote! { #output }, quote! { client_streaming }),
        (true, true) => (
            quote! { ::grpc_client::codegen::Streaming<#output> },
            quote! { streaming },
        ),
    };

    quote! {
        #docs
        #deprecated
        #allow_convention
        pub async fn #name(
            &mut self,
            request: #request,
        ) -> ::core::result::Result<
            ::grpc_client::codegen::Response<#reply>,
            ::grpc_client::codegen::Status,
        > {
            self.inner
                .#call(
                    #into_request,
                    ::grpc_client::codegen::GrpcMethod::new(#full_name, #proto_name),
                    ::grpc_client::codegen::ProstCodec::<#input, #output>::default(),
                )
                .await
        }
    }
}

/// Methods of the generated client that are not RPCs.
const OWN_METHODS: &[&str] = &["new", "max_receive_message_size", "max_send_message_size"];

/// The client method name: the snake_case method name, with a trailing `_`
/// when it would collide with one of the client's own methods.
fn client_method_ident(method: &MethodModel) -> Ident {
    if OWN_METHODS.iter().any(|own| method.ident == own) {
        Ident::new(&format!("{}_", method.ident), Span::call_site())
    } else {
        method.ident.clone()
    }
}
