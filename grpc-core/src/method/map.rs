//! [`MethodMap`]: per-method settings with service-config precedence.
//!
//! The gRPC service config picks a call's `methodConfig` by its most
//! specific `name`: the entry for the exact method, else the one for its
//! service, else the default (the empty name). Auth rules, load-shed caps
//! and the retry layer's policies are all tables of that shape; this is
//! the one they share.

use std::collections::HashMap;
use std::fmt;

use super::path::{MethodName, MethodPath};

/// A value per method, per service and for every other call, looked up
/// with the service config's precedence: method, then service, then
/// default.
///
/// ```
/// use grpc_core::method::{MethodMap, MethodName};
///
/// let mut timeouts = MethodMap::new();
/// timeouts.insert(MethodName::Default, 10);
/// timeouts.insert(MethodName::parse("pkg.Store").unwrap(), 5);
/// timeouts.insert(MethodName::parse("/pkg.Store/Get").unwrap(), 1);
///
/// assert_eq!(timeouts.get("/pkg.Store/Get"), Some(&1));
/// assert_eq!(timeouts.get("/pkg.Store/Put"), Some(&5));
/// assert_eq!(timeouts.get("/pkg.Other/Get"), Some(&10));
/// // A path that is not a method only gets the default.
/// assert_eq!(timeouts.get("/not-a-method"), Some(&10));
/// ```
#[derive(Clone)]
pub struct MethodMap<T> {
    /// By the whole path, `/pkg.Service/Method`: a call looks its own path
    /// up without splitting it.
    methods: HashMap<Box<str>, T>,
    services: HashMap<Box<str>, T>,
    default: Option<T>,
}

impl<T> Default for MethodMap<T> {
    fn default() -> Self {
        MethodMap {
            methods: HashMap::new(),
            services: HashMap::new(),
            default: None,
        }
    }
}

impl<T> MethodMap<T> {
    /// An empty table: every lookup is `None`.
    pub fn new() -> Self {
        MethodMap::default()
    }

    /// Sets the value for `name`, returning the one it replaces.
    pub fn insert(&mut self, name: MethodName, value: T) -> Option<T> {
        match name {
            MethodName::Method(path) => self.methods.insert(path, value),
            MethodName::Service(service) => self.services.insert(service, value),
            MethodName::Default => self.default.replace(value),
        }
    }

    /// The value for a call to `path`: its method's, else its service's,
    /// else the default. A path that is not `/service/method` gets only
    /// the default.
    pub fn get(&self, path: &str) -> Option<&T> {
        self.method_entry(path)
            .or_else(|| self.service_entry(path))
            .or(self.default.as_ref())
    }

    /// The entry naming exactly the method of a call to `path`
    /// (`/pkg.Service/Method`), without falling back.
    pub fn method_entry(&self, path: &str) -> Option<&T> {
        if self.methods.is_empty() {
            return None;
        }
        self.methods.get(path)
    }

    /// The entry naming the service of a call to `path`, without falling
    /// back; `None` too when `path` is not a method path.
    pub fn service_entry(&self, path: &str) -> Option<&T> {
        if self.services.is_empty() {
            return None;
        }
        self.services.get(MethodPath::parse(path).ok()?.service())
    }

    /// The entry set for exactly `name`, without falling back.
    pub fn entry(&self, name: &MethodName) -> Option<&T> {
        match name {
            MethodName::Method(path) => self.methods.get(path),
            MethodName::Service(service) => self.services.get(service),
            MethodName::Default => self.default.as_ref(),
        }
    }

    /// Whether nothing is set, not even a default.
    pub fn is_empty(&self) -> bool {
        self.methods.is_empty() && self.services.is_empty() && self.default.is_none()
    }

    /// Every entry with what it names, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (MethodName, &T)> + '_ {
        let methods = self
            .methods
            .iter()
            .map(|(path, value)| (MethodName::Method(path.clone()), value));
        let services = self
            .services
            .iter()
            .map(|(service, value)| (MethodName::Service(service.clone()), value));
        let default = self
            .default
            .iter()
            .map(|value| (MethodName::Default, value));
        methods.chain(services).chain(default)
    }

    /// A table with the same names and `f` applied to every value.
    pub fn map<U>(&self, mut f: impl FnMut(&T) -> U) -> MethodMap<U> {
        MethodMap {
            methods: self
                .methods
                .iter()
                .map(|(k, v)| (k.clone(), f(v)))
                .collect(),
            services: self
                .services
                .iter()
                .map(|(k, v)| (k.clone(), f(v)))
                .collect(),
            default: self.default.as_ref().map(f),
        }
    }
}

impl<T> FromIterator<(MethodName, T)> for MethodMap<T> {
    fn from_iter<I: IntoIterator<Item = (MethodName, T)>>(iter: I) -> Self {
        let mut map = MethodMap::new();
        for (name, value) in iter {
            map.insert(name, value);
        }
        map
    }
}

impl<T: fmt::Debug> fmt::Debug for MethodMap<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MethodMap")
            .field("methods", &self.methods)
            .field("services", &self.services)
            .field("default", &self.default)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> MethodName {
        MethodName::parse(s).unwrap()
    }

    #[test]
    fn method_beats_service_beats_default() {
        let map: MethodMap<u8> = [(name(""), 0), (name("a.S"), 1), (name("a.S/M"), 2)]
            .into_iter()
            .collect();
        assert_eq!(map.get("/a.S/M"), Some(&2));
        assert_eq!(map.get("/a.S/N"), Some(&1));
        assert_eq!(map.get("/b.S/M"), Some(&0));
        assert_eq!(map.get("/a.S/M/x"), Some(&0));
    }

    #[test]
    fn without_a_default_unmatched_calls_get_nothing() {
        let mut map = MethodMap::new();
        assert!(map.is_empty());
        map.insert(name("a.S"), 1);
        assert_eq!(map.get("/b.S/M"), None);
        assert_eq!(map.get("garbage"), None);
        assert_eq!(map.service_entry("/a.S/M"), Some(&1));
        assert_eq!(map.entry(&name("a.S")), Some(&1));
        assert_eq!(map.method_entry("/a.S/M"), None);
    }

    #[test]
    fn inserting_again_replaces_and_returns_the_old_value() {
        let mut map = MethodMap::new();
        assert_eq!(map.insert(name("/a.S/M"), 1), None);
        assert_eq!(map.insert(name("a.S/M"), 2), Some(1));
        assert_eq!(map.get("/a.S/M"), Some(&2));
        assert_eq!(map.iter().count(), 1);
        assert_eq!(map.map(|v| v * 10).get("/a.S/M"), Some(&20));
    }
}
