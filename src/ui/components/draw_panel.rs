//! Draw a digit and watch the network read it: pointer input (mouse, touch, pen), Undo and
//! Clear, the 28x28 image the network actually sees, and the ten probabilities.

use std::rc::Rc;

use gloo::render::{request_animation_frame, AnimationFrame};
use wasm_bindgen::JsCast;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement};
use yew::prelude::*;

use super::digit::paint;
use crate::draw::reading::read;
use crate::draw::{ink_extent, preprocess, Ink};
use crate::format::percent;
use crate::ui::state::ReaderStatus;

/// The drawing surface's resolution; CSS scales it to the layout.
const SIZE: f64 = 280.0;
/// At 10x MNIST's scale, a pen this wide gives strokes as thick as MNIST's (2-3 pixels).
const PEN: f64 = 22.0;
/// Ink that fits in a square this wide is a dot, not a digit: a digit drawn even small spans
/// more than one and a half widths of the pen. (Scaled to MNIST's 20x20 box, a dot reads as
/// a confident 0.)
const DOT: f64 = 1.5 * PEN;

type Stroke = Vec<(f64, f64)>;

#[derive(Properties, PartialEq)]
pub struct DrawPanelProps {
    pub reader: ReaderStatus,
    /// Latest probabilities and the id of the drawing they answer.
    pub prediction: Option<(u32, Rc<Vec<f32>>)>,
    /// How unlike every digit the drawing is, over the detector's threshold (see
    /// `WorkerOutput::Prediction`).
    #[prop_or_default]
    pub strangeness: Option<f32>,
    /// Ask the worker to read 784 preprocessed pixels.
    pub on_read: Callback<(u32, Vec<f32>)>,
    pub on_clear: Callback<()>,
    /// The weights controls, shown under the drawing.
    #[prop_or_default]
    pub children: Html,
}

#[derive(Default)]
struct Pad {
    strokes: Vec<Stroke>,
    /// The pointer drawing the last stroke, while it is down. One pointer draws at a time: a
    /// second finger or a palm resting on a touch screen is ignored, rather than drawing zigzags
    /// between the two into one stroke.
    pen: Option<i32>,
    /// `pen`'s pointer type ("touch": a finger, or a palm; "pen": a stylus; "mouse").
    pen_type: String,
    /// When a stylus was last seen on or over the pad, on the page's clock: a touch within
    /// PEN_NEAR_MS of it is the writing hand's palm, not a finger drawing.
    pen_seen_ms: Option<f64>,
    /// Id of the last drawing sent to be read.
    sent: u32,
    /// Whether a reading has been asked for since the pad was last cleared: when the drawing
    /// turns into something that is not read (a dot, nothing), the page forgets that reading.
    read: bool,
    frame: Option<AnimationFrame>,
}

/// How long after a stylus was last seen (drawing, or hovering, which a pen reports as moves
/// with nothing pressed) a touch is taken for the palm of the hand holding it. A finger draws
/// again once the pen has been away this long.
const PEN_NEAR_MS: f64 = 1500.0;

impl Pad {
    /// Note a stylus's event (down, move or hover, up): touches near it are a palm's.
    fn saw(&mut self, e: &PointerEvent) {
        if e.pointer_type() == "pen" {
            self.pen_seen_ms = Some(crate::platform::now_ms());
        }
    }

    /// Whether a stylus was seen within PEN_NEAR_MS.
    fn stylus_near(&self) -> bool {
        self.pen_seen_ms.is_some_and(|seen| crate::platform::now_ms() - seen < PEN_NEAR_MS)
    }

    /// Whether the stroke in progress is a touch's.
    fn touch_draws(&self) -> bool {
        self.pen.is_some() && self.pen_type == "touch"
    }
}

