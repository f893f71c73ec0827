//! The runs table ("Your runs"), rendered on its own: order, comparison, reading, deleting.

use std::cell::RefCell;
use std::rc::Rc;

use mnist_studio::model::NetworkKind;
use mnist_studio::runs::{CurvePoint, Ending, KeptRun};
use mnist_studio::train::{RunEnd, Schedule, TrainConfig};
use mnist_studio::ui::components::runs_panel::{RunsPanel, RunsPanelProps};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use yew::Callback;

use super::{count, root, text};

/// Run #`number`, started `number` minutes after the others' epoch, with `epochs` finished.
fn kept(number: u32, epochs: usize) -> KeptRun {
    KeptRun {
        id: format!("run{number}"),
        number,
        started: 1.8e12 + number as f64 * 60_000.0,
        seconds: 42.0,
        config: TrainConfig::new(NetworkKind::Linear, Schedule::constant(3, 0.1), false),
        ending: if epochs == 0 { Ending::Ended(RunEnd::Stopped { epoch: 0, step: 5 }) } else { Ending::Ended(RunEnd::Completed) },
        train_images: 500,
        held_out_images: 100,
        test_images: 100,
        // Each epoch better than the last: the last is the best, with a test figure.
        epochs: (0..epochs).map(|e| super::epoch(e, 0.8 + e as f32 / 100.0, e)).collect(),
        curve: (0..30).map(|i| CurvePoint { position: i as f32 / 10.0, loss: 1.0 / (i + 1) as f32, accuracy: 0.5 }).collect(),
        has_weights: epochs > 0,
    }
}

fn click(root: &web_sys::Element, selector: &str) {
    root.query_selector(selector).unwrap().unwrap_or_else(|| panic!("{selector} not rendered")).unchecked_into::<web_sys::HtmlElement>().click();
}

fn ticked(root: &web_sys::Element, id: &str) -> bool {
    let checkbox = root.query_selector(&format!("tr[data-run-id=\"{id}\"] .compare input")).unwrap().unwrap();
    js_sys::Reflect::get(&checkbox, &"checked".into()).unwrap().as_bool().unwrap()
}

