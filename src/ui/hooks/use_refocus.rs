//! `use_refocus`: give the keyboard's focus back to a select once the change it made is done.

use std::cell::Cell;
use std::rc::Rc;

use yew::prelude::*;

/// A select whose change replaces the worker is disabled until the new one is ready (and
/// again while it reloads the dataset), which takes the keyboard's focus from it: given back
/// each time it is enabled within [`WITHIN_MS`] of its change (the returned mark, set by its
/// change), so a keyboard user goes on from where they were. Only while nothing else holds
/// the focus, and not once the user has left the select ([`Refocus::left`]): it is never
/// taken from where the user has moved it.
#[hook]
pub fn use_refocus(select: &NodeRef, locked: bool) -> Refocus {
    let changed = use_memo((), |_| Refocus(Rc::new(Cell::new(None))));
    {
        let (select, changed) = (select.clone(), changed.clone());
        use_effect_with(locked, move |&locked| {
            let recent = changed.0.get().is_some_and(|at| js_sys::Date::now() - at < WITHIN_MS);
            if !locked && recent && focus_is_lost()
                && let Some(select) = select.cast::<web_sys::HtmlElement>()
            {
                let _ = select.focus();
            }
        });
    }
    (*changed).clone()
}

/// How long after a change its select takes the focus back when it is enabled: the worker's
/// replacement and the dataset's reload from the browser's cache take a few seconds.
const WITHIN_MS: f64 = 30_000.0;

/// When the select was last changed by the user.
#[derive(Clone)]
pub struct Refocus(Rc<Cell<Option<f64>>>);

impl Refocus {
    /// Its select was changed now.
    pub fn changed(&self) {
        self.0.set(Some(js_sys::Date::now()));
    }

    /// For the select's `blur`: a select left while it is enabled was left by the user (a
    /// disabled one loses the focus by itself), who is not brought back to it.
    pub fn left(&self) -> Callback<FocusEvent> {
        let mark = self.0.clone();
        Callback::from(move |e: FocusEvent| {
            if !e.target_unchecked_into::<web_sys::HtmlSelectElement>().disabled() {
                mark.set(None);
            }
        })
    }
}

/// Whether the keyboard's focus is on nothing in particular (the document's body).
fn focus_is_lost() -> bool {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else { return false };
    match (document.active_element(), document.body()) {
        (None, _) => true,
        (Some(active), Some(body)) => active == *body.as_ref(),
        (Some(_), None) => false,
    }
}

