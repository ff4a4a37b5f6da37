//! The crate's only `unsafe` code: reading the module's version string.
//!
//! The Security Policy of the AWS-LC-FIPS 3.x module (CMVP #5314/#5298) defines its "show version"
//! service as `awslc_version_string()`. aws-lc-rs wraps it as `awslc_version()` only from 1.17.3 on,
//! and 1.17.3 already requires aws-lc-fips-sys 0.13.16 (module 3.4.0). To keep the validated 3.1.0
//! (aws-lc-fips-sys 0.13.11, usable with aws-lc-rs <= 1.17.1) pinnable, we call the C function of the
//! very sys crate aws-lc-rs links. When the `fips` feature is on, aws-lc-rs uses aws-lc-fips-sys (it
//! prefers it even if `non-fips` is also on), so that is the one we ask.
//!
//! The non-FIPS aws-lc-sys does not bind that function; there the version comes from the header
//! constants the same crate was compiled from, which needs no `unsafe`.
#![allow(unsafe_code)]

/// The module's self-reported version, e.g. `AWS-LC FIPS 3.1.0`.
#[cfg(feature = "fips")]
pub(crate) fn version_string() -> String {
    use std::ffi::CStr;
    aws_lc_rs::init();
    // SAFETY: `awslc_version_string` takes no arguments and returns a pointer to a static,
    // NUL-terminated string literal compiled into the library (it is never freed or mutated).
    // We check it for NULL before building a `CStr`, and copy it out immediately.
    let ptr = unsafe { aws_lc_fips_sys::awslc_version_string() };
    if ptr.is_null() {
        return String::from("unknown");
    }
    // SAFETY: non-null, NUL-terminated and 'static, as above.
    let cstr = unsafe { CStr::from_ptr(ptr) };
    cstr.to_string_lossy().into_owned()
}

/// The library's version, e.g. `AWS-LC 5.1.0`, from the headers aws-lc-sys was built from.
#[cfg(not(feature = "fips"))]
pub(crate) fn version_string() -> String {
    let text = |c: &[u8]| String::from_utf8_lossy(c.strip_suffix(&[0]).unwrap_or(c)).into_owned();
    format!(
        "{} {}",
        text(aws_lc_sys::AWSLC_VERSION_NAME),
        text(aws_lc_sys::AWSLC_VERSION_NUMBER_STRING)
    )
}
