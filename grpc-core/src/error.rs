//! The boxed error type used across the stack.

/// A type-erased error, as used by tower and hyper.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;
