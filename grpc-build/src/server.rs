//! The `<service>_server` module: the trait to implement and the struct that
//! registers it with a `grpc_server::Router`.

use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

use crate::generator::{MethodModel, ServiceModel};

/// The whole `<service>_server` module.
pub(crate) fn generate(service: &ServiceModel) -> TokenStream {
    let module = Ident::new(&format!("{}_server", service.snake_name), Span::call_site());
    let trait_name = Ident::new(&service.camel_name, Span::call_site());
    let server_name = Ident::new(&format!("{}Server", service.camel_name), Span::call_site());
    let full_name = &service.full_name;

    let module_doc = format!(
        " Server side of the `{full_name}` service: implement `{trait_name}`, then register \
         `{server_name}` with a `grpc_server::Router`."
    );
    let trait_docs = &service.docs;
    let server_doc = format!(
        " Serves the `{full_name}` service with an implementation of `{trait_name}`; \
         register it with `Router::add_service`."
    );
    let deprecated = service.deprecated_attribute();
    let allow_deprecated = service.allow_deprecated_attribute();
    let trait_items = service
        .methods
        .iter()
        .map(|method| trait_item(service, method));
    let routes = service
        .methods
        .iter()
        .map(|method| route(service, method, &trait_name));
    let server_debug_name = server_name.to_string();

    quote! {
        #[doc = #module_doc]
        #allow_deprecated
        pub mod #module {
            #trait_docs
            #deprecated
            pub trait #trait_name: ::core::marker::Send + ::core::marker::Sync + 'static {
                #(#trait_items)*
            }

            #[doc = #server_doc]
            #deprecated
            pub struct #server_name<T> {
                inner: ::grpc_server::codegen::Arc<T>,
            }

            impl<T: #trait_name> #server_name<T> {
                /// Serves `inner`.
                pub fn new(inner: T) -> Self {
                    Self::from_arc(::grpc_server::codegen::Arc::new(inner))
                }

                /// Serves an implementation that is already shared.
                pub fn from_arc(inner: ::grpc_server::codegen::Arc<T>) -> Self {
                    Self { inner }
                }
            }

            impl<T> ::core::clone::Clone for #server_name<T> {
                fn clone(&self) -> Self {
                    Self {
                        inner: ::grpc_server::codegen::Arc::clone(&self.inner),
                    }
                }
            }

            impl<T> ::core::fmt::Debug for #server_name<T> {
                fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                    f.debug_struct(#server_debug_name).finish_non_exhaustive()
                }
            }

            impl<T: #trait_name> ::grpc_server::codegen::NamedService for #server_name<T> {
                const NAME: &'static str = #full_name;
            }

            impl<T: #trait_name> ::grpc_server::codegen::RegisterService for #server_name<T> {
                fn register(
                    self,
                    router: ::grpc_server::codegen::Router,
                ) -> ::grpc_server::codegen::Router {
                    router #(#routes)*
                }
            }
        }
    }
}

/// The associated stream type name of a server-streaming method.
fn stream_type(method: &MethodModel) -> Ident {
    Ident::new(&format!("{}Stream", method.camel_name), Span::call_site())
}

/// The trait method (and stream type, for server-streaming methods).
fn trait_item(service: &ServiceModel, method: &MethodModel) -> TokenStream {
    let name = &method.ident;
    let input = &method.input;
    let output = &method.output;
    let docs = method.docs(&format!(
        "Handles `/{}/{}`.",
        service.full_name, method.proto_name
    ));
    let deprecated = method.deprecated_attribute();
    let allow_convention = method.self_convention_allowance(name);

    let request = if method.client_streaming {
        quote! {
            ::grpc_server::codegen::Request<::grpc_server::codegen::Streaming<#input>>
        }
    } else {
        quote! { ::grpc_server::codegen::Request<#input> }
    };

    let (stream_item, reply) = if method.server_streaming {
        let stream = stream_type(method);
        let stream_doc = format!(" The stream of replies that `{name}` answers with.");
        let item = quote! {
            #[doc = #stream_doc]
            type #stream: ::grpc_server::codegen::Stream<
                    Item = ::core::result::Result<#output, ::grpc_server::codegen::Status>,
                > + ::core::marker::Send
                + 'static;
        };
        (item, quote! { Self::#stream })
    } else {
        (TokenStream::new(), quote! { #output })
    };

    quote! {
        #stream_item

        #docs
        #deprecated
        #allow_convention
        fn #name(
            &self,
            request: #request,
        ) -> impl ::grpc_server::codegen::Future<
            Output = ::core::result::Result<
                ::grpc_server::codegen::Response<#reply>,
                ::grpc_server::codegen::Status,
            >,
        > + ::core::marker::Send;
    }
}

/// One `.route(..)` call of `register`.
fn route(service: &ServiceModel, method: &MethodModel, trait_name: &Ident) -> TokenStream {
    let full_name = &service.full_name;
    let proto_name = &method.proto_name;
    let name = &method.ident;
    let input = &method.input;
    let output = &method.output;
    let adapter = match (method.client_streaming, method.server_streaming) {
        (false, false) => quote! { unary },
        (false, true) => quote! { server_streaming },
        (true, false) => quote! { client_streaming },
        (true, true) => quote! { streaming },
    };

    quote! {
        .route(
            ::grpc_server::codegen::GrpcMethod::new(#full_name, #proto_name),
            ::grpc_server::codegen::handler::#adapter(
                ::grpc_server::codegen::ProstCodec::<#output, #input>::default(),
                {
                    let inner = ::grpc_server::codegen::Arc::clone(&self.inner);
                    move |request| {
                        let inner = ::grpc_server::codegen::Arc::clone(&inner);
                        async move { <T as #trait_name>::#name(&inner, request).await }
                    }
                },
            ),
        )
    }
}
