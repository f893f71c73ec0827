//! Two cfgs, each decided here once, so the code that depends on one names the reason rather
//! than repeating the target test:
//! - `cube_kernels`: "this build compiles burn's cubecl backend, so our WebGPU kernels
//!   (src/kernels/gpu_*.rs) exist": the single-threaded browser worker (wasm32 without the
//!   `atomics` target feature, whose burn has `webgpu`; our `webgpu` feature) and natively
//!   the `native-gpu` feature.
//! - `rayon_pool`: "this build has rayon and threads to run it on": natively, and the
//!   threaded browser worker (wasm32 with `atomics`, see src/worker/threads.rs). Our CPU
//!   kernels (src/kernels/parallel.rs) and a parts file's decoding (src/data/lanes.rs) spread
//!   their work over the pool only then.

fn main() {
    // Without this, cargo re-runs the script, and so rebuilds the crate, whenever any file of
    // the package changes (a test script, the README): serving after testing would compile
    // the app again. What it reads (target and features) cargo tracks by itself.
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rustc-check-cfg=cfg(cube_kernels)");
    println!("cargo::rustc-check-cfg=cfg(rayon_pool)");
    // `--cfg mnist_timeline` (in RUSTFLAGS, by hand) compiles in src/kernels/parallel.rs's timeline.
    println!("cargo::rustc-check-cfg=cfg(mnist_timeline)");
    let wasm = std::env::var("CARGO_CFG_TARGET_ARCH").is_ok_and(|arch| arch == "wasm32");
    let atomics = std::env::var("CARGO_CFG_TARGET_FEATURE").is_ok_and(|features| features.split(',').any(|f| f == "atomics"));
    let native_gpu = std::env::var_os("CARGO_FEATURE_NATIVE_GPU").is_some();
    let webgpu = std::env::var_os("CARGO_FEATURE_WEBGPU").is_some();
    if native_gpu || (webgpu && wasm && !atomics) {
        println!("cargo::rustc-cfg=cube_kernels");
    }
    // Cargo.toml gives rayon to exactly these targets.
    if !wasm || atomics {
        println!("cargo::rustc-cfg=rayon_pool");
    }
}
