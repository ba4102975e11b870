//! One controller per kind, each a pipeline: dereference -> validate -> drive the
//! managed engine -> publish the Secret -> report status and Events.

pub mod context;
pub mod error;
pub mod external;
pub mod kube_store;
pub mod password;
pub mod provider_account;
pub mod runner;
pub mod shell;
pub mod sip_connection;
pub mod status;
pub mod telephony_credential;
pub mod tenancy;
pub mod trunk_credential;
pub mod unreachable;

pub use context::{Ctx, Settings};
pub use error::Error;
