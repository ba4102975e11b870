//! `#[derive(ProviderValue)]` for the CRD types of sipcred-operator.
//!
//! A CRD field is named twice: Kubernetes' camelCase (serde's `rename_all` and
//! `rename`, with upper-case acronyms such as `webhookEventURL`) and the provider's
//! snake_case. The Rust field name is the provider's name, so this derive reads it from
//! the field itself and one field declaration is the whole mapping:
//!
//! - a struct becomes a JSON object of its fields under their Rust names, leaving out
//!   a field whose value is absent (`None`);
//! - a unit-only enum becomes the value serde writes for it (the provider's spelling,
//!   which the CRD shares), except a variant marked `#[provider(null)]`, which is sent
//!   as JSON `null` (how the provider clears the setting).
//!
//! The generated code names `crate::crd::provider_value` and `::serde_json`: the derive
//! serves the operator crate's own CRD types.

use proc_macro::TokenStream;
use proc_macro2::TokenStream as TokenStream2;
use quote::quote;
use syn::ext::IdentExt;
use syn::{Data, DeriveInput, Fields, parse_macro_input};

#[proc_macro_derive(ProviderValue, attributes(provider))]
pub fn derive_provider_value(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

fn expand(input: &DeriveInput) -> syn::Result<TokenStream2> {
    for attr in &input.attrs {
        if attr.path().is_ident("provider") {
            return Err(syn::Error::new_spanned(
                attr,
                "#[provider(...)] belongs on an enum variant",
            ));
        }
    }
    match &input.data {
        Data::Struct(s) => expand_struct(input, &s.fields),
        Data::Enum(e) => expand_enum(input, e),
        Data::Union(_) => Err(syn::Error::new_spanned(
            &input.ident,
            "ProviderValue derives for structs and enums",
        )),
    }
}

fn expand_struct(input: &DeriveInput, fields: &Fields) -> syn::Result<TokenStream2> {
    let Fields::Named(named) = fields else {
        return Err(syn::Error::new_spanned(
            &input.ident,
            "ProviderValue needs named fields: their names are the provider's",
        ));
    };
    let mut inserts = Vec::new();
    for f in &named.named {
        if let Some(attr) = f.attrs.iter().find(|a| a.path().is_ident("provider")) {
            return Err(syn::Error::new_spanned(
                attr,
                "#[provider(...)] belongs on an enum variant",
            ));
        }
        let ident = f
            .ident
            .as_ref()
            .ok_or_else(|| syn::Error::new_spanned(f, "ProviderValue needs named fields"))?;
        let name = ident.unraw().to_string();
        inserts.push(quote! {
            if let ::std::option::Option::Some(v) =
                crate::crd::provider_value::ProviderValue::provider_value(&self.#ident)
            {
                fields.insert(::std::string::String::from(#name), v);
            }
        });
    }
    let ty = &input.ident;
    let (imp, generics, bounds) = input.generics.split_for_impl();
    Ok(quote! {
        impl #imp crate::crd::provider_value::ProviderFields for #ty #generics #bounds {
            fn provider_fields(&self) -> ::serde_json::Map<::std::string::String, ::serde_json::Value> {
                let mut fields = ::serde_json::Map::new();
                #(#inserts)*
                fields
            }
        }

        impl #imp crate::crd::provider_value::ProviderValue for #ty #generics #bounds {
            fn provider_value(&self) -> ::std::option::Option<::serde_json::Value> {
                ::std::option::Option::Some(::serde_json::Value::Object(
                    crate::crd::provider_value::ProviderFields::provider_fields(self),
                ))
            }
        }
    })
}

fn expand_enum(input: &DeriveInput, e: &syn::DataEnum) -> syn::Result<TokenStream2> {
    let mut nulls = Vec::new();
    for v in &e.variants {
        if !matches!(v.fields, Fields::Unit) {
            return Err(syn::Error::new_spanned(
                v,
                "ProviderValue derives for enums whose variants are all units",
            ));
        }
        for attr in v.attrs.iter().filter(|a| a.path().is_ident("provider")) {
            attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("null") {
                    nulls.push(v.ident.clone());
                    Ok(())
                } else {
                    Err(meta.error("the one variant option is `null`"))
                }
            })?;
        }
    }
    let ty = &input.ident;
    let (imp, generics, bounds) = input.generics.split_for_impl();
    let body = if nulls.is_empty() {
        quote! { ::serde_json::to_value(self).ok() }
    } else {
        quote! {
            match self {
                #(Self::#nulls)|* => ::std::option::Option::Some(::serde_json::Value::Null),
                #[allow(unreachable_patterns)]
                _ => ::serde_json::to_value(self).ok(),
            }
        }
    };
    Ok(quote! {
        impl #imp crate::crd::provider_value::ProviderValue for #ty #generics #bounds {
            fn provider_value(&self) -> ::std::option::Option<::serde_json::Value> {
                #body
            }
        }
    })
}
