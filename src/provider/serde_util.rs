//! Serde helpers shared by the provider models.

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A request field that can be left out, sent as `null` (clear it), or set.
///
/// Use with `#[serde(default, skip_serializing_if = "Nullable::is_absent")]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Nullable<T> {
    /// Not sent: the provider keeps its current value.
    #[default]
    Absent,
    /// Sent as JSON `null`: the provider clears the value.
    Null,
    /// Sent as the value.
    Value(T),
}

impl<T> Nullable<T> {
    /// True when the field is not to be sent.
    pub fn is_absent(&self) -> bool {
        matches!(self, Nullable::Absent)
    }
    /// The value, if set.
    pub fn as_value(&self) -> Option<&T> {
        match self {
            Nullable::Value(v) => Some(v),
            _ => None,
        }
    }
    /// `Some(v)` becomes `Value(v)`, `None` becomes `Null` (use this when the
    /// desired state says "no value").
    pub fn from_desired(v: Option<T>) -> Self {
        match v {
            Some(v) => Nullable::Value(v),
            None => Nullable::Null,
        }
    }
}

impl<T> From<T> for Nullable<T> {
    fn from(v: T) -> Self {
        Nullable::Value(v)
    }
}

impl<T: Serialize> Serialize for Nullable<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Nullable::Value(v) => v.serialize(s),
            // Absent is skipped by `skip_serializing_if`; if it is not, null
            // is the closest meaning.
            Nullable::Null | Nullable::Absent => s.serialize_none(),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Nullable<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // A missing field is handled by `#[serde(default)]` (Absent).
        Ok(match Option::<T>::deserialize(d)? {
            Some(v) => Nullable::Value(v),
            None => Nullable::Null,
        })
    }
}

/// Serializes an `Option<SecretString>` by exposing it. Only used on request
/// bodies, which are serialized straight into the HTTP body and never logged.
pub(crate) fn serialize_opt_secret<S: Serializer>(
    v: &Option<SecretString>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match v {
        Some(secret) => s.serialize_str(secret.expose_secret()),
        None => s.serialize_none(),
    }
}

/// Serializes a `SecretString` by exposing it (request bodies only).
pub(crate) fn serialize_secret<S: Serializer>(v: &SecretString, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(v.expose_secret())
}

/// Accepts an id sent as a JSON string or number (Telnyx documents int64 ids
/// as strings; examples also show UUIDs).
pub(crate) fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        S(String),
        N(serde_json::Number),
    }
    Ok(match Id::deserialize(d)? {
        Id::S(s) => s,
        Id::N(n) => n.to_string(),
    })
}

/// As [`string_or_number`], for optional fields (`null` or missing is `None`).
pub(crate) fn opt_string_or_number<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        S(String),
        N(serde_json::Number),
    }
    Ok(match Option::<Id>::deserialize(d)? {
        Some(Id::S(s)) => Some(s),
        Some(Id::N(n)) => Some(n.to_string()),
        None => None,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct T {
        #[serde(default, skip_serializing_if = "Nullable::is_absent")]
        x: Nullable<u32>,
    }

    #[test]
    fn nullable_three_states() {
        assert_eq!(
            serde_json::to_string(&T {
                x: Nullable::Absent
            })
            .unwrap(),
            "{}"
        );
        assert_eq!(
            serde_json::to_string(&T { x: Nullable::Null }).unwrap(),
            r#"{"x":null}"#
        );
        assert_eq!(
            serde_json::to_string(&T { x: 5.into() }).unwrap(),
            r#"{"x":5}"#
        );
        assert_eq!(serde_json::from_str::<T>("{}").unwrap().x, Nullable::Absent);
        assert_eq!(
            serde_json::from_str::<T>(r#"{"x":null}"#).unwrap().x,
            Nullable::Null
        );
        assert_eq!(
            serde_json::from_str::<T>(r#"{"x":3}"#).unwrap().x,
            Nullable::Value(3)
        );
    }
}
