//! Build-time switches (spec coroutine.md §1.4), read while maturin builds the extension.
//!
//! * `ASYNKIT_DEBUG`: internal assertions on, `get_build_info()` reports `"debug"`.
//! * `ASYNKIT_DISABLE_CEXT`: the module is built but refuses to import, so the package
//!   selects its pure-Python engine.
//! * `ASYNKIT_FORCE_CEXT`: nothing to do; a maturin build never falls back silently.
fn flag(name: &str) -> bool {
    println!("cargo:rerun-if-env-changed={name}");
    matches!(
        std::env::var(name).map(|v| v.trim().to_ascii_lowercase()),
        Ok(v) if v == "1" || v == "true" || v == "yes"
    )
}

fn main() {
    pyo3_build_config::use_pyo3_cfgs();
    println!("cargo::rustc-check-cfg=cfg(asynkit_debug)");
    println!("cargo::rustc-check-cfg=cfg(asynkit_disabled)");
    if flag("ASYNKIT_DEBUG") {
        println!("cargo:rustc-cfg=asynkit_debug");
    }
    if flag("ASYNKIT_DISABLE_CEXT") {
        println!("cargo:rustc-cfg=asynkit_disabled");
    }
    flag("ASYNKIT_FORCE_CEXT");
}
