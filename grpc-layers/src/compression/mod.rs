//! The `compression` layer (in progress).
