//! The `deadline` layer (in progress).
