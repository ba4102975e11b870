//! A CRD value as the provider's API spells it, for the fields a kind sends to its
//! provider. `#[derive(ProviderValue)]` (crate `sipcred-derive`) writes the impls for
//! structs and enums from their declarations, so a field added to a CRD type reaches the
//! request, and the drift comparison against the observed object, with no second edit.

use serde_json::{Map, Value};

pub use sipcred_derive::ProviderValue;

/// A value in the provider's spelling; `None` leaves the field out of the request, so
/// the provider keeps its own value for a field the user did not set.
pub trait ProviderValue {
    fn provider_value(&self) -> Option<Value>;
}

/// A struct's fields in the provider's spelling: the request body's fields.
pub trait ProviderFields {
    fn provider_fields(&self) -> Map<String, Value>;
}

impl<T: ProviderValue> ProviderValue for Option<T> {
    fn provider_value(&self) -> Option<Value> {
        self.as_ref().and_then(ProviderValue::provider_value)
    }
}

impl<T: ProviderValue> ProviderValue for Vec<T> {
    fn provider_value(&self) -> Option<Value> {
        Some(Value::Array(
            self.iter()
                .filter_map(ProviderValue::provider_value)
                .collect(),
        ))
    }
}

macro_rules! as_json {
    ($($t:ty),*) => {$(
        impl ProviderValue for $t {
            fn provider_value(&self) -> Option<Value> {
                Some(Value::from(self.clone()))
            }
        }
    )*};
}

as_json!(bool, i32, i64, String);