#[component]
pub fn DrawPanel(props: &DrawPanelProps) -> Html {
    let canvas = use_node_ref();
    let preview = use_node_ref();
    let pad = use_mut_ref(Pad::default);
    let empty = use_state(|| true);
    let dot = use_state(|| false);

    // Read the drawing at most once per animation frame, however fast the pointer moves.
    let schedule_read = {
        let (canvas, preview, pad, on_read, on_clear, empty, dot) =
            (canvas.clone(), preview.clone(), pad.clone(), props.on_read.clone(), props.on_clear.clone(), empty.clone(), dot.clone());
        Rc::new(move || {
            if pad.borrow().frame.is_some() {
                return;
            }
            let (canvas, preview, pad2, on_read, on_clear, empty, dot) =
                (canvas.clone(), preview.clone(), pad.clone(), on_read.clone(), on_clear.clone(), empty.clone(), dot.clone());
            let frame = request_animation_frame(move |_| {
                pad2.borrow_mut().frame = None;
                let Some(canvas) = canvas.cast::<HtmlCanvasElement>() else { return };
                let ink = ink_of(&canvas);
                let ink = ink.as_ref().map(|ink| Ink { width: SIZE as usize, height: SIZE as usize, pixels: ink });
                let pixels = ink.as_ref().and_then(preprocess);
                let is_dot = ink.as_ref().and_then(ink_extent).is_some_and(|side| (side as f64) < DOT);
                empty.set(pixels.is_none());
                dot.set(is_dot);
                if pixels.is_none() || is_dot {
                    blank(&preview);
                    // What the page showed for the drawing before it became a dot (Undo, say)
                    // no longer answers it: the reading and the inside view go.
                    if std::mem::take(&mut pad2.borrow_mut().read) {
                        on_clear.emit(());
                    }
                }
                if let Some(pixels) = pixels.filter(|_| !is_dot) {
                    if let Some(preview) = preview.cast::<HtmlCanvasElement>() {
                        let bytes: Vec<u8> = pixels.iter().map(|p| (p * 255.0).round() as u8).collect();
                        paint(&preview, &bytes);
                    }
                    let id = {
                        let mut pad = pad2.borrow_mut();
                        pad.sent += 1;
                        pad.read = true;
                        pad.sent
                    };
                    on_read.emit((id, pixels));
                }
            });
            pad.borrow_mut().frame = Some(frame);
        })
    };

    // Yew delegates events to the document, so `current_target` is not the canvas: measure
    // the canvas itself. Its drawing surface is inside its border (the bounding box is not),
    // and a pen's or a finger's position has fractions of a pixel (web-sys's `client_x` is
    // an integer), so both are read as they are.
    let point = {
        let canvas = canvas.clone();
        move |e: &web_sys::MouseEvent| -> Option<(f64, f64)> {
            let canvas = canvas.cast::<HtmlCanvasElement>()?;
            let rect = canvas.get_bounding_client_rect();
            let client = |axis: &str, whole: i32| js_sys::Reflect::get(e, &axis.into()).ok().and_then(|v| v.as_f64()).unwrap_or(whole as f64);
            let (x, y) = (client("clientX", e.client_x()), client("clientY", e.client_y()));
            let (width, height) = (f64::from(canvas.client_width()), f64::from(canvas.client_height()));
            Some((
                (x - rect.left() - f64::from(canvas.client_left())) / width.max(1.0) * SIZE,
                (y - rect.top() - f64::from(canvas.client_top())) / height.max(1.0) * SIZE,
            ))
        }
    };

    let onpointerdown = {
        let (pad, canvas, schedule_read, point) = (pad.clone(), canvas.clone(), schedule_read.clone(), point.clone());
        Callback::from(move |e: PointerEvent| {
            e.prevent_default();
            // The main button only (a mouse's left, a finger, a pen's tip): a right click or a
            // pen's eraser draws nothing. While a pointer draws, only a new primary one (the
            // mouse, a first finger: the other's end was missed) takes over.
            if e.button() != 0 || (pad.borrow().pen.is_some() && !e.is_primary()) {
                return;
            }
            // A palm: a hand writing with a stylus rests on the screen, before the pen touches
            // or while it writes. Its touches draw nothing near a pen, and a touch's stroke in
            // progress when the pen comes down was the palm's: it goes.
            match e.pointer_type().as_str() {
                "touch" => {
                    let pad = pad.borrow();
                    // A stylus drawing (held still it sends nothing), or one seen lately.
                    let stylus_down = pad.pen.is_some() && pad.pen_type == "pen";
                    if stylus_down || pad.stylus_near() {
                        return;
                    }
                }
                "pen" => {
                    let mut pad = pad.borrow_mut();
                    pad.saw(&e);
                    if pad.touch_draws() {
                        pad.strokes.pop();
                        pad.pen = None;
                    }
                }
                _ => {}
            }
            // Keep receiving the stroke when the pointer leaves the canvas mid-stroke.
            if let Some(target) = canvas.cast::<web_sys::Element>() {
                let _ = target.set_pointer_capture(e.pointer_id());
            }
            let Some(p) = point(&e) else { return };
            {
                let mut pad = pad.borrow_mut();
                pad.pen = Some(e.pointer_id());
                pad.pen_type = e.pointer_type();
                pad.strokes.push(vec![p]);
            }
            redraw(&canvas, &pad.borrow().strokes);
            schedule_read();
        })
    };
    let onpointermove = {
        let (pad, canvas, schedule_read) = (pad.clone(), canvas.clone(), schedule_read.clone());
        let point = point.clone();
        Callback::from(move |e: PointerEvent| {
            pad.borrow_mut().saw(&e);
            if pad.borrow().pen != Some(e.pointer_id()) {
                return;
            }
            // No longer pressed, though its end was not heard (released outside the page
            // where the capture failed): the stroke ended, and hovering draws nothing.
            if e.buttons() & 1 == 0 {
                pad.borrow_mut().pen = None;
                return;
            }
            // Every position the pointer passed since the last event: a browser hands the
            // page one move per frame, and a quick 0 drawn from those alone is a polygon.
            let points: Vec<(f64, f64)> = coalesced(&e).iter().filter_map(&point).collect();
            let drawn = {
                let mut pad = pad.borrow_mut();
                match pad.strokes.last_mut() {
                    Some(stroke) => {
                        let last = stroke.last().copied();
                        stroke.extend_from_slice(&points);
                        last.into_iter().chain(points).collect::<Vec<_>>()
                    }
                    // The stroke was taken away under the pen (Undo or Clear mid-stroke): it
                    // ends there; the next touch starts a new one.
                    None => {
                        pad.pen = None;
                        return;
                    }
                }
            };
            if let Some(ctx) = context(&canvas) {
                if drawn.len() > 1 {
                    segment(&ctx, &drawn);
                }
            }
            schedule_read();
        })
    };
    // The stroke ends when its pointer lifts, is cancelled (the browser took the touch for a
    // gesture) or loses its capture without either (a context menu opening mid-stroke).
    let onpointerup = {
        let (pad, schedule_read) = (pad.clone(), schedule_read.clone());
        Callback::from(move |e: PointerEvent| {
            let mut pad_ref = pad.borrow_mut();
            pad_ref.saw(&e);
            if pad_ref.pen == Some(e.pointer_id()) {
                pad_ref.pen = None;
                drop(pad_ref);
                schedule_read();
            }
        })
    };
    // The last stroke taken away (Undo, a palm's cancelled touch): the pad drawn again, and
    // read again, or emptied.
    let take_last = {
        let (pad, canvas, preview, schedule_read, on_clear, empty) =
            (pad.clone(), canvas.clone(), preview.clone(), schedule_read.clone(), props.on_clear.clone(), empty.clone());
        Rc::new(move || {
            // A stroke in progress is the last one: it goes, and the pen must lift before it
            // draws again.
            let mut pad_ref = pad.borrow_mut();
            pad_ref.pen = None;
            pad_ref.strokes.pop();
            drop(pad_ref);
            redraw(&canvas, &pad.borrow().strokes);
            if pad.borrow().strokes.is_empty() {
                blank(&preview);
                empty.set(true);
                pad.borrow_mut().read = false;
                on_clear.emit(());
            } else {
                schedule_read();
            }
        })
    };
    let on_undo = {
        let take_last = take_last.clone();
        Callback::from(move |_: MouseEvent| take_last())
    };
    // A touch the system cancelled within PEN_NEAR_MS of a stylus is a palm it rejected
    // (iPadOS does so): its mark goes. Otherwise (the browser took the touch for a gesture, a finger with
    // no stylus around) the stroke ends there and stays, as when it lifts.
    let onpointercancel = {
        let (pad, onpointerup) = (pad.clone(), onpointerup.clone());
        Callback::from(move |e: PointerEvent| {
            let palm = {
                let pad = pad.borrow();
                pad.pen == Some(e.pointer_id()) && pad.touch_draws() && pad.stylus_near()
            };
            if palm {
                take_last();
            } else {
                onpointerup.emit(e);
            }
        })
    };
    let on_clear = {
        let (pad, canvas, preview, on_clear, empty) = (pad.clone(), canvas.clone(), preview.clone(), props.on_clear.clone(), empty.clone());
        Callback::from(move |_: MouseEvent| {
            let mut pad_ref = pad.borrow_mut();
            pad_ref.pen = None;
            pad_ref.read = false;
            pad_ref.strokes.clear();
            drop(pad_ref);
            redraw(&canvas, &[]);
            blank(&preview);
            empty.set(true);
            on_clear.emit(());
        })
    };

    let probabilities = props.prediction.as_ref().filter(|_| !*empty && !*dot).map(|(_, p)| p.clone());
    // Unlike every digit the network learned from: the bars still show its guesses, but it
    // does not claim to read one.
    let unlike = probabilities.is_some() && props.strangeness.is_some_and(|s| s > 1.0);
    let reading = probabilities.as_ref().and_then(|p| read(p)).filter(|_| !unlike);

    html! {
        <section class="panel" id="draw" aria-labelledby="draw-title">
            <h2 id="draw-title">{ "Draw a digit" }</h2>
            { reader_line(&props.reader) }
            <div class="draw-layout">
                <div class="pad">
                    <canvas ref={canvas} id="pad" width={SIZE.to_string()} height={SIZE.to_string()}
                        aria-label="Drawing area: draw one digit with the mouse, a finger or a pen"
                        onpointerdown={onpointerdown} onpointermove={onpointermove}
                        onpointerup={onpointerup.clone()} {onpointercancel} onlostpointercapture={onpointerup} />
                    <div class="buttons">
                        <button id="undo" onclick={on_undo} disabled={*empty}>{ "Undo" }</button>
                        <button id="clear" onclick={on_clear} disabled={*empty}>{ "Clear" }</button>
                    </div>
                </div>
                <div class="seen">
                    <p class="muted">{ "What the network sees (28x28, centred by mass)" }</p>
                    <canvas ref={preview} id="preview" width="28" height="28" class={classes!("preview", (*empty || *dot).then_some("blank"))}
                        role="img" aria-label="the drawing, preprocessed like MNIST" />
                </div>
                <ol class="bars" id="probabilities" aria-label="Probability of each digit">
                    { for (0..10).map(|d| {
                        let p = probabilities.as_ref().map_or(0.0, |p| p.get(d).copied().unwrap_or(0.0));
                        html! {
                            <li class={classes!((reading.map(|r| r.digit) == Some(d)).then_some("top"))} data-digit={d.to_string()}>
                                <span class="digit-label">{ d }</span>
                                <meter class="bar" min="0" max="1" value={format!("{p:.4}")} aria-label={format!("probability of {d}")} />
                                <span class="value">{ if probabilities.is_some() { percent(p as f64) } else { "—".into() } }</span>
                            </li>
                        }
                    }) }
                </ol>
            </div>
            // Said to a screen reader as it changes, as the run's status line is.
            <div id="reading" role="status" aria-live="polite">
            if *dot && !*empty {
                <p class="answer unsure" id="not-a-digit" data-why="dot">{ "That looks like a dot, not a digit: draw the digit larger." }</p>
            }
            if unlike {
                <p class="answer unsure" id="not-a-digit" data-why="unlike">
                    { "That does not look like a digit: it is unlike every digit this network learned from. The bars show what it would guess." }
                </p>
            }
            if let Some(r) = reading {
                <p class={classes!("answer", (!r.sure()).then_some("unsure"))} id="answer" data-id={props.prediction.as_ref().map(|(id, _)| id.to_string())}
                    data-strangeness={props.strangeness.map(|s| format!("{s:.3}"))}
                    data-or={r.or.map(|(d, _)| d.to_string())} data-sure={r.sure().to_string()}>
                    { if r.sure() { "Reads as " } else { "Not sure: perhaps " } }<strong>{ r.digit }</strong>{ format!(" ({})", percent(r.probability as f64)) }
                    if let Some((digit, p)) = r.or {
                        { ", or " }<strong>{ digit }</strong>{ format!(" ({})", percent(p as f64)) }
                    }
                    { "." }
                </p>
            }
            </div>
            { props.children.clone() }
        </section>
    }
}

