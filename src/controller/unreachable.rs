//! An external client for steps that never reach the provider (paused, orphaned, or
//! already released), so those steps need no provider account.

use std::marker::PhantomData;

use crate::managed::{ExternalClient, ExternalError, ExternalErrorKind, Observation};

/// Fails every call; used only where the engine's decision makes no provider call.
pub struct Unreachable<R>(PhantomData<fn() -> R>);

impl<R> Default for Unreachable<R> {
    fn default() -> Self {
        Self(PhantomData)
    }
}

fn never() -> ExternalError {
    ExternalError::new(
        ExternalErrorKind::Retryable,
        "InternalError",
        "no provider call was expected in this step",
    )
}

impl<R: Send + Sync> ExternalClient for Unreachable<R> {
    type Resource = R;
    async fn observe(&self, _: Option<&str>) -> Result<Option<Observation<R>>, ExternalError> {
        Err(never())
    }
    async fn create(&self) -> Result<(String, R), ExternalError> {
        Err(never())
    }
    async fn update(&self, _: &Observation<R>) -> Result<R, ExternalError> {
        Err(never())
    }
    async fn delete(&self, _: &str) -> Result<(), ExternalError> {
        Err(never())
    }
}
