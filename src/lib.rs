//! sipcred-operator: declare SIP credentials as Kubernetes objects and have them
//! exist at Telnyx and Vobiz, with the generated secrets delivered into Secrets.

pub mod crd;
pub mod leader;
pub mod metrics;
pub mod server;
pub mod telemetry;
