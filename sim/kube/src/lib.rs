//! In-memory Kubernetes API server for tests and local sandboxes.
//!
//! The unmodified kube-rs runtime and the real `kubectl` accept it.
#![forbid(unsafe_code)]
#![allow(clippy::collapsible_if)]

pub mod validation;
