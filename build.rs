//! Tells the crate how aws-lc-fips-sys links the FIPS module: static (CMVP #5314) or shared (#5298).
//! Mirrors aws-lc-fips-sys' own rule: static on Linux/BSD x86_64 and aarch64, shared elsewhere, unless
//! `AWS_LC_FIPS_SYS_STATIC` says otherwise.
//!
//! Also tells it which entropy source the FIPS module seeds its DRBG from: the passive source (the
//! OS), or CPU Jitter when `AWS_LC_FIPS_SYS_CPU_JITTER_ENTROPY` is set (aws-lc-fips-sys' switch).

/// aws-lc-fips-sys' reading of a boolean environment variable.
fn env_bool(name: &str) -> Option<bool> {
    let v = std::env::var(name).ok()?.to_ascii_lowercase();
    if v.starts_with('0') || v.starts_with('n') || v.starts_with("off") || v.starts_with('f') {
        Some(false)
    } else if v.starts_with(|c: char| c.is_ascii_digit())
        || v.starts_with('y')
        || v.starts_with("on")
        || v.starts_with('t')
    {
        Some(true)
    } else {
        None
    }
}

fn main() {
    println!("cargo::rustc-check-cfg=cfg(meshtls_fips_dynamic)");
    println!("cargo::rustc-check-cfg=cfg(meshtls_fips_jitter_entropy)");
    println!("cargo:rerun-if-env-changed=AWS_LC_FIPS_SYS_STATIC");
    println!("cargo:rerun-if-env-changed=AWS_LC_FIPS_SYS_CPU_JITTER_ENTROPY");
    if env_bool("AWS_LC_FIPS_SYS_CPU_JITTER_ENTROPY") == Some(true) {
        println!("cargo:rustc-cfg=meshtls_fips_jitter_entropy");
    }
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let default_static =
        (os == "linux" || os.ends_with("bsd")) && (arch == "x86_64" || arch == "aarch64");
    let linked_static = env_bool("AWS_LC_FIPS_SYS_STATIC").unwrap_or(default_static);
    if !linked_static {
        println!("cargo:rustc-cfg=meshtls_fips_dynamic");
    }
}
