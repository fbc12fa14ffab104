//! Synthetic faults (work in progress).
