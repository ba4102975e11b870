//! Rotation by replacement, for provider objects whose login the provider generates:
//! the successor is a new provider object with its own deterministic identity, so
//! finding it before creating it makes the step safe to repeat after a crash or a lost
//! response, exactly as a first create is.

use super::external::{ExternalClient, ExternalError, ExternalErrorKind};

/// The successor provider object of a rotation: found by its identity, or created.
/// Returns its external name and representation.
pub async fn successor<C: ExternalClient>(
    client: &C,
) -> Result<(String, C::Resource), ExternalError> {
    if let Some(found) = client.observe(None).await? {
        return Ok((found.external_name, found.resource));
    }
    client.create().await
}

/// Deletes a provider object a rotation replaced (or a successor never switched to).
/// One already gone counts as deleted.
pub async fn retire<C: ExternalClient>(
    client: &C,
    external_name: &str,
) -> Result<(), ExternalError> {
    match client.delete(external_name).await {
        Err(e) if e.kind != ExternalErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Deletes the successor a rotation may have created but not switched to (the object
/// is being deleted meanwhile): found by its identity.
pub async fn retire_successor<C: ExternalClient>(client: &C) -> Result<bool, ExternalError> {
    match client.observe(None).await? {
        Some(found) => retire(client, &found.external_name).await.map(|()| true),
        None => Ok(false),
    }
}
