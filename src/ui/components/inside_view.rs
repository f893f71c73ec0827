//! "Inside the network": for the digit being drawn, which pixels drive the digit read (the
//! saliency), what each layer computes (its feature maps) and the weights worth seeing as
//! images (the first layer's filters, or the linear network's ten templates). The reader
//! worker computes it ([`crate::inside`]); this component only paints bytes.

use std::rc::Rc;

use web_sys::HtmlCanvasElement;
use yew::prelude::*;

use super::digit::put_rgba;
use crate::inside::{Inside, Pictures};
use crate::model::Layer;

#[derive(Properties, PartialEq)]
pub struct InsideViewProps {
    pub open: bool,
    /// There is a drawing being read.
    pub drawing: bool,
    pub inside: Option<Result<Rc<Inside>, String>>,
    pub on_toggle: Callback<bool>,
}

#[component]
pub fn InsideView(props: &InsideViewProps) -> Html {
    let toggle = {
        let (cb, open) = (props.on_toggle.clone(), props.open);
        Callback::from(move |_: MouseEvent| cb.emit(!open))
    };
    let body = match (&props.inside, props.drawing) {
        _ if !props.open => Html::default(),
        (_, false) => html! { <p class="muted" id="inside-hint">{ "Draw a digit above: each layer's response to it appears here, and follows the pen." }</p> },
        (Some(Err(reason)), true) => html! { <p class="error" id="inside-error">{ reason.clone() }</p> },
        (None, true) => html! { <p class="muted" id="inside-hint">{ "Looking inside…" }</p> },
        (Some(Ok(inside)), true) => view(inside),
    };
    html! {
        <section class="panel" id="inside" aria-labelledby="inside-title" data-open={props.open.to_string()}>
            <div class="inside-head">
                <h2 id="inside-title">{ "Inside the network" }</h2>
                <button id="inside-toggle" aria-expanded={props.open.to_string()} aria-controls="inside-body" onclick={toggle}>
                    { if props.open { "Hide" } else { "Look inside" } }
                </button>
            </div>
            <div id="inside-body">{ body }</div>
        </section>
    }
}

fn view(inside: &Rc<Inside>) -> Html {
    let digit = inside.digit;
    let weights_caption = match inside.weights.layer {
        Layer::Templates => "The linear network's weights for each digit, 0 to 9: ink on orange pixels counts for the digit, on blue ones against it. These ten images are all it knows.".to_owned(),
        _ => format!("{}: {} filters of {}x{} (orange adds, blue subtracts), slid over the image to make convolution 1's maps.", inside.weights.layer.title(), inside.weights.count, inside.weights.height, inside.weights.width),
    };
    html! {
        <div class="inside" data-id={inside.id.to_string()} data-digit={digit.to_string()}>
            <div class="inside-pair">
                <figure id="saliency">
                    <Grid inside={inside.clone()} slot={Slot::Saliency} label={AttrValue::from(format!("saliency map for {digit}"))} />
                    <figcaption>{ format!("What makes it a {digit}: how strongly each pixel moves the network's score for {digit} (the gradient of that score with respect to the pixel; red is strongest).") }</figcaption>
                </figure>
                <figure id="weights-pictures" data-layer={inside.weights.layer.id()} data-count={inside.weights.count.to_string()}>
                    <Grid inside={inside.clone()} slot={Slot::Weights} label={AttrValue::from(inside.weights.layer.title())} />
                    <figcaption>{ weights_caption }</figcaption>
                </figure>
            </div>
            if inside.layers.is_empty() {
                <p class="muted">{ "The linear network has no hidden layers: the image goes straight to the ten scores." }</p>
            }
            { for inside.layers.iter().enumerate().map(|(i, p)| html! {
                <figure class="layer" data-layer={p.layer.id()} data-count={p.count.to_string()}>
                    <figcaption>{ layer_caption(p) }</figcaption>
                    <Grid inside={inside.clone()} slot={Slot::Layer(i)} label={AttrValue::from(p.layer.title())} />
                </figure>
            }) }
            <p class="muted small" id="inside-time">{ format!(
                "Computed in the reader worker in {}, after the reading: one pass forward with every layer kept, one back to the pixels.",
                if inside.ms < 1.0 { "under 1 ms".to_owned() } else { format!("{:.0} ms", inside.ms) }
            ) }</p>
        </div>
    }
}

fn layer_caption(p: &Pictures) -> String {
    let what = match p.layer {
        Layer::Conv(_) => format!("{} maps of {}x{}, after ReLU: where each filter found its pattern", p.count, p.height, p.width),
        Layer::Pool(_) => format!("{} maps of {}x{}: the strongest response in each 2x2 square", p.count, p.height, p.width),
        Layer::Dense => format!("{} units (shown {}x{}), after ReLU: the features the ten scores are weighed from", p.height * p.width, p.height, p.width),
        _ => String::new(),
    };
    format!("{} · {what}", p.layer.title())
}

