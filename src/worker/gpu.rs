//! Finding the GPU: a direct look at `navigator.gpu` (for a clear message when there is
//! none, and the adapter's name), then burn's WebGPU device.

use burn::prelude::*;
use burn::tensor::wgpu::WgpuBackend;
use js_sys::Reflect;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::protocol::GpuInfo;
use crate::data::fetch::describe;

/// Ask the browser for an adapter and describe it.
pub async fn probe() -> Result<GpuInfo, String> {
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

thread_local! {
    /// The wgpu device under burn's, kept to simulate a GPU loss in tests.
    static RAW: std::cell::RefCell<Option<burn::tensor::wgpu::wgpu::Device>> = const { std::cell::RefCell::new(None) };
}

/// Destroy the WebGPU device, as a driver reset would: every later operation on it fails.
/// Returns whether there was one.
pub fn lose_device() -> bool {
    RAW.with_borrow(|raw| raw.as_ref().map(|d| d.destroy()).is_some())
}

/// burn's WebGPU device, with autodiff for training: created once per page or worker, then
/// shared (burn refuses a second initialisation, so concurrent callers wait for the first).
///
/// The graphics API is named explicitly: the options' default device is not the one
/// `Device::default()` would create, and creating a second one lazily panics on wasm.
pub async fn init_device() -> Result<Device, String> {
    crate::platform::run_static_constructors();
    enum State {
        Empty,
        Starting,
        Done(Result<Device, String>),
    }
    thread_local! {
        static STATE: std::cell::RefCell<State> = const { std::cell::RefCell::new(State::Empty) };
    }
    loop {
        let first = STATE.with_borrow_mut(|state| match state {
            State::Done(result) => Some(Some(result.clone())),
            State::Starting => Some(None),
            State::Empty => {
                *state = State::Starting;
                None
            }
        });
        match first {
            Some(Some(result)) => return result,
            Some(None) => gloo::timers::future::TimeoutFuture::new(20).await,
            None => {
                let result = Device::wgpu_options()
                    .graphics_api(WgpuBackend::WebGpu)
                    .init_with_setup_async()
                    .await
                    .map(|(device, setup)| {
                        RAW.with_borrow_mut(|raw| *raw = Some(setup.device));
                        device.autodiff()
                    })
                    .map_err(|e| format!("could not start burn's WebGPU device: {e:?}"));
                STATE.with_borrow_mut(|state| *state = State::Done(result.clone()));
                return result;
            }
        }
    }
}
