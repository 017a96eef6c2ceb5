//! Rust names for proto names: case conversion and keyword escaping.

use heck::{ToSnakeCase, ToUpperCamelCase};
use proc_macro2::{Ident, Span};

/// Words that are keywords in some Rust edition and can be written as raw
/// identifiers (`r#type`).
const RAW_KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "do", "dyn",
    "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl", "in", "let",
    "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref", "return",
    "static", "struct", "trait", "true", "try", "type", "typeof", "unsafe", "unsized", "use",
    "virtual", "where", "while", "yield",
];

/// Keywords that cannot be raw identifiers; they get a trailing underscore.
const SUFFIXED_KEYWORDS: &[&str] = &["crate", "self", "Self", "super"];

/// An identifier for `name`, escaped if it is a Rust keyword: `r#type` for
/// most keywords, `self_` for the few that cannot be raw.
pub(crate) fn ident(name: &str) -> Ident {
    if RAW_KEYWORDS.contains(&name) {
        Ident::new_raw(name, Span::call_site())
    } else if SUFFIXED_KEYWORDS.contains(&name) {
        Ident::new(&format!("{name}_"), Span::call_site())
    } else {
        Ident::new(name, Span::call_site())
    }
}

/// The `snake_case` form of a proto name (`ServerStream` → `server_stream`).
pub(crate) fn snake(name: &str) -> String {
    name.to_snake_case()
}

/// The `UpperCamelCase` form of a proto name (`server_stream` → `ServerStream`).
pub(crate) fn upper_camel(name: &str) -> String {
    name.to_upper_camel_case()
}

/// The fully qualified proto name of a service: `package.Service`, or just
/// `Service` for a file without a package.
pub(crate) fn qualified_service_name(package: &str, service: &str) -> String {
    if package.is_empty() {
        service.to_owned()
    } else {
        format!("{package}.{service}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_stay_plain() {
        assert_eq!(ident("unary").to_string(), "unary");
    }

    #[test]
    fn keywords_become_raw_identifiers() {
        assert_eq!(ident("type").to_string(), "r#type");
        assert_eq!(ident("async").to_string(), "r#async");
        assert_eq!(ident("gen").to_string(), "r#gen");
    }

    #[test]
    fn keywords_that_cannot_be_raw_get_an_underscore() {
        assert_eq!(ident("self").to_string(), "self_");
        assert_eq!(ident("Self").to_string(), "Self_");
        assert_eq!(ident("super").to_string(), "super_");
        assert_eq!(ident("crate").to_string(), "crate_");
    }

    #[test]
    fn method_names_convert_between_cases() {
        assert_eq!(snake("ServerStream"), "server_stream");
        assert_eq!(snake("GetHTTPStatus"), "get_http_status");
        assert_eq!(upper_camel("server_stream"), "ServerStream");
        assert_eq!(upper_camel("Bidi"), "Bidi");
    }

    #[test]
    fn service_names_are_qualified_by_their_package() {
        assert_eq!(
            qualified_service_name("grpcstack.echo", "Echo"),
            "grpcstack.echo.Echo"
        );
        assert_eq!(qualified_service_name("", "Echo"), "Echo");
    }
}