#[derive(Clone, Copy, PartialEq)]
enum Slot {
    Saliency,
    Weights,
    Layer(usize),
}

#[derive(Properties, PartialEq)]
struct GridProps {
    inside: Rc<Inside>,
    slot: Slot,
    label: AttrValue,
}

/// One canvas holding a layer's images in a grid, a transparent pixel between them.
#[component]
fn Grid(props: &GridProps) -> Html {
    let canvas = use_node_ref();
    let pictures = match props.slot {
        Slot::Saliency => &props.inside.saliency,
        Slot::Weights => &props.inside.weights,
        Slot::Layer(i) => &props.inside.layers[i],
    };
    let (w, h) = canvas_size(pictures);
    {
        let (canvas, inside, slot) = (canvas.clone(), props.inside.clone(), props.slot);
        use_effect_with((inside, slot), move |(inside, slot)| {
            if let Some(canvas) = canvas.cast::<HtmlCanvasElement>() {
                let rgba = match slot {
                    Slot::Saliency => overlay(&inside.input, &inside.saliency),
                    Slot::Weights => tile(&inside.weights),
                    Slot::Layer(i) => tile(&inside.layers[*i]),
                };
                put_rgba(&canvas, &rgba, w, h);
            }
        });
    }
    // Its displayed size comes from the stylesheet, by layer: the page's Content-Security-
    // Policy allows no inline style.
    html! {
        <canvas ref={canvas} width={w.to_string()} height={h.to_string()} role="img" aria-label={props.label.clone()} class="grid" />
    }
}

/// Columns and rows: eight across (sixteen for 64 maps, which are small), except ten
/// templates (five by two) and single images.
fn grid(count: usize) -> (usize, usize) {
    let cols = match count {
        0 | 1 => 1,
        10 => 5,
        n if n >= 64 => 16,
        n => n.min(8),
    };
    (cols, count.max(1).div_ceil(cols))
}

/// The grid's size in pixels: its images with a pixel between them.
fn canvas_size(p: &Pictures) -> (usize, usize) {
    let (cols, rows) = grid(p.count);
    (cols * (p.width + 1) - 1, rows * (p.height + 1) - 1)
}

/// A layer's images side by side, coloured: unsigned values on a dark-to-bright ramp, signed
/// ones blue (negative) through near-black (zero) to orange (positive).
fn tile(p: &Pictures) -> Vec<u8> {
    let (cols, _) = grid(p.count);
    let (w, h) = canvas_size(p);
    let mut rgba = vec![0u8; w * h * 4];
    for i in 0..p.count {
        let (ox, oy) = ((i % cols) * (p.width + 1), (i / cols) * (p.height + 1));
        for (k, &byte) in p.image(i).iter().enumerate() {
            let (x, y) = (ox + k % p.width, oy + k / p.width);
            let at = (y * w + x) * 4;
            rgba[at..at + 4].copy_from_slice(&colour(byte, p.signed));
        }
    }
    rgba
}

fn colour(byte: u8, signed: bool) -> [u8; 4] {
    let t = byte as f32 / 255.0;
    let mix = |a: [f32; 3], b: [f32; 3], t: f32| [0, 1, 2].map(|i| (a[i] + (b[i] - a[i]) * t).round() as u8);
    const ZERO: [f32; 3] = [18.0, 20.0, 28.0];
    let [r, g, b] = if signed {
        let v = (byte as f32 - 128.0) / 127.0;
        if v < 0.0 { mix(ZERO, [90.0, 150.0, 255.0], -v) } else { mix(ZERO, [255.0, 150.0, 50.0], v) }
    } else if t < 0.5 {
        mix(ZERO, [150.0, 40.0, 130.0], t * 2.0)
    } else {
        mix([150.0, 40.0, 130.0], [255.0, 230.0, 120.0], t * 2.0 - 1.0)
    };
    [r, g, b, 255]
}

/// The drawing in grey with the saliency over it in red.
fn overlay(input: &[u8], saliency: &Pictures) -> Vec<u8> {
    input
        .iter()
        .zip(&saliency.pixels)
        .flat_map(|(&ink, &s)| {
            let (grey, s) = (ink as f32 * 0.45, s as f32 / 255.0);
            let mix = |hot: f32| (grey * (1.0 - s) + hot * s).round() as u8;
            [mix(255.0), mix(60.0), mix(40.0), 255]
        })
        .collect()
}
