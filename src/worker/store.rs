//! The user's trained weights in IndexedDB, so they survive a reload. Used from the worker
//! (IndexedDB is available there); what comes back is untrusted bytes, checked by
//! [`crate::weights`] like any uploaded file.

use js_sys::{Array, Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{IdbDatabase, IdbRequest, IdbTransaction, IdbTransactionMode, WorkerGlobalScope};

use std::cell::RefCell;
use std::rc::Rc;

use super::keeping::{lock_name, may_replace, Owner};
use crate::data::fetch::describe;

const DB: &str = "mnist-studio";
const STORE: &str = "weights";
/// The one entry kept: the best weights of the latest run (or the latest file loaded).
pub const BEST: &str = "best";
/// Beside it, who wrote it ([`Owner`], JSON): absent in stores written before two tabs were
/// told apart, which any run may replace.
const BEST_OWNER: &str = "best-owner";

/// Wait for an IndexedDB request's success or error.
pub(super) async fn settle(request: &IdbRequest) -> Result<JsValue, String> {
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
        told(request.error().ok().flatten(), "IndexedDB request failed")
    })?;
    request.result().map_err(|e| describe(&e))
}

/// What IndexedDB said went wrong ("QuotaExceededError: ..."), or `otherwise` if it said
/// nothing.
fn told(error: Option<web_sys::DomException>, otherwise: &str) -> String {
    error.map_or(otherwise.into(), |e| format!("{}: {}", e.name(), e.message()))
}

/// Version 2 added the kept runs' two stores (`run_log`); the upgrade creates only the
/// stores a database of that age lacks, so a first visit's and an earlier visit's data alike
/// survive it.
const VERSION: u32 = 2;

/// How long opening the database may take. An open waits, without end and without a word,
/// while another tab holds a connection at an older version (an older build of the app left
/// open, which does not close when asked), and some browsers have left it pending forever:
/// every save would then hang, and with it the run's wrap-up, which keeps Start disabled.
const OPEN_TIMEOUT_MS: i32 = 10_000;

/// How an open request ended, as the promise in [`open`] settles.
const OPENED: u32 = 0;
const FAILED: u32 = 1;
const BLOCKED: u32 = 2;
const TIMED_OUT: u32 = 3;

thread_local! {
    /// An open given up (blocked, or timed out: [`BLOCKED`], [`TIMED_OUT`]) is still pending:
    /// until it settles, a new open would only queue behind it (the browser opens one
    /// database's requests in order) and wait as long, so it fails at once, for the same reason.
    static STILL_PENDING: std::cell::Cell<Option<u32>> = const { std::cell::Cell::new(None) };
}

/// Why an open was given up, for the user.
fn given_up(how: u32) -> String {
    match how {
        BLOCKED => "another tab of this site (an older version of MNIST Studio) holds the browser's storage open: close it and reload".into(),
        _ => format!("the browser's storage did not open within {} s", OPEN_TIMEOUT_MS / 1000),
    }
}

async fn open() -> Result<IdbDatabase, String> {
    if let Some(how) = STILL_PENDING.get() {
        return Err(given_up(how));
    }
    let scope: WorkerGlobalScope = js_sys::global().unchecked_into();
    let factory = scope.indexed_db().map_err(|e| describe(&e))?.ok_or("IndexedDB is not available")?;
    let request = factory.open_with_u32(DB, VERSION).map_err(|e| describe(&e))?;
    let upgrade = Closure::<dyn FnMut(web_sys::IdbVersionChangeEvent)>::new(move |event: web_sys::IdbVersionChangeEvent| {
        let db: Option<IdbDatabase> = event
            .target()
            .and_then(|t| t.dyn_into::<IdbRequest>().ok())
            .and_then(|r| r.result().ok())
            .and_then(|r| r.dyn_into().ok());
        if let Some(db) = db {
            let old = event.old_version() as u32;
            if old < 1 {
                let _ = db.create_object_store(STORE);
            }
            if old < 2 {
                for store in super::run_log::STORES {
                    let _ = db.create_object_store(store);
                }
            }
        }
    });
    request.set_onupgradeneeded(Some(upgrade.as_ref().unchecked_ref()));
    // One handler per way the open can end, each settling one promise; held here, and dropped
    // once it has (each open used to leak the three that were never called).
    let (ended, resolve) = {
        let mut resolve = None;
        let ended = Promise::new(&mut |r, _| resolve = Some(r));
        (ended, resolve.expect("a promise's executor runs at once"))
    };
    let end_with = |how: u32| {
        let resolve = resolve.clone();
        Closure::<dyn FnMut()>::new(move || {
            let _ = resolve.call1(&JsValue::UNDEFINED, &how.into());
        })
    };
    let handlers = [end_with(OPENED), end_with(FAILED), end_with(BLOCKED), end_with(TIMED_OUT)];
    request.set_onsuccess(Some(handlers[0].as_ref().unchecked_ref()));
    request.set_onerror(Some(handlers[1].as_ref().unchecked_ref()));
    request.set_onblocked(Some(handlers[2].as_ref().unchecked_ref()));
    let timer = scope.set_timeout_with_callback_and_timeout_and_arguments_0(handlers[3].as_ref().unchecked_ref(), OPEN_TIMEOUT_MS).ok();
    let how = JsFuture::from(ended).await.ok().and_then(|v| v.as_f64()).map_or(FAILED, |v| v as u32);
    if let Some(timer) = timer {
        scope.clear_timeout_with_handle(timer);
    }
    request.set_onblocked(None);
    request.set_onsuccess(None);
    request.set_onerror(None);
    drop(handlers);
    match how {
        OPENED => {
            drop(upgrade);
            request.result().map_err(|e| describe(&e))?.dyn_into().map_err(|_| "IndexedDB gave something other than a database".into())
        }
        FAILED => Err(told(request.error().ok().flatten(), "IndexedDB could not be opened")),
        // Given up, but the request may still open the database later (once the other tab
        // closes): the upgrade must still find its handler, and the connection is closed at
        // once, as every other is, so that it holds up no one.
        how => {
            STILL_PENDING.set(Some(how));
            upgrade.forget();
            let late = request.clone();
            let close = Closure::once_into_js(move || {
                if let Ok(db) = late.result().and_then(|r| r.dyn_into::<IdbDatabase>()) {
                    db.close();
                }
                STILL_PENDING.set(None);
            });
            let failed = Closure::once_into_js(move || STILL_PENDING.set(None));
            request.set_onsuccess(Some(close.unchecked_ref()));
            request.set_onerror(Some(failed.unchecked_ref()));
            Err(given_up(how))
        }
    }
}

