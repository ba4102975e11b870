//! Conformance suite driven through kube-rs.
#[path = "../common/mod.rs"]
mod common;

mod apply;
mod controller;
mod crud;
mod deletion;
mod faults_rbac;
mod lease;
mod lists;
mod watching;
