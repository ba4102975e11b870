//! Integration tests: real HTTP against simulators on random loopback ports.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cli;
mod common;
mod faults;
mod lifecycle;
mod telnyx;
mod vobiz;
