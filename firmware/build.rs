//! Puts the memory layout of the board being built for where cortex-m-rt's
//! `link.x` finds it: `memory-m0.x` for thumbv6m (micro:bit), else
//! `memory-m4.x` (MPS2 AN386).
use std::{env, fs, path::PathBuf};

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    let target = env::var("TARGET").unwrap_or_default();
    let src = if target.starts_with("thumbv6m") { "memory-m0.x" } else { "memory-m4.x" };
    fs::copy(src, out.join("memory.x")).expect("copy memory.x");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory-m0.x");
    println!("cargo:rerun-if-changed=memory-m4.x");
    println!("cargo:rerun-if-changed=build.rs");
}
