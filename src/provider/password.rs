//! Password generation from a policy, using the thread-local CSPRNG
//! (`rand::rng()`: ChaCha12 seeded and periodically reseeded from the OS).

use rand::Rng;
use rand::seq::SliceRandom;
use secrecy::SecretString;

const LOWER: &[u8] = b"abcdefghijklmnopqrstuvwxyz";
const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const DIGITS: &[u8] = b"0123456789";
/// Symbols that survive SIP URIs, config files, shells and YAML unquoted in
/// practice: no quotes, backslash, colon, '@', '/', space, '#', '$' or '%'.
pub const DEFAULT_SYMBOLS: &str = "!*+-._=~^";

/// Shortest password either provider accepts.
pub const MIN_LENGTH: usize = 8;
/// Longest password Telnyx accepts (Vobiz documents no maximum; we use the
/// same bound).
pub const MAX_LENGTH: usize = 128;

/// What to generate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasswordPolicy {
    /// Length in characters, 8..=128.
    pub length: usize,
    /// Include at least one lowercase letter.
    pub lowercase: bool,
    /// Include at least one uppercase letter.
    pub uppercase: bool,
    /// Include at least one digit.
    pub digits: bool,
    /// Include at least one symbol from `symbol_set`.
    pub symbols: bool,
    /// The symbols to use when `symbols` is on (ASCII, printable, no spaces).
    pub symbol_set: String,
}

impl Default for PasswordPolicy {
    /// 32 characters, all four classes.
    fn default() -> Self {
        Self {
            length: 32,
            lowercase: true,
            uppercase: true,
            digits: true,
            symbols: true,
            symbol_set: DEFAULT_SYMBOLS.to_string(),
        }
    }
}

/// Why a policy cannot be satisfied.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PasswordPolicyError {
    /// Length outside 8..=128.
    #[error("password length {0} is outside {MIN_LENGTH}..={MAX_LENGTH}")]
    Length(usize),
    /// No character class enabled.
    #[error("no character class enabled")]
    NoClasses,
    /// The symbol set is empty or contains non-printable / non-ASCII / space
    /// characters.
    #[error("symbol set must be non-empty printable ASCII without spaces")]
    BadSymbols,
}

impl PasswordPolicy {
    /// Policy for Telnyx credential connections (8..=128 characters).
    pub fn telnyx(length: usize) -> Self {
        Self {
            length,
            ..Self::default()
        }
    }

    /// Policy for Vobiz trunk credentials (at least 8 characters).
    pub fn vobiz(length: usize) -> Self {
        Self {
            length,
            ..Self::default()
        }
    }

    /// Checks the policy.
    pub fn validate(&self) -> Result<(), PasswordPolicyError> {
        if !(MIN_LENGTH..=MAX_LENGTH).contains(&self.length) {
            return Err(PasswordPolicyError::Length(self.length));
        }
        if !(self.lowercase || self.uppercase || self.digits || self.symbols) {
            return Err(PasswordPolicyError::NoClasses);
        }
        if self.symbols
            && (self.symbol_set.is_empty()
                || !self.symbol_set.bytes().all(|b| b.is_ascii_graphic()))
        {
            return Err(PasswordPolicyError::BadSymbols);
        }
        Ok(())
    }

    fn classes(&self) -> Vec<&[u8]> {
        let mut c: Vec<&[u8]> = Vec::new();
        if self.lowercase {
            c.push(LOWER);
        }
        if self.uppercase {
            c.push(UPPER);
        }
        if self.digits {
            c.push(DIGITS);
        }
        if self.symbols {
            c.push(self.symbol_set.as_bytes());
        }
        c
    }
}

/// Generates a password: one character from each enabled class, the rest
/// uniformly from the union of the classes, then shuffled.
pub fn generate(policy: &PasswordPolicy) -> Result<SecretString, PasswordPolicyError> {
    generate_with(policy, &mut rand::rng())
}

