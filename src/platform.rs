//! The little the training loop needs from its host: a clock and a way to let other work
//! run. Natively that is `Instant` and nothing; in a browser worker it is
//! `performance.now()` and a trip through the event loop.

/// Milliseconds since an arbitrary origin, monotonic.
#[cfg(not(target_arch = "wasm32"))]
pub fn now_ms() -> f64 {
    use std::sync::OnceLock;
    use std::time::Instant;
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    ORIGIN.get_or_init(Instant::now).elapsed().as_secs_f64() * 1000.0
}

#[cfg(target_arch = "wasm32")]
pub fn now_ms() -> f64 {
    use wasm_bindgen::JsCast;
    let global = js_sys::global();
    let performance = global
        .dyn_ref::<web_sys::WorkerGlobalScope>()
        .and_then(|w| w.performance())
        .or_else(|| global.dyn_ref::<web_sys::Window>().and_then(|w| w.performance()));
    performance.map_or_else(js_sys::Date::now, |p| p.now())
}

/// Let queued events (messages from the page: Pause, Stop, a drawing to read) run before the
/// next training step. A resolved promise would not do: it runs before queued tasks. A
/// `MessageChannel` message is a task of its own, and unlike `setTimeout(0)` it is not
/// clamped to 4 ms.
#[cfg(target_arch = "wasm32")]
pub async fn yield_to_events() {
    use wasm_bindgen::prelude::*;
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let channel = web_sys::MessageChannel::new().expect("MessageChannel should exist in workers and pages");
        let port = channel.port1();
        let on_message = Closure::once_into_js(move || {
            let _ = resolve.call0(&JsValue::UNDEFINED);
        });
        port.set_onmessage(Some(on_message.unchecked_ref()));
        let _ = channel.port2().post_message(&JsValue::NULL);
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

#[cfg(not(target_arch = "wasm32"))]
pub async fn yield_to_events() {}

/// Run the program's static constructors, once; the first call does it, later calls do
/// nothing. Both `main`s call it first; [`crate::worker::gpu::init_device`] calls it too, so
/// any other binary linking the library (the wasm-bindgen-test one) gets them before cubecl
/// reads what they register.
///
/// Why: cubecl (through `pliron`) registers items with `inventory`, i.e. static constructors.
/// When a wasm binary has constructors and never calls `__wasm_call_ctors` itself, wasm-ld
/// makes it a "command": it wraps every export in a call to all the constructors. Every
/// call from JavaScript into wasm (each event handler, each resolved promise, each message)
/// then re-ran them all, which cost the page about a second per drawn stroke. Referring to
/// `__wasm_call_ctors` here tells the linker the program runs them itself, so it adds no
/// wrappers (see lld's command-export wrappers); the program must then really run them.
#[cfg(target_arch = "wasm32")]
pub fn run_static_constructors() {
    unsafe extern "C" {
        fn __wasm_call_ctors();
    }
    static ONCE: std::sync::Once = std::sync::Once::new();
    // SAFETY: runs once, as a reactor's `_initialize` would, before cubecl is used.
    ONCE.call_once(|| unsafe { __wasm_call_ctors() });
}

/// `path`'s address beside this worker's script, asked for by this worker's build version
/// (`?version=`, the query `www/boot.js` and the loaders put on every file that keeps its name
/// across builds; none where the worker's address names none): the service worker answers
/// such an address from its copy first when the copy is of that build, and never from another
/// build's copy (`www/sw.js`); and a newer build never meets an older one's file in the HTTP
/// cache (its addresses are new).
#[cfg(target_arch = "wasm32")]
pub fn same_build_url(path: &str) -> Result<String, wasm_bindgen::JsValue> {
    use wasm_bindgen::JsCast;
    let scope: web_sys::WorkerGlobalScope = js_sys::global().dyn_into()?;
    let own = web_sys::Url::new(&scope.location().href())?;
    let url = web_sys::Url::new_with_base(path, &own.href())?;
    if let Some(version) = own.search_params().get("version") {
        url.search_params().set("version", &version);
    }
    Ok(url.href())
}
