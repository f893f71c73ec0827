//! What GPU the browser offers: a direct look at `navigator.gpu`, for a clear message when
//! there is none, the adapter's name, and whether it is a software one. Plain JavaScript
//! calls, so both worker builds look (the threaded one cannot create a WebGPU device, but
//! says what it found, as the single-threaded one does). `www/boot.js` makes the same
//! test before any worker starts, to pick the first trainer.

use js_sys::Reflect;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::protocol::GpuInfo;
use crate::data::fetch::describe;

/// How long the browser may take to answer for its adapter: one that never answers must
/// not hold a trainer (`www/boot.js` gives up after as long).
const PATIENCE_MS: u32 = 3_000;

/// Ask the browser for an adapter and describe it.
pub async fn probe() -> Result<GpuInfo, String> {
    let look = std::pin::pin!(look());
    let late = std::pin::pin!(gloo::timers::future::TimeoutFuture::new(PATIENCE_MS));
    match futures::future::select(look, late).await {
        futures::future::Either::Left((found, _)) => found,
        futures::future::Either::Right(_) => Err(format!("WebGPU did not say within {} s whether there is a GPU adapter.", PATIENCE_MS / 1000)),
    }
}

async fn look() -> Result<GpuInfo, String> {
    let navigator = Reflect::get(&js_sys::global(), &"navigator".into()).map_err(|e| describe(&e))?;
    let gpu = Reflect::get(&navigator, &"gpu".into()).unwrap_or(JsValue::UNDEFINED);
    if gpu.is_undefined() || gpu.is_null() {
        return Err("WebGPU is not available in this browser (navigator.gpu is missing).".into());
    }
    let request: js_sys::Function = Reflect::get(&gpu, &"requestAdapter".into())
        .map_err(|e| describe(&e))?
        .dyn_into()
        .map_err(|_| "navigator.gpu.requestAdapter is not a function".to_owned())?;
    let promise: js_sys::Promise = request.call0(&gpu).map_err(|e| describe(&e))?.unchecked_into();
    let adapter = JsFuture::from(promise).await.map_err(|e| describe(&e))?;
    if adapter.is_null() || adapter.is_undefined() {
        return Err("WebGPU is present but no GPU adapter is available (blocked or unsupported GPU).".into());
    }
    let info = Reflect::get(&adapter, &"info".into()).unwrap_or(JsValue::UNDEFINED);
    let text = |object: &JsValue, key: &str| {
        Reflect::get(object, &key.into()).ok().and_then(|v| v.as_string()).unwrap_or_default()
    };
    // Chrome moved isFallbackAdapter from the adapter to its info; read either.
    let fallback = [&info, &adapter]
        .iter()
        .any(|o| Reflect::get(o, &"isFallbackAdapter".into()).map(|v| v.is_truthy()).unwrap_or(false));
    Ok(GpuInfo {
        vendor: text(&info, "vendor"),
        architecture: text(&info, "architecture"),
        description: text(&info, "description"),
        fallback,
    })
}
