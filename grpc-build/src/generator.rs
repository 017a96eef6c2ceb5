//! The [`prost_build::ServiceGenerator`] that writes the server and client
//! modules of each service.

use proc_macro2::TokenStream;
use prost_build::{Method, Service};
use quote::quote;

use crate::{client, naming, server};

/// Generates `<service>_server` and/or `<service>_client` for every service
/// prost-build hands it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Generator {
    pub(crate) build_server: bool,
    pub(crate) build_client: bool,
}

impl prost_build::ServiceGenerator for Generator {
    fn generate(&mut self, service: Service, buf: &mut String) {
        let service = ServiceModel::new(&service);
        let mut tokens = TokenStream::new();
        if self.build_server {
            tokens.extend(server::generate(&service));
        }
        if self.build_client {
            tokens.extend(client::generate(&service));
        }
        if !tokens.is_empty() {
            buf.push_str(&tokens.to_string());
            buf.push('\n');
        }
    }
}

/// What both sides need to know about a service, with names already turned
/// into Rust.
pub(crate) struct ServiceModel {
    /// `package.Service`, as used in the request path.
    pub(crate) full_name: String,
    /// `snake_case` service name, the stem of the module names.
    pub(crate) snake_name: String,
    /// `UpperCamelCase` service name, the trait name.
    pub(crate) camel_name: String,
    /// The service's doc attributes.
    pub(crate) docs: TokenStream,
    /// Whether the service is marked `deprecated` in the `.proto` file.
    pub(crate) deprecated: bool,
    pub(crate) methods: Vec<MethodModel>,
}

/// One RPC of a service.
pub(crate) struct MethodModel {
    /// The method name as written in the `.proto` file (`ServerStream`).
    pub(crate) proto_name: String,
    /// The Rust method name, escaped if it is a keyword (`server_stream`).
    pub(crate) ident: proc_macro2::Ident,
    /// `UpperCamelCase` name, the stem of the stream associated type.
    pub(crate) camel_name: String,
    /// Path of the request message, as seen from a module nested in the
    /// package module.
    pub(crate) input: TokenStream,
    /// Path of the response message, from the same place.
    pub(crate) output: TokenStream,
    /// The method's proto comments as doc lines (empty if uncommented).
    pub(crate) doc_lines: Vec<String>,
    pub(crate) deprecated: bool,
    pub(crate) client_streaming: bool,
    pub(crate) server_streaming: bool,
}

impl ServiceModel {
    fn new(service: &Service) -> Self {
        let full_name = naming::qualified_service_name(&service.package, &service.proto_name);
        let camel_name = naming::upper_camel(&service.proto_name);
        let docs =
            crate::docs::attributes(&service.comments, &format!("The `{full_name}` service."));
        ServiceModel {
            snake_name: naming::snake(&service.proto_name),
            camel_name,
            docs,
            deprecated: service.options.deprecated == Some(true),
            methods: service.methods.iter().map(MethodModel::new).collect(),
            full_name,
        }
    }

    /// `#[deprecated]` if the service is deprecated.
    pub(crate) fn deprecated_attribute(&self) -> TokenStream {
        deprecated_attribute(self.deprecated)
    }

    /// `#[allow(deprecated)]` for a generated module that uses the service
    /// or one of its methods while they are deprecated.
    pub(crate) fn allow_deprecated_attribute(&self) -> TokenStream {
        if self.deprecated || self.methods.iter().any(|m| m.deprecated) {
            quote! { #[allow(deprecated)] }
        } else {
            TokenStream::new()
        }
    }
}

impl MethodModel {
    fn new(method: &Method) -> Self {
        MethodModel {
            proto_name: method.proto_name.clone(),
            ident: naming::ident(&naming::snake(&method.proto_name)),
            camel_name: naming::upper_camel(&method.proto_name),
            input: nested_type_path(&method.input_type),
            output: nested_type_path(&method.output_type),
            doc_lines: crate::docs::lines(&method.comments),
            deprecated: method.options.deprecated == Some(true),
            client_streaming: method.client_streaming,
            server_streaming: method.server_streaming,
        }
    }

    /// The method's doc attributes: its comments, or `fallback`.
    pub(crate) fn docs(&self, fallback: &str) -> TokenStream {
        if self.doc_lines.is_empty() {
            let line = format!(" {fallback}");
            quote! { #[doc = #line] }
        } else {
            let lines = &self.doc_lines;
            quote! { #(#[doc = #lines])* }
        }
    }

    /// `#[deprecated]` if the method is deprecated.
    pub(crate) fn deprecated_attribute(&self) -> TokenStream {
        deprecated_attribute(self.deprecated)
    }

    /// Allows clippy's `wrong_self_convention` for RPC names such as `New`,
    /// `ToJson` or `IntoPast`: the name comes from the `.proto` file, and
    /// every generated method takes `&self` or `&mut self`.
    pub(crate) fn self_convention_allowance(&self, name: &proc_macro2::Ident) -> TokenStream {
        let name = name.to_string();
        let name = name.trim_start_matches("r#");
        let conventional = name == "new"
            || ["as_", "from_", "into_", "is_", "to_"]
                .iter()
                .any(|prefix| name.starts_with(prefix));
        if conventional {
            quote! { #[allow(clippy::wrong_self_convention)] }
        } else {
            TokenStream::new()
        }
    }
}

fn deprecated_attribute(deprecated: bool) -> TokenStream {
    if deprecated {
        quote! { #[deprecated] }
    } else {
        TokenStream::new()
    }
}

/// Turns a message path that prost-build resolved relative to the package
/// module (`EchoRequest`, `super::common::Id`, `::prost_types::Any`, `()`)
/// into the same type seen from a module one level deeper.
fn nested_type_path(rust_path: &str) -> TokenStream {
    let absolute =
        rust_path.starts_with("::") || rust_path.starts_with("crate::") || rust_path == "()";
    let path = if absolute {
        rust_path.to_owned()
    } else {
        format!("super::{rust_path}")
    };
    path.parse().unwrap_or_else(|err| {
        panic!("prost-build resolved a message to `{rust_path}`, which is not a Rust path: {err}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_message_paths_gain_one_super() {
        assert_eq!(
            nested_type_path("EchoRequest").to_string(),
            "super :: EchoRequest"
        );
        assert_eq!(
            nested_type_path("super::common::Id").to_string(),
            "super :: super :: common :: Id"
        );
    }

    #[test]
    fn absolute_message_paths_are_kept() {
        assert_eq!(
            nested_type_path("::prost_types::Any").to_string(),
            ":: prost_types :: Any"
        );
        assert_eq!(
            nested_type_path("crate::shared::Id").to_string(),
            "crate :: shared :: Id"
        );
        assert_eq!(nested_type_path("()").to_string(), "()");
    }
}
