//! With the `tch` feature, embeds an rpath to libtorch's shared libraries so the binary starts
//! without LD_LIBRARY_PATH. The directory comes from `SELFTRAIN_TORCH_LIB`, else `LIBTORCH/lib`,
//! else the `torch` package of the Python in `VIRTUAL_ENV` (or `python3`) when
//! `LIBTORCH_USE_PYTORCH` is set — the same places torch-sys looks.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    for var in [
        "SELFTRAIN_TORCH_LIB",
        "LIBTORCH",
        "LIBTORCH_USE_PYTORCH",
        "VIRTUAL_ENV",
    ] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var_os("CARGO_FEATURE_TCH").is_none() {
        return;
    }
    if let Some(lib) = torch_lib_dir() {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
    } else {
        println!(
            "cargo:warning=libtorch directory not found: the binary will need LD_LIBRARY_PATH (run scripts/setup-libtorch.sh)"
        );
    }
}

fn torch_lib_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("SELFTRAIN_TORCH_LIB") {
        return Some(PathBuf::from(dir));
    }
    if let Some(root) = std::env::var_os("LIBTORCH") {
        return Some(PathBuf::from(root).join("lib"));
    }
    std::env::var_os("LIBTORCH_USE_PYTORCH")?;
    let python = std::env::var_os("VIRTUAL_ENV")
        .map(|v| PathBuf::from(v).join("bin").join("python"))
        .unwrap_or_else(|| PathBuf::from("python3"));
    let out = Command::new(python)
        .args([
            "-c",
            "import os, torch; print(os.path.join(os.path.dirname(torch.__file__), 'lib'))",
        ])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let dir = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!dir.is_empty()).then(|| PathBuf::from(dir))
}
