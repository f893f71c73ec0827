//! The user's trained weights in IndexedDB, so they survive a reload. Used from the worker
//! (IndexedDB is available there); what comes back is untrusted bytes, checked by
//! [`crate::weights`] like any uploaded file.

use js_sys::{Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{IdbDatabase, IdbRequest, IdbTransactionMode, WorkerGlobalScope};

use crate::data::fetch::describe;

const DB: &str = "mnist-studio";
const STORE: &str = "weights";
/// The one entry kept: the best weights of the latest run (or the latest file loaded).
pub const BEST: &str = "best";

/// Wait for an IndexedDB request's success or error.
async fn settle(request: &IdbRequest) -> Result<JsValue, String> {
    let promise = Promise::new(&mut |resolve, reject| {
        let ok = Closure::once_into_js(move || {
            let _ = resolve.call0(&JsValue::UNDEFINED);
        });
        let fail = Closure::once_into_js(move || {
            let _ = reject.call0(&JsValue::UNDEFINED);
        });
        request.set_onsuccess(Some(ok.unchecked_ref()));
        request.set_onerror(Some(fail.unchecked_ref()));
    });
    JsFuture::from(promise).await.map_err(|_| {
        request.error().ok().flatten().map_or("IndexedDB request failed".into(), |e| format!("{}: {}", e.name(), e.message()))
    })?;
    request.result().map_err(|e| describe(&e))
}

async fn open() -> Result<IdbDatabase, String> {
    let scope: WorkerGlobalScope = js_sys::global().unchecked_into();
    let factory = scope.indexed_db().map_err(|e| describe(&e))?.ok_or("IndexedDB is not available")?;
    let request = factory.open_with_u32(DB, 1).map_err(|e| describe(&e))?;
    let upgrade = Closure::<dyn FnMut(web_sys::IdbVersionChangeEvent)>::new(move |event: web_sys::IdbVersionChangeEvent| {
        let db: Option<IdbDatabase> = event
            .target()
            .and_then(|t| t.dyn_into::<IdbRequest>().ok())
            .and_then(|r| r.result().ok())
            .and_then(|r| r.dyn_into().ok());
        if let Some(db) = db {
            let _ = db.create_object_store(STORE);
        }
    });
    request.set_onupgradeneeded(Some(upgrade.as_ref().unchecked_ref()));
    let db = settle(&request).await?;
    drop(upgrade);
    db.dyn_into().map_err(|_| "IndexedDB gave something other than a database".into())
}

pub async fn put(key: &str, bytes: &[u8]) -> Result<(), String> {
    let db = open().await?;
    let tx = db.transaction_with_str_and_mode(STORE, IdbTransactionMode::Readwrite).map_err(|e| describe(&e))?;
    let store = tx.object_store(STORE).map_err(|e| describe(&e))?;
    let value = Uint8Array::from(bytes);
    let request = store.put_with_key(&value, &key.into()).map_err(|e| describe(&e))?;
    settle(&request).await.map(|_| ())
}

pub async fn get(key: &str) -> Result<Option<Vec<u8>>, String> {
    let db = open().await?;
    let tx = db.transaction_with_str(STORE).map_err(|e| describe(&e))?;
    let store = tx.object_store(STORE).map_err(|e| describe(&e))?;
    let request = store.get(&key.into()).map_err(|e| describe(&e))?;
    let value = settle(&request).await?;
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    match value.dyn_into::<Uint8Array>() {
        Ok(array) => Ok(Some(array.to_vec())),
        Err(_) => Err("the stored weights are not bytes".into()),
    }
}
