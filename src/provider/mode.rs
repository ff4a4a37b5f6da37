//! Whether the running module is in FIPS mode: the one runtime fact every component's `fips()`
//! reports. Which components a FIPS build has at all is the policy table's decision
//! ([`super::policy`]).

/// True when the running module is in FIPS mode.
///
/// Every component's `fips()` returns this, except those of algorithms the module never approves
/// (ChaCha20-Poly1305, X25519, X25519MLKEM768), which return `false` and are not compiled into the
/// FIPS build.
pub(crate) fn approved() -> bool {
    aws_lc_rs::try_fips_mode().is_ok()
}
