//! Web Locks (`navigator.locks`, in workers too), reached by reflection so no web-sys
//! feature (and no rebuild of the crates that depend on web-sys) is needed. Where a browser
//! has no Web Locks, nothing is held and nothing is seen held: two tabs then fall back to
//! "the latest run wins" (`keeping`).

use js_sys::{Array, Function, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

/// A lock held until this is dropped.
pub struct Held {
    release: Function,
}

impl Drop for Held {
    fn drop(&mut self) {
        let _ = self.release.call0(&JsValue::UNDEFINED);
    }
}

fn manager() -> Option<JsValue> {
    let navigator = Reflect::get(&js_sys::global(), &"navigator".into()).ok()?;
    let locks = Reflect::get(&navigator, &"locks".into()).ok()?;
    (!locks.is_undefined() && !locks.is_null()).then_some(locks)
}

fn method(target: &JsValue, name: &str) -> Option<Function> {
    Reflect::get(target, &name.into()).ok()?.dyn_into().ok()
}

/// Ask for the lock `name` and keep it until the returned guard is dropped. The request is
/// granted at once for a name nobody holds (each run's name is its own).
pub fn hold(name: &str) -> Option<Held> {
    let locks = manager()?;
    let request = method(&locks, "request")?;
    let mut release = None;
    let until = Promise::new(&mut |resolve, _| release = Some(resolve));
    // The lock is held for as long as the promise its callback returns is pending.
    let callback = Closure::once_into_js(move |_lock: JsValue| -> JsValue { until.into() });
    request.call2(&locks, &name.into(), &callback).ok()?;
    Some(Held { release: release? })
}

/// The names of the locks held now, in any tab of this origin.
pub async fn held() -> Vec<String> {
    let Some(locks) = manager() else { return Vec::new() };
    let Some(query) = method(&locks, "query") else { return Vec::new() };
    let Ok(promise) = query.call0(&locks).and_then(|p| p.dyn_into::<Promise>().map_err(JsValue::from)) else { return Vec::new() };
    let Ok(snapshot) = JsFuture::from(promise).await else { return Vec::new() };
    let held: Array = Reflect::get(&snapshot, &"held".into()).ok().and_then(|h| h.dyn_into().ok()).unwrap_or_default();
    held.iter().filter_map(|lock| Reflect::get(&lock, &"name".into()).ok()?.as_string()).collect()
}
