//! The ONE generic driver: executes the decided step against a provider object and
//! the Kubernetes object's bookkeeping.

use super::decide::{Action, PreObserve, Seen, plan, pre_observe};
use super::external::{Connector, ExternalClient, ExternalError, ExternalErrorKind, Observation};
use super::policy::{DetailsPublisher, ManagedState, ObjectStore};

/// What one drive step achieved.
#[derive(Debug)]
pub enum Outcome<R> {
    /// Paused: nothing was touched.
    Paused,
    /// Deletion finished; the finalizer is released (or was already gone).
    Released {
        /// The provider object was left in place.
        orphaned: bool,
        /// The provider object was deleted by this step.
        deleted: bool,
    },
    /// The provider object exists and matches (possibly after this step's write).
    Synced {
        /// The provider's ID.
        external_name: String,
        /// The provider object.
        resource: R,
        /// What this step did to get there.
        change: Change,
    },
    /// Observe-only: the provider object differs from the spec; nothing was written.
    Drifted {
        /// The provider's ID.
        external_name: String,
        /// The provider object.
        resource: R,
        /// Fields that differ.
        drift: Vec<String>,
    },
}

/// The write a synced outcome took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// None: it already matched.
    None,
    /// Created at the provider (`recreate`: a recorded object had vanished).
    Created {
        /// A previously recorded provider object was gone.
        recreate: bool,
    },
    /// Found by identity and recorded (adoption, or a lost create response recovered).
    Adopted,
    /// Updated in place; the fields that differed.
    Updated(Vec<String>),
}

/// A drive step failed.
#[derive(Debug, thiserror::Error)]
pub enum DriveError<E: std::error::Error + 'static> {
    /// The Kubernetes side failed: persisting bookkeeping, connecting (account or a
    /// dependency), or publishing connection details.
    #[error("{0}")]
    Local(#[source] E),
    /// The provider call failed.
    #[error("{0}")]
    External(ExternalError),
    /// Observe-only and the provider object does not exist.
    #[error("the provider object does not exist and the management policy is ObserveOnly")]
    Missing,
}

type Resource<C> = <<C as Connector>::Client as ExternalClient>::Resource;

/// Runs one lifecycle step for an object. The connector is called only when the step
/// talks to the provider; connection details are published around the provider call
/// (see the module docs of [`crate::managed`]).
pub async fn drive<C, S, P>(
    state: &ManagedState,
    connector: &C,
    store: &S,
    publisher: &P,
) -> Result<Outcome<Resource<C>>, DriveError<S::Error>>
where
    C: Connector<Error = S::Error>,
    S: ObjectStore,
    P: DetailsPublisher<Error = S::Error>,
{
    let ext = DriveError::External;
    let local = DriveError::Local;
    match pre_observe(state) {
        PreObserve::Paused => Ok(Outcome::Paused),
        PreObserve::Gone => Ok(Outcome::Released {
            orphaned: false,
            deleted: false,
        }),
        PreObserve::Orphan => {
            store.remove_finalizer().await.map_err(local)?;
            Ok(Outcome::Released {
                orphaned: true,
                deleted: false,
            })
        }
        PreObserve::ObserveAndDelete => {
            let client = connector.connect().await.map_err(local)?;
            // A recorded ID names the provider object: it is deleted at once, one call
            // (not found: already gone). Without one (a create may be in flight) it is
            // looked up by its identity first.
            let target = match state.external_name.as_deref() {
                Some(id) if !state.create_pending => Some(id.to_string()),
                known => client
                    .observe(known)
                    .await
                    .map_err(ext)?
                    .map(|o| o.external_name),
            };
            let deleted = match target {
                Some(id) => match client.delete(&id).await {
                    Ok(()) => true,
                    Err(e) if e.kind == ExternalErrorKind::NotFound => false,
                    Err(e) => return Err(ext(e)),
                },
                None => false,
            };
            store.remove_finalizer().await.map_err(local)?;
            Ok(Outcome::Released {
                orphaned: false,
                deleted,
            })
        }
        PreObserve::Observe { add_finalizer } => {
            let client = connector.connect().await.map_err(local)?;
            // A password this operator chose is stored before the provider can hold
            // it: a crash can never lose a password the provider accepted.
            if let Some(d) = client.details_before(state.external_name.as_deref()) {
                publisher.publish(&d).await.map_err(local)?;
            }
            let out = observe_and_act(state, &client, store, add_finalizer).await?;
            if let Outcome::Synced {
                external_name,
                resource,
                ..
            } = &out
            {
                client.refresh(external_name, resource).await.map_err(ext)?;
                if let Some(d) = client.details(external_name, resource) {
                    // The provider's IDs join the login once it holds the object.
                    publisher.publish(&d).await.map_err(local)?;
                }
            }
            Ok(out)
        }
    }
}