/// The positions a pointer move stands for: the browser's coalesced events where it gives
/// them (some browsers have no `getCoalescedEvents`, and Chromium only in a secure context),
/// the event itself otherwise.
fn coalesced(e: &PointerEvent) -> Vec<web_sys::MouseEvent> {
    let method = js_sys::Reflect::get(e, &"getCoalescedEvents".into()).ok().and_then(|f| f.dyn_into::<js_sys::Function>().ok());
    let events: Vec<web_sys::MouseEvent> = method
        .and_then(|f| f.call0(e).ok())
        .and_then(|list| list.dyn_into::<js_sys::Array>().ok())
        .map(|list| list.iter().filter_map(|e| e.dyn_into().ok()).collect())
        .unwrap_or_default();
    if events.is_empty() { vec![e.clone().into()] } else { events }
}

fn reader_line(reader: &ReaderStatus) -> Html {
    match reader {
        ReaderStatus::Loading => html! { <p class="muted" id="reader">{ "Loading the default network…" }</p> },
        ReaderStatus::Ready(meta) => html! {
            <p class="muted" id="reader" data-network={meta.network.id()}>
                { format!("Reading with {} (epoch {}, {}).", meta.network.title(), meta.epoch + 1, meta.accuracies()) }
            </p>
        },
        ReaderStatus::Failed(reason) => html! { <p class="error" id="reader">{ format!("No network to read with yet: {reason}. Train one below.") }</p> },
        ReaderStatus::Stopped { reason, restarting: true } => html! {
            <p class="muted" id="reader" data-restarting="true">{ format!("The reader stopped ({reason}); starting it again…") }</p>
        },
        ReaderStatus::Stopped { reason, restarting: false } => html! {
            <p class="error" id="reader">{ format!("The reader stopped ({reason}) and did not start again: reload the page to read drawings.") }</p>
        },
    }
}

