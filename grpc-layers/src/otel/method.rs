//! The method of a call as the attribute values telemetry records, derived
//! once per path.
//!
//! A method name is a process-wide interned `&'static str`: once a path is
//! known to be a method (the client calls it; the server's router did not
//! answer it as unknown), every later call of it records its name and
//! attribute values without allocating. The table holds at most
//! [`CAPACITY`] names, so a client sending endless made-up paths to a
//! server that does not mark unknown methods cannot grow it without bound;
//! past that, names are built per call.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

use grpc_core::method::MethodPath;
use opentelemetry::{StringValue, Value};

use super::semconv::GRPC;

/// Names interned at most.
pub(crate) const CAPACITY: usize = 1024;

fn table() -> &'static RwLock<HashMap<Box<str>, &'static str>> {
    static TABLE: OnceLock<RwLock<HashMap<Box<str>, &'static str>>> = OnceLock::new();
    TABLE.get_or_init(Default::default)
}

#[derive(Clone, Debug)]
enum Name {
    Interned(&'static str),
    Fresh(Arc<str>),
}

/// A call's method: `package.Service/Method` from its path.
#[derive(Clone, Debug)]
pub(crate) struct Method {
    name: Name,
    /// Whether the path has the `/Service/Method` shape at all.
    well_formed: bool,
}

impl Method {
    /// The method of a call to `path`.
    pub(crate) fn of_path(path: &str) -> Method {
        let trimmed = path.strip_prefix('/').unwrap_or(path);
        if let Ok(table) = table().read() {
            if let Some(name) = table.get(trimmed) {
                return Method {
                    name: Name::Interned(name),
                    well_formed: true,
                };
            }
        }
        let well_formed = MethodPath::parse(path).is_ok();
        Method {
            name: Name::Fresh(Arc::from(trimmed)),
            well_formed,
        }
    }

    /// Whether the path is `/Service/Method`; the others record `_OTHER`.
    pub(crate) fn is_well_formed(&self) -> bool {
        self.well_formed
    }

    /// Interns the name, so later calls of the method allocate nothing:
    /// for a method known to exist.
    pub(crate) fn remember(&mut self) {
        let Name::Fresh(name) = &self.name else {
            return;
        };
        if !self.well_formed {
            return;
        }
        let Ok(mut table) = table().write() else {
            return;
        };
        if let Some(interned) = table.get(&**name) {
            self.name = Name::Interned(interned);
            return;
        }
        if table.len() >= CAPACITY {
            return;
        }
        // Leaked on purpose, once per method for the whole process: the
        // table is bounded, and the name then costs nothing per call.
        let interned: &'static str = Box::leak(Box::from(&**name));
        table.insert(Box::from(interned), interned);
        self.name = Name::Interned(interned);
    }

    /// `package.Service/Method` as the client sent it.
    #[cfg(test)]
    pub(crate) fn as_str(&self) -> &str {
        match &self.name {
            Name::Interned(name) => name,
            Name::Fresh(name) => name,
        }
    }

    /// The span name: the method, or `grpc` for a path of another shape.
    pub(crate) fn span_name(&self) -> Cow<'static, str> {
        match (&self.name, self.well_formed) {
            (_, false) => Cow::Borrowed(GRPC),
            (Name::Interned(name), true) => Cow::Borrowed(name),
            (Name::Fresh(name), true) => Cow::Owned(name.to_string()),
        }
    }

    /// The method name as an attribute value (no allocation).
    pub(crate) fn value(&self) -> Value {
        match &self.name {
            Name::Interned(name) => Value::String(StringValue::from(*name)),
            Name::Fresh(name) => Value::String(StringValue::from(name.clone())),
        }
    }

    /// Whether the name is interned: a method known to exist.
    pub(crate) fn is_interned(&self) -> bool {
        matches!(self.name, Name::Interned(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remembered_method_is_interned_for_every_later_call() {
        let mut first = Method::of_path("/method.Test/Remembered");
        assert!(!first.is_interned());
        first.remember();
        assert!(first.is_interned());
        let later = Method::of_path("/method.Test/Remembered");
        assert!(later.is_interned());
        assert_eq!(later.as_str(), "method.Test/Remembered");
        assert_eq!(later.span_name(), "method.Test/Remembered");
        assert!(matches!(later.span_name(), Cow::Borrowed(_)));
    }

    #[test]
    fn paths_of_another_shape_are_not_methods_and_never_interned() {
        for path in ["", "/", "nopath", "/only", "//M", "/S/", "/a/b/c", "a/b"] {
            let mut method = Method::of_path(path);
            assert!(!method.is_well_formed(), "{path:?}");
            assert_eq!(method.span_name(), "grpc");
            method.remember();
            assert!(!method.is_interned(), "{path:?}");
        }
        assert!(Method::of_path("/a.B/C").is_well_formed());
    }
}