/// A transaction over `stores`. The connection is closed at once: it stays usable until this
/// transaction has finished, and an open one would hold up another tab's upgrade to a later
/// version of the database.
pub(super) async fn transaction(stores: &[&str], mode: IdbTransactionMode) -> Result<IdbTransaction, String> {
    let db = open().await?;
    let names: Array = stores.iter().map(|s| JsValue::from(*s)).collect();
    let tx = db.transaction_with_str_sequence_and_mode(&names, mode).map_err(|e| describe(&e))?;
    db.close();
    Ok(tx)
}

/// Wait until `tx` commits; an error aborts it, and by then `tx.error` says what it was
/// (quota, say).
pub(super) async fn committed(tx: &IdbTransaction) -> Result<(), String> {
    let done = Promise::new(&mut |resolve, reject| {
        tx.set_oncomplete(Some(&resolve));
        tx.set_onabort(Some(&reject));
    });
    JsFuture::from(done).await.map(|_| ()).map_err(|_| told(tx.error(), "the IndexedDB transaction failed"))
}

/// What [`put_best`] did.
pub enum Kept {
    Written,
    /// Not written: a run still training in another tab keeps its network (`keeping`).
    Theirs(Owner),
}

/// Write `bytes` as the kept network unless [`may_replace`] says no. The owner is read and
/// both entries written in one read-write transaction, so two tabs cannot interleave. The
/// decision and the writes happen inside the read's success event: after it, with no request
/// pending, IndexedDB commits the transaction (an `await` in between is too late). `running`
/// (the Web Locks held now) is therefore asked before.
pub async fn put_best(bytes: &[u8], ours: &Owner, running: Vec<String>) -> Result<Kept, String> {
    let tx = transaction(&[STORE], IdbTransactionMode::Readwrite).await?;
    let store = tx.object_store(STORE).map_err(|e| describe(&e))?;
    let read = store.get(&BEST_OWNER.into()).map_err(|e| describe(&e))?;
    let outcome: Rc<RefCell<Option<Result<Kept, String>>>> = Rc::default();
    let on_read = {
        let (read, outcome, ours) = (read.clone(), outcome.clone(), ours.clone());
        let (value, owner) = (Uint8Array::from(bytes), serde_json::to_string(&ours).map_err(|e| e.to_string())?);
        Closure::once(move || {
            // Unreadable or foreign: treated as no owner, as a store from before owners was.
            let stored: Option<Owner> = read.result().ok().and_then(|v| v.as_string()).and_then(|json| serde_json::from_str(&json).ok());
            let result = match stored {
                Some(theirs) if !may_replace(Some(&theirs), &ours, |id| running.contains(&lock_name(id))) => Ok(Kept::Theirs(theirs)),
                _ => store
                    .put_with_key(&value, &BEST.into())
                    .and_then(|_| store.put_with_key(&owner.into(), &BEST_OWNER.into()))
                    .map(|_| Kept::Written)
                    .map_err(|e| describe(&e)),
            };
            *outcome.borrow_mut() = Some(result);
        })
    };
    read.set_onsuccess(Some(on_read.as_ref().unchecked_ref()));
    committed(&tx).await?;
    drop(on_read);
    outcome.take().unwrap_or_else(|| Err("IndexedDB never answered the read".into()))
}

pub async fn get(key: &str) -> Result<Option<Vec<u8>>, ReadError> {
    get_from(STORE, key).await
}

/// Why an entry could not be read.
#[derive(Debug, Clone, PartialEq)]
pub enum ReadError {
    /// IndexedDB could not be opened or read (storage turned off, private windows of some
    /// browsers, another tab upgrading the database): it may hold nothing.
    Unavailable(String),
    /// The entry is there but holds something other than bytes (altered by hand, say): what
    /// was kept is lost.
    NotBytes,
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unavailable(e) => f.write_str(e),
            Self::NotBytes => f.write_str("the stored weights are not bytes"),
        }
    }
}

impl From<ReadError> for String {
    fn from(e: ReadError) -> Self {
        e.to_string()
    }
}

/// The bytes under `key` in `store`, if any.
pub(super) async fn get_from(store: &str, key: &str) -> Result<Option<Vec<u8>>, ReadError> {
    let value = async {
        let tx = transaction(&[store], IdbTransactionMode::Readonly).await?;
        let store = tx.object_store(store).map_err(|e| describe(&e))?;
        let request = store.get(&key.into()).map_err(|e| describe(&e))?;
        settle(&request).await
    }
    .await
    .map_err(ReadError::Unavailable)?;
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    value.dyn_into::<Uint8Array>().map(|array| Some(array.to_vec())).map_err(|_| ReadError::NotBytes)
}