/// Empty the preview of what the network sees: a pad cleared, undone to nothing or left
/// with a dot shows no digit there (not the last one, faded).
fn blank(preview: &NodeRef) {
    if let Some(preview) = preview.cast::<HtmlCanvasElement>() {
        paint(&preview, &[0; crate::data::IMAGE_SIDE * crate::data::IMAGE_SIDE]);
    }
}

fn context(canvas: &NodeRef) -> Option<CanvasRenderingContext2d> {
    pad_context(&canvas.cast::<HtmlCanvasElement>()?)
}

/// The pad's 2D context. Its pixels are read back after every stroke, so the browser is told
/// so on the first call (which fixes the context's attributes): it then keeps the canvas in
/// memory the CPU reads, instead of reading a GPU texture back each time and warning about it.
fn pad_context(canvas: &HtmlCanvasElement) -> Option<CanvasRenderingContext2d> {
    let options = js_sys::Object::new();
    js_sys::Reflect::set(&options, &"willReadFrequently".into(), &true.into()).ok()?;
    canvas.get_context_with_context_options("2d", &options).ok()??.dyn_into().ok()
}

/// Draw a polyline with the pen.
fn segment(ctx: &CanvasRenderingContext2d, points: &[(f64, f64)]) {
    ctx.set_line_width(PEN);
    ctx.set_line_cap("round");
    ctx.set_line_join("round");
    ctx.set_stroke_style_str("#fff");
    ctx.set_fill_style_str("#fff");
    ctx.begin_path();
    if let [(x, y)] = points {
        // A tap: a round dot.
        let _ = ctx.arc(*x, *y, PEN / 2.0, 0.0, std::f64::consts::TAU);
        ctx.fill();
        return;
    }
    for (i, &(x, y)) in points.iter().enumerate() {
        if i == 0 { ctx.move_to(x, y) } else { ctx.line_to(x, y) }
    }
    ctx.stroke();
}

fn redraw(canvas: &NodeRef, strokes: &[Stroke]) {
    let Some(ctx) = context(canvas) else { return };
    ctx.clear_rect(0.0, 0.0, SIZE, SIZE);
    for stroke in strokes {
        segment(&ctx, stroke);
    }
}

/// The canvas' ink as intensities in [0, 1] (its alpha channel: the background is
/// transparent, painted by CSS).
fn ink_of(canvas: &HtmlCanvasElement) -> Option<Vec<f32>> {
    let ctx = pad_context(canvas)?;
    let data = ctx.get_image_data(0.0, 0.0, SIZE, SIZE).ok()?.data();
    Some(data.chunks_exact(4).map(|px| px[3] as f32 / 255.0).collect())
}
