//! Tells the crate how aws-lc-fips-sys links the FIPS module: static (CMVP #5314) or shared (#5298).
//! Mirrors aws-lc-fips-sys' own rule: static on Linux/BSD x86_64 and aarch64, shared elsewhere, unless
//! `AWS_LC_FIPS_SYS_STATIC` says otherwise.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(meshtls_fips_dynamic)");
    println!("cargo:rerun-if-env-changed=AWS_LC_FIPS_SYS_STATIC");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let default_static =
        (os == "linux" || os.ends_with("bsd")) && (arch == "x86_64" || arch == "aarch64");
    let linked_static = match std::env::var("AWS_LC_FIPS_SYS_STATIC") {
        Ok(v) => {
            let v = v.to_ascii_lowercase();
            if v.starts_with('0')
                || v.starts_with('n')
                || v.starts_with("off")
                || v.starts_with('f')
            {
                false
            } else if v.starts_with(|c: char| c.is_ascii_digit())
                || v.starts_with('y')
                || v.starts_with("on")
                || v.starts_with('t')
            {
                true
            } else {
                default_static
            }
        }
        Err(_) => default_static,
    };
    if !linked_static {
        println!("cargo:rustc-cfg=meshtls_fips_dynamic");
    }
}