/// [`generate`] with a caller-supplied RNG (tests). Production code must use
/// a CSPRNG.
pub fn generate_with(
    policy: &PasswordPolicy,
    rng: &mut impl Rng,
) -> Result<SecretString, PasswordPolicyError> {
    policy.validate()?;
    let classes = policy.classes();
    let mut all: Vec<u8> = classes.iter().flat_map(|c| c.iter().copied()).collect();
    all.sort_unstable();
    all.dedup();
    let mut out: Vec<u8> = Vec::with_capacity(policy.length);
    for class in &classes {
        out.push(class[rng.random_range(0..class.len())]);
    }
    while out.len() < policy.length {
        out.push(all[rng.random_range(0..all.len())]);
    }
    out.shuffle(rng);
    // Every byte is printable ASCII, so this cannot fail; map instead of
    // unwrapping anyway.
    String::from_utf8(out)
        .map(SecretString::from)
        .map_err(|_| PasswordPolicyError::BadSymbols)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use secrecy::ExposeSecret;

    fn check(p: &str, policy: &PasswordPolicy) {
        assert_eq!(p.chars().count(), policy.length);
        let has = |set: &[u8]| p.bytes().any(|b| set.contains(&b));
        assert_eq!(has(LOWER), policy.lowercase, "{policy:?}");
        assert_eq!(has(UPPER), policy.uppercase, "{policy:?}");
        assert_eq!(has(DIGITS), policy.digits, "{policy:?}");
        assert_eq!(
            has(policy.symbol_set.as_bytes()),
            policy.symbols,
            "{policy:?}"
        );
        assert!(p.bytes().all(|b| b.is_ascii_graphic()));
    }

    #[test]
    fn lengths_and_classes() {
        for length in [8, 9, 12, 32, 64, 128] {
            for mask in 1u8..16 {
                let policy = PasswordPolicy {
                    length,
                    lowercase: mask & 1 != 0,
                    uppercase: mask & 2 != 0,
                    digits: mask & 4 != 0,
                    symbols: mask & 8 != 0,
                    symbol_set: DEFAULT_SYMBOLS.into(),
                };
                for _ in 0..20 {
                    let p = generate(&policy).unwrap();
                    check(p.expose_secret(), &policy);
                }
            }
        }
    }

    #[test]
    fn provider_bounds() {
        assert!(generate(&PasswordPolicy::telnyx(8)).is_ok());
        assert!(generate(&PasswordPolicy::telnyx(128)).is_ok());
        assert_eq!(
            generate(&PasswordPolicy::telnyx(129)).unwrap_err(),
            PasswordPolicyError::Length(129)
        );
        assert_eq!(
            generate(&PasswordPolicy::vobiz(7)).unwrap_err(),
            PasswordPolicyError::Length(7)
        );
        assert!(generate(&PasswordPolicy::vobiz(8)).is_ok());
    }

    #[test]
    fn invalid_policies() {
        let none = PasswordPolicy {
            lowercase: false,
            uppercase: false,
            digits: false,
            symbols: false,
            ..PasswordPolicy::default()
        };
        assert_eq!(generate(&none).unwrap_err(), PasswordPolicyError::NoClasses);
        let bad = PasswordPolicy {
            symbol_set: "a b".into(),
            ..PasswordPolicy::default()
        };
        assert_eq!(generate(&bad).unwrap_err(), PasswordPolicyError::BadSymbols);
    }

    #[test]
    fn passwords_differ_and_debug_is_redacted() {
        let a = generate(&PasswordPolicy::default()).unwrap();
        let b = generate(&PasswordPolicy::default()).unwrap();
        assert_ne!(a.expose_secret(), b.expose_secret());
        assert!(!format!("{a:?}").contains(a.expose_secret()));
    }

    #[test]
    fn distribution_covers_alphabet() {
        // 2000 x 32 characters from 71 symbols: every symbol must show up.
        let policy = PasswordPolicy::default();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..2000 {
            seen.extend(generate(&policy).unwrap().expose_secret().bytes());
        }
        assert_eq!(seen.len(), 26 + 26 + 10 + DEFAULT_SYMBOLS.len());
    }
}
