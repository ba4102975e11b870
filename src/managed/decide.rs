//! The lifecycle decisions, as pure functions of the object's state and what the
//! provider was observed to hold. Tested table-driven, without I/O.

use super::policy::{ManagedState, ManagementPolicy};
use crate::crd::DeletionPolicy;

/// What to do before talking to the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreObserve {
    /// Reconciliation is paused: touch nothing.
    Paused,
    /// Being deleted and our finalizer is already gone: nothing left to do.
    Gone,
    /// Being deleted, and the provider object stays (Orphan, or observe-only).
    Orphan,
    /// Being deleted: observe, delete the provider object if it exists, then release.
    ObserveAndDelete,
    /// Normal reconcile; add the finalizer, before any provider write, when
    /// `add_finalizer`.
    Observe {
        /// The finalizer is missing and this object may delete provider objects.
        add_finalizer: bool,
    },
}

/// Decides the step that needs no provider knowledge.
pub fn pre_observe(s: &ManagedState) -> PreObserve {
    if s.paused {
        return PreObserve::Paused;
    }
    if s.deleting {
        if !s.has_finalizer {
            return PreObserve::Gone;
        }
        if s.deletion_policy == DeletionPolicy::Orphan
            || s.management == ManagementPolicy::ObserveOnly
        {
            return PreObserve::Orphan;
        }
        return PreObserve::ObserveAndDelete;
    }
    PreObserve::Observe {
        add_finalizer: !s.has_finalizer && s.management == ManagementPolicy::Full,
    }
}

/// What observing found, reduced to what the decision needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seen<'a> {
    /// The provider's ID.
    pub external_name: &'a str,
    /// Whether it matches the desired state.
    pub up_to_date: bool,
}

/// The step after observing, for an object that is not being deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Record this external name first (adoption, recovery of a lost create response,
    /// or an ID that changed).
    pub record: Option<String>,
    /// Then do this.
    pub action: Action,
}

/// The provider-side action of a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Nothing to change.
    None,
    /// Create the provider object (marking create-pending first). `recreate` when a
    /// recorded object vanished at the provider.
    Create {
        /// A previously recorded provider object is gone.
        recreate: bool,
    },
    /// Update the provider object in place.
    Update,
    /// Observe-only: the provider object differs, report it.
    ReportDrift,
    /// Observe-only: the provider object does not exist.
    ReportMissing,
}

/// Decides the step after observing.
pub fn plan(s: &ManagedState, seen: Option<Seen<'_>>) -> Plan {
    let full = s.management == ManagementPolicy::Full;
    match seen {
        None if !full => Plan {
            record: None,
            action: Action::ReportMissing,
        },
        None => Plan {
            // A recorded ID whose object is gone (deleted out of band): forget it, recreate.
            record: None,
            action: Action::Create {
                recreate: s.external_name.is_some() && !s.create_pending,
            },
        },
        Some(seen) => {
            let record = (s.external_name.as_deref() != Some(seen.external_name)
                || s.create_pending)
                .then(|| seen.external_name.to_string());
            let action = match (seen.up_to_date, full) {
                (true, _) => Action::None,
                (false, true) => Action::Update,
                (false, false) => Action::ReportDrift,
            };
            Plan { record, action }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> ManagedState {
        ManagedState {
            has_finalizer: true,
            ..Default::default()
        }
    }

    #[test]
    fn pre_observe_table() {
        let cases: Vec<(&str, ManagedState, PreObserve)> = vec![
            (
                "new object gets a finalizer first",
                ManagedState::default(),
                PreObserve::Observe {
                    add_finalizer: true,
                },
            ),
            (
                "steady state",
                state(),
                PreObserve::Observe {
                    add_finalizer: false,
                },
            ),
            (
                "paused wins over everything",
                ManagedState {
                    paused: true,
                    deleting: true,
                    ..state()
                },
                PreObserve::Paused,
            ),
            (
                "deleting with finalizer deletes at the provider",
                ManagedState {
                    deleting: true,
                    ..state()
                },
                PreObserve::ObserveAndDelete,
            ),
            (
                "deleting without finalizer is done",
                ManagedState {
                    deleting: true,
                    has_finalizer: false,
                    ..state()
                },
                PreObserve::Gone,
            ),
            (
                "orphan policy keeps the provider object",
                ManagedState {
                    deleting: true,
                    deletion_policy: DeletionPolicy::Orphan,
                    ..state()
                },
                PreObserve::Orphan,
            ),
            (
                "observe-only never deletes",
                ManagedState {
                    deleting: true,
                    management: ManagementPolicy::ObserveOnly,
                    ..state()
                },
                PreObserve::Orphan,
            ),
            (
                "observe-only needs no finalizer",
                ManagedState {
                    management: ManagementPolicy::ObserveOnly,
                    ..Default::default()
                },
                PreObserve::Observe {
                    add_finalizer: false,
                },
            ),
        ];
        for (name, s, want) in cases {
            assert_eq!(pre_observe(&s), want, "{name}");
        }
    }

    #[test]
    fn plan_table() {
        let named = |n: &str| ManagedState {
            external_name: Some(n.into()),
            ..state()
        };
        let seen = |n: &'static str, up: bool| {
            Some(Seen {
                external_name: n,
                up_to_date: up,
            })
        };
        let cases: Vec<(&str, ManagedState, Option<Seen<'_>>, Plan)> = vec![
            (
                "nothing anywhere: create",
                state(),
                None,
                Plan {
                    record: None,
                    action: Action::Create { recreate: false },
                },
            ),
            (
                "pending create not found: create again (lookup proved it absent)",
                ManagedState {
                    create_pending: true,
                    ..state()
                },
                None,
                Plan {
                    record: None,
                    action: Action::Create { recreate: false },
                },
            ),
            (
                "pending create found by identity: record, never create twice",
                ManagedState {
                    create_pending: true,
                    ..state()
                },
                seen("42", true),
                Plan {
                    record: Some("42".into()),
                    action: Action::None,
                },
            ),
            (
                "existing object adopted by identity",
                state(),
                seen("7", false),
                Plan {
                    record: Some("7".into()),
                    action: Action::Update,
                },
            ),
            (
                "recorded and up to date: nothing",
                named("9"),
                seen("9", true),
                Plan {
                    record: None,
                    action: Action::None,
                },
            ),
            (
                "recorded and drifted: update in place",
                named("9"),
                seen("9", false),
                Plan {
                    record: None,
                    action: Action::Update,
                },
            ),
            (
                "recorded but deleted out of band: recreate",
                named("9"),
                None,
                Plan {
                    record: None,
                    action: Action::Create { recreate: true },
                },
            ),
            (
                "observe-only missing: report",
                ManagedState {
                    management: ManagementPolicy::ObserveOnly,
                    ..state()
                },
                None,
                Plan {
                    record: None,
                    action: Action::ReportMissing,
                },
            ),
            (
                "observe-only drift: report, no write",
                ManagedState {
                    management: ManagementPolicy::ObserveOnly,
                    ..named("9")
                },
                seen("9", false),
                Plan {
                    record: None,
                    action: Action::ReportDrift,
                },
            ),
            (
                "import by annotation: recorded id observed",
                named("imported"),
                seen("imported", true),
                Plan {
                    record: None,
                    action: Action::None,
                },
            ),
        ];
        for (name, s, seen, want) in cases {
            assert_eq!(plan(&s, seen), want, "{name}");
        }
    }
}
