//! sipcred-operator: declare SIP credentials as Kubernetes objects and have them
//! exist at Telnyx and Vobiz, with the generated secrets delivered into Secrets.
//!
//! Dependencies run one way: `controller` -> `managed` -> `provider` / `secrets` ->
//! `crd`. `provider` never imports kube; `managed` names no vendor. `metrics`,
//! `server`, `leader` and `telemetry` are the process plumbing around them.

pub mod controller;
pub mod crd;
pub mod leader;
pub mod managed;
pub mod metrics;
pub mod provider;
pub mod secret_formats;
pub mod secrets;
pub mod server;
pub mod telemetry;