#[wasm_bindgen_test]
async fn the_runs_table_lists_newest_first_compares_two_reads_and_deletes_after_a_second_click() {
    let (read, deleted) = (Rc::new(RefCell::new(Vec::<String>::new())), Rc::new(RefCell::new(Vec::<String>::new())));
    let props = RunsPanelProps {
        // In no particular order, as IndexedDB may give them.
        runs: Rc::new(vec![kept(1, 2), kept(3, 0), kept(2, 3)]),
        problem: None,
        on_read: Callback::from({
            let read = read.clone();
            move |id| read.borrow_mut().push(id)
        }),
        on_delete: Callback::from({
            let deleted = deleted.clone();
            move |id| deleted.borrow_mut().push(id)
        }),
    };
    let root = root();
    yew::Renderer::<RunsPanel>::with_root_and_props(root.clone(), props).render();
    super::rendered().await;

    let order: Vec<String> = (1..=3).map(|i| text(&root, &format!("#runs-table tbody tr:nth-child({i}) th"))).collect();
    assert_eq!(order, ["#3", "#2", "#1"], "newest first");
    let second = text(&root, "tr[data-run-id=\"run2\"]");
    assert!(second.contains("Linear") && second.contains("3 of 3") && second.contains("completed"), "{second}");
    assert!(second.contains("3: 82.00%") && second.contains("95.00%") && second.contains("42 s"), "{second}");
    // Its settings, what two runs compared differ in.
    let settings = text(&root, "tr[data-run-id=\"run2\"] .settings");
    assert_eq!(settings, "lr 3 @ 0.1 · batch 64 · all images · seed 42");
    // A run stopped before its first epoch has no weights to read with.
    let disabled = |id: &str| root.query_selector(&format!("tr[data-run-id=\"{id}\"] button.read")).unwrap().unwrap().has_attribute("disabled");
    assert!(disabled("run3") && !disabled("run2") && !disabled("run1"));
    assert!(text(&root, "tr[data-run-id=\"run3\"]").contains("stopped in epoch 1"));
    assert_eq!(count(&root, "#runs-charts"), 0, "nothing compared yet");

    // Two ticked: both runs on both charts, named in the legends.
    click(&root, "tr[data-run-id=\"run1\"] .compare input");
    super::rendered().await;
    assert_eq!(count(&root, "#runs-loss-chart .series"), 2, "one run: its curve and its held-out points");
    click(&root, "tr[data-run-id=\"run2\"] .compare input");
    super::rendered().await;
    for chart in ["#runs-loss-chart", "#runs-accuracy-chart"] {
        assert_eq!(count(&root, &format!("{chart} .series")), 4, "{chart}");
        let legend = text(&root, &format!("{chart} .legend"));
        assert!(legend.contains("#1 Linear, 2 epochs · train") && legend.contains("#2 Linear, 3 epochs · validation"), "{legend}");
    }
    // A third replaces the first chosen.
    click(&root, "tr[data-run-id=\"run3\"] .compare input");
    super::rendered().await;
    assert_eq!([ticked(&root, "run1"), ticked(&root, "run2"), ticked(&root, "run3")], [false, true, true]);
    let legend = text(&root, "#runs-loss-chart .legend");
    assert!(!legend.contains("#1 ") && legend.contains("#2 Linear") && legend.contains("#3 Linear, 0 epochs"), "{legend}");

    click(&root, "tr[data-run-id=\"run1\"] button.read");
    assert_eq!(*read.borrow(), ["run1"]);

    // Delete asks once more before it calls back.
    click(&root, "tr[data-run-id=\"run2\"] button.delete");
    super::rendered().await;
    assert!(deleted.borrow().is_empty(), "one click deletes nothing");
    assert_eq!(text(&root, "tr[data-run-id=\"run2\"] button.delete"), "Really delete?");
    click(&root, "tr[data-run-id=\"run2\"] button.delete");
    super::rendered().await;
    assert_eq!(*deleted.borrow(), ["run2"]);
    root.remove();
}

#[wasm_bindgen_test]
async fn without_runs_the_panel_says_what_will_be_kept_and_shows_a_problem() {
    let props = RunsPanelProps {
        runs: Rc::new(Vec::new()),
        problem: Some("Runs cannot be kept in this browser: IndexedDB is not available.".into()),
        on_read: Callback::noop(),
        on_delete: Callback::noop(),
    };
    let root = root();
    yew::Renderer::<RunsPanel>::with_root_and_props(root.clone(), props).render();
    super::rendered().await;
    assert_eq!(count(&root, "#runs-table"), 0);
    assert!(text(&root, "#runs-empty").contains("No run kept yet"));
    assert!(text(&root, "#runs-problem").contains("IndexedDB is not available"));
    root.remove();
}

/// A kept run is stored in IndexedDB and posted to the page as a structured clone of what
/// serde_wasm_bindgen makes of it: a diverged run's NaN loss must survive that (JSON would
/// turn it into null, and the record would no longer read).
#[wasm_bindgen_test]
async fn a_diverged_kept_run_survives_the_structured_clone_that_stores_and_posts_it() {
    let mut run = kept(4, 2);
    run.ending = Ending::Ended(RunEnd::Diverged { epoch: 2, step: 7, loss: f32::NAN });
    let value = serde_wasm_bindgen::to_value(&run).unwrap();
    let clone: js_sys::Function = js_sys::Reflect::get(&js_sys::global(), &"structuredClone".into()).unwrap().unchecked_into();
    let back: KeptRun = serde_wasm_bindgen::from_value(clone.call1(&wasm_bindgen::JsValue::NULL, &value).unwrap()).unwrap();
    assert!(matches!(back.ending, Ending::Ended(RunEnd::Diverged { epoch: 2, step: 7, loss }) if loss.is_nan()), "{:?}", back.ending);
    // Everything else comes back as it went (the ending set aside: NaN equals nothing).
    let without_ending = |r: KeptRun| KeptRun { ending: Ending::Failed(String::new()), ..r };
    assert!(without_ending(back) == without_ending(run), "the rest of the run changed on the way");
}
