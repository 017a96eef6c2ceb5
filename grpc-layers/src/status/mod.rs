//! The `status` layer (in progress).
