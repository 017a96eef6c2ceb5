//! The `limits` layer (in progress).
