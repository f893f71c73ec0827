//! The reader worker's entry point (see `mnist_studio::reader`). Built without the `engine`
//! feature (www/index.html): it holds no burn.

#[cfg(target_arch = "wasm32")]
fn main() {
    // None of its crates has any today; run so that one added later cannot make wasm-ld wrap
    // every export in them (src/platform.rs).
    mnist_studio::platform::run_static_constructors();
    mnist_studio::reader::start();
}

// The worker only exists in the browser.
#[cfg(not(target_arch = "wasm32"))]
fn main() {}
