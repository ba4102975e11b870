//! sipcred-operator: declare SIP credentials as Kubernetes objects and have them
//! exist at Telnyx and Vobiz, with the generated secrets delivered into Secrets.
//!
//! Dependencies run one way. `controller` uses `managed`, `provider`, `secrets` and
//! `crd`; `managed` (the lifecycle engine) uses only `secrets` and `crd` and names no
//! vendor; `provider` (the vendors' HTTP clients) never imports kube, `crd`, `managed`
//! or `controller`. `metrics`, `server`, `leader` and `telemetry` are the process
//! plumbing around them. tests/architecture.rs checks these rules.

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
