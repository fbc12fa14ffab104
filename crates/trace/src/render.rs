//! Rendering traces as text.