/// Observes, decides and acts. A missing finalizer (`add_finalizer`) goes with the
/// step's first bookkeeping write (the create-pending marker, or an adopted ID), and
/// on its own only when the step writes no bookkeeping: it is stored before any
/// provider write, so a provider object never exists without it, and a new object
/// costs one write less.
async fn observe_and_act<C, S>(
    state: &ManagedState,
    client: &C,
    store: &S,
    add_finalizer: bool,
) -> Result<Outcome<C::Resource>, DriveError<S::Error>>
where
    C: ExternalClient,
    S: ObjectStore,
{
    let ext = DriveError::External;
    let local = DriveError::Local;
    let mut finalizer = add_finalizer;
    let observed = client
        .observe(state.external_name.as_deref())
        .await
        .map_err(ext)?;
    let seen = observed.as_ref().map(|o| Seen {
        external_name: &o.external_name,
        up_to_date: o.up_to_date,
    });
    let p = plan(state, seen);
    if let Some(name) = &p.record {
        store
            .record_external_name(Some(name), std::mem::take(&mut finalizer))
            .await
            .map_err(local)?;
    }
    if finalizer && !matches!(p.action, Action::Create { .. }) {
        store.add_finalizer().await.map_err(local)?;
        finalizer = false;
    }
    let adopted = p.record.is_some();
    match (p.action, observed) {
        (Action::Create { recreate }, _) => {
            if recreate {
                store
                    .record_external_name(None, std::mem::take(&mut finalizer))
                    .await
                    .map_err(local)?;
            }
            store.mark_create_pending(finalizer).await.map_err(local)?;
            match client.create().await {
                Ok((external_name, resource)) => {
                    store
                        .record_external_name(Some(&external_name), false)
                        .await
                        .map_err(local)?;
                    Ok(Outcome::Synced {
                        external_name,
                        resource,
                        change: Change::Created { recreate },
                    })
                }
                Err(e) => {
                    // Clear the marker only when the provider definitely created
                    // nothing; an unknown outcome is resolved by the next lookup.
                    if matches!(e.kind, ExternalErrorKind::Terminal) {
                        store
                            .record_external_name(None, false)
                            .await
                            .map_err(local)?;
                    }
                    Err(ext(e))
                }
            }
        }
        (Action::None, Some(o)) => Ok(Outcome::Synced {
            external_name: o.external_name,
            resource: o.resource,
            change: if adopted {
                Change::Adopted
            } else {
                Change::None
            },
        }),
        (Action::Update, Some(o)) => {
            let resource = client.update(&o).await.map_err(ext)?;
            Ok(Outcome::Synced {
                external_name: o.external_name,
                resource,
                change: Change::Updated(o.drift),
            })
        }
        (
            Action::ReportDrift,
            Some(Observation {
                external_name,
                resource,
                drift,
                ..
            }),
        ) => Ok(Outcome::Drifted {
            external_name,
            resource,
            drift,
        }),
        (Action::ReportMissing, _) => Err(DriveError::Missing),
        // plan() only chooses None/Update/ReportDrift when something was observed.
        (Action::None | Action::Update | Action::ReportDrift, None) => Err(DriveError::Missing),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::crd::DeletionPolicy;
    use crate::secrets::ConnectionDetails;
    use std::sync::Mutex;

    /// A provider holding at most one object, recording every call.
    #[derive(Default)]
    struct FakeProvider {
        object: Mutex<Option<(String, bool)>>,
        calls: Mutex<Vec<String>>,
        fail_create: Mutex<Option<ExternalErrorKind>>,
        /// Commit-then-drop: the create is stored, the response is lost.
        drop_create_response: Mutex<bool>,
    }

    impl ExternalClient for FakeProvider {
        type Resource = ();
        fn details_before(&self, id: Option<&str>) -> Option<ConnectionDetails> {
            Some(details(id))
        }
        fn details(&self, id: &str, _: &()) -> Option<ConnectionDetails> {
            Some(details(Some(id)))
        }
        async fn observe(
            &self,
            name: Option<&str>,
        ) -> Result<Option<Observation<()>>, ExternalError> {
            self.calls
                .lock()
                .unwrap()
                .push(format!("observe:{}", name.unwrap_or("-")));
            Ok(self
                .object
                .lock()
                .unwrap()
                .clone()
                .map(|(n, up)| Observation {
                    external_name: n,
                    up_to_date: up,
                    drift: if up { vec![] } else { vec!["active".into()] },
                    resource: (),
                }))
        }
        async fn create(&self) -> Result<(String, ()), ExternalError> {
            self.calls.lock().unwrap().push("create".into());
            if let Some(kind) = *self.fail_create.lock().unwrap() {
                return Err(ExternalError::new(kind, "ProviderRejected", "no"));
            }
            *self.object.lock().unwrap() = Some(("id-1".into(), true));
            if *self.drop_create_response.lock().unwrap() {
                return Err(ExternalError::new(
                    ExternalErrorKind::OutcomeUnknown,
                    "ProviderUnavailable",
                    "connection reset",
                ));
            }
            Ok(("id-1".into(), ()))
        }
        async fn update(&self, _: &Observation<()>) -> Result<(), ExternalError> {
            self.calls.lock().unwrap().push("update".into());
            if let Some(o) = self.object.lock().unwrap().as_mut() {
                o.1 = true;
            }
            Ok(())
        }
        async fn delete(&self, name: &str) -> Result<(), ExternalError> {
            self.calls.lock().unwrap().push(format!("delete:{name}"));
            let mut o = self.object.lock().unwrap();
            if o.as_ref().is_none_or(|(id, _)| id != name) {
                return Err(ExternalError::new(
                    ExternalErrorKind::NotFound,
                    "NotFound",
                    "no such object",
                ));
            }
            *o = None;
            Ok(())
        }
    }

    fn details(id: Option<&str>) -> ConnectionDetails {
        ConnectionDetails {
            username: "u".into(),
            password: "chosen-password".to_string().into(),
            domain: "d".into(),
            id: id.map(String::from),
            synced_digest: None,
            marks: Default::default(),
            extra: Default::default(),
        }
    }

    /// Lends the provider, counting how often the engine needed it.
    struct FakeConnector<'a>(&'a FakeProvider, Mutex<u32>);

    impl<'a> Connector for FakeConnector<'a> {
        type Client = &'a FakeProvider;
        type Error = std::io::Error;
        async fn connect(&self) -> Result<&'a FakeProvider, std::io::Error> {
            *self.1.lock().unwrap() += 1;
            Ok(self.0)
        }
    }

    impl DetailsPublisher for FakeStore {
        type Error = std::io::Error;
        async fn publish(&self, d: &ConnectionDetails) -> Result<(), Self::Error> {
            self.1
                .lock()
                .unwrap()
                .push(format!("publish:{}", d.id.as_deref().unwrap_or("-")));
            Ok(())
        }
    }

    /// The Kubernetes side, applying each write to a ManagedState.
    struct FakeStore(Mutex<ManagedState>, Mutex<Vec<String>>);

    impl ObjectStore for FakeStore {
        type Error = std::io::Error;
        async fn add_finalizer(&self) -> Result<(), Self::Error> {
            self.1.lock().unwrap().push("add_finalizer".into());
            self.0.lock().unwrap().has_finalizer = true;
            Ok(())
        }
        async fn remove_finalizer(&self) -> Result<(), Self::Error> {
            self.1.lock().unwrap().push("remove_finalizer".into());
            self.0.lock().unwrap().has_finalizer = false;
            Ok(())
        }
        async fn mark_create_pending(&self, add_finalizer: bool) -> Result<(), Self::Error> {
            let with = if add_finalizer { "+finalizer" } else { "" };
            self.1.lock().unwrap().push(format!("pending{with}"));
            let mut s = self.0.lock().unwrap();
            s.create_pending = true;
            s.has_finalizer |= add_finalizer;
            Ok(())
        }
        async fn record_external_name(
            &self,
            name: Option<&str>,
            add_finalizer: bool,
        ) -> Result<(), Self::Error> {
            let with = if add_finalizer { "+finalizer" } else { "" };
            self.1
                .lock()
                .unwrap()
                .push(format!("record:{}{with}", name.unwrap_or("-")));
            let mut s = self.0.lock().unwrap();
            s.external_name = name.map(String::from);
            s.create_pending = false;
            s.has_finalizer |= add_finalizer;
            Ok(())
        }
    }

    fn store(s: ManagedState) -> FakeStore {
        FakeStore(Mutex::new(s), Mutex::new(vec![]))
    }

    async fn step(
        p: &FakeProvider,
        s: &FakeStore,
    ) -> Result<Outcome<()>, DriveError<std::io::Error>> {
        let state = s.0.lock().unwrap().clone();
        let c = FakeConnector(p, Mutex::new(0));
        let out = drive(&state, &c, s, s).await;
        if matches!(
            out,
            Ok(Outcome::Paused | Outcome::Released { orphaned: true, .. })
        ) {
            assert_eq!(*c.1.lock().unwrap(), 0, "no provider step, no connection");
        }
        out
    }

    #[tokio::test]
    async fn create_marks_pending_before_calling_the_provider_then_records_the_id() {
        let p = FakeProvider::default();
        let s = store(ManagedState::default());
        let out = step(&p, &s).await.unwrap();
        assert!(matches!(
            out,
            Outcome::Synced {
                change: Change::Created { recreate: false },
                ..
            }
        ));
        assert_eq!(
            *s.1.lock().unwrap(),
            [
                "publish:-",
                "pending+finalizer",
                "record:id-1",
                "publish:id-1"
            ],
            "the chosen password is stored before the create, the finalizer with the \
             marker (one write, before the create), the ID after"
        );
        assert_eq!(*p.calls.lock().unwrap(), ["observe:-", "create"]);
        let st = s.0.lock().unwrap().clone();
        assert_eq!(st.external_name.as_deref(), Some("id-1"));
        assert!(!st.create_pending);
    }

    #[tokio::test]
    async fn a_missing_finalizer_goes_with_the_first_bookkeeping_write_or_alone() {
        /// (what the provider holds, recorded ID, writes of the step)
        type Case<'a> = (Option<(&'a str, bool)>, Option<&'a str>, &'a [&'a str]);
        let cases: [Case; 4] = [
            (
                None,
                None,
                &[
                    "publish:-",
                    "pending+finalizer",
                    "record:id-1",
                    "publish:id-1",
                ],
            ),
            (
                Some(("id-1", true)),
                None,
                &["publish:-", "record:id-1+finalizer", "publish:id-1"],
            ),
            (
                Some(("id-1", true)),
                Some("id-1"),
                &["publish:id-1", "add_finalizer", "publish:id-1"],
            ),
            (
                Some(("id-1", false)),
                Some("id-1"),
                &["publish:id-1", "add_finalizer", "publish:id-1"],
            ),
        ];
        for (held, recorded, writes) in cases {
            let p = FakeProvider::default();
            *p.object.lock().unwrap() = held.map(|(n, up)| (n.to_string(), up));
            let s = store(ManagedState {
                external_name: recorded.map(String::from),
                ..Default::default()
            });
            step(&p, &s).await.unwrap();
            assert_eq!(*s.1.lock().unwrap(), writes, "{held:?} {recorded:?}");
            assert!(s.0.lock().unwrap().has_finalizer, "{held:?} {recorded:?}");
            if held.is_some_and(|(_, up)| !up) {
                assert_eq!(
                    *p.calls.lock().unwrap(),
                    ["observe:id-1", "update"],
                    "the finalizer is stored before the update"
                );
            }
        }
    }

    #[tokio::test]
    async fn lost_create_response_is_recovered_by_lookup_not_a_second_create() {
        let p = FakeProvider::default();
        *p.drop_create_response.lock().unwrap() = true;
        let s = store(ManagedState::default());
        let err = step(&p, &s).await.unwrap_err();
        assert!(matches!(
            err,
            DriveError::External(ExternalError {
                kind: ExternalErrorKind::OutcomeUnknown,
                ..
            })
        ));
        assert!(
            s.0.lock().unwrap().create_pending,
            "marker kept while the outcome is unknown"
        );
        let out = step(&p, &s).await.unwrap();
        assert!(matches!(
            out,
            Outcome::Synced {
                change: Change::Adopted,
                ..
            }
        ));
        let creates = p
            .calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| *c == "create")
            .count();
        assert_eq!(creates, 1);
        assert_eq!(s.0.lock().unwrap().external_name.as_deref(), Some("id-1"));
    }

    #[tokio::test]
    async fn terminal_create_failure_clears_the_marker() {
        let p = FakeProvider::default();
        *p.fail_create.lock().unwrap() = Some(ExternalErrorKind::Terminal);
        let s = store(ManagedState {
            has_finalizer: true,
            ..Default::default()
        });
        assert!(step(&p, &s).await.is_err());
        assert!(!s.0.lock().unwrap().create_pending);
    }

    #[tokio::test]
    async fn drift_is_updated_in_place() {
        let p = FakeProvider::default();
        *p.object.lock().unwrap() = Some(("id-1".into(), false));
        let s = store(ManagedState {
            has_finalizer: true,
            external_name: Some("id-1".into()),
            ..Default::default()
        });
        let out = step(&p, &s).await.unwrap();
        assert!(
            matches!(out, Outcome::Synced { change: Change::Updated(ref d), .. } if d == &["active"])
        );
        assert_eq!(*p.calls.lock().unwrap(), ["observe:id-1", "update"]);
    }

    #[tokio::test]
    async fn delete_policy_deletes_then_releases_and_orphan_only_releases() {
        // A recorded ID is deleted directly: one provider call.
        for (policy, want_calls) in [
            (DeletionPolicy::Delete, vec!["delete:id-1"]),
            (DeletionPolicy::Orphan, vec![]),
        ] {
            let p = FakeProvider::default();
            *p.object.lock().unwrap() = Some(("id-1".into(), true));
            let s = store(ManagedState {
                has_finalizer: true,
                deleting: true,
                deletion_policy: policy,
                external_name: Some("id-1".into()),
                ..Default::default()
            });
            let out = step(&p, &s).await.unwrap();
            assert!(matches!(out, Outcome::Released { .. }), "{policy:?}");
            assert_eq!(*p.calls.lock().unwrap(), want_calls, "{policy:?}");
            assert!(!s.0.lock().unwrap().has_finalizer);
            assert_eq!(
                p.object.lock().unwrap().is_some(),
                policy == DeletionPolicy::Orphan
            );
        }
    }

    #[tokio::test]
    async fn delete_while_a_create_may_be_in_flight_looks_the_object_up_first() {
        let p = FakeProvider::default();
        *p.object.lock().unwrap() = Some(("id-9".into(), true));
        let s = store(ManagedState {
            has_finalizer: true,
            deleting: true,
            create_pending: true,
            ..Default::default()
        });
        let out = step(&p, &s).await.unwrap();
        assert!(matches!(out, Outcome::Released { deleted: true, .. }));
        assert_eq!(*p.calls.lock().unwrap(), ["observe:-", "delete:id-9"]);
        assert!(p.object.lock().unwrap().is_none());
    }

    #[tokio::test]
    async fn delete_of_an_object_already_gone_releases() {
        let p = FakeProvider::default();
        let s = store(ManagedState {
            has_finalizer: true,
            deleting: true,
            external_name: Some("x".into()),
            ..Default::default()
        });
        let out = step(&p, &s).await.unwrap();
        assert!(matches!(
            out,
            Outcome::Released {
                deleted: false,
                orphaned: false
            }
        ));
    }

    #[tokio::test]
    async fn paused_touches_nothing() {
        let p = FakeProvider::default();
        let s = store(ManagedState {
            paused: true,
            ..Default::default()
        });
        assert!(matches!(step(&p, &s).await.unwrap(), Outcome::Paused));
        assert!(p.calls.lock().unwrap().is_empty() && s.1.lock().unwrap().is_empty());
    }
}
