//! A 28x28 digit drawn on a canvas, white ink on black as MNIST stores it.

use std::rc::Rc;

use wasm_bindgen::{Clamped, JsCast};
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, ImageData};
use yew::prelude::*;

use crate::data::{IMAGE_PIXELS, IMAGE_SIDE};

#[derive(Properties, PartialEq)]
pub struct DigitProps {
    /// 784 intensities, 0-255.
    pub pixels: Rc<Vec<u8>>,
    #[prop_or_default]
    pub caption: Option<AttrValue>,
    #[prop_or_default]
    pub class: Classes,
    /// Accessible description of the image.
    pub alt: AttrValue,
}

#[component]
pub fn Digit(props: &DigitProps) -> Html {
    let canvas = use_node_ref();
    {
        let canvas = canvas.clone();
        use_effect_with(props.pixels.clone(), move |pixels| {
            if let Some(canvas) = canvas.cast::<HtmlCanvasElement>() {
                paint(&canvas, pixels);
            }
        });
    }
    html! {
        <figure class={classes!("digit", props.class.clone())}>
            <canvas ref={canvas} width="28" height="28" role="img" aria-label={props.alt.clone()} />
            if let Some(caption) = &props.caption {
                <figcaption>{ caption.clone() }</figcaption>
            }
        </figure>
    }
}

/// Paint bytes into a 28x28 canvas (CSS scales it up, pixelated).
pub fn paint(canvas: &HtmlCanvasElement, pixels: &[u8]) {
    if pixels.len() != IMAGE_PIXELS {
        return;
    }
    let rgba: Vec<u8> = pixels.iter().flat_map(|&p| [p, p, p, 255]).collect();
    put_rgba(canvas, &rgba, IMAGE_SIDE, IMAGE_SIDE);
}

/// Put `width` x `height` RGBA bytes at the canvas' top left corner.
pub fn put_rgba(canvas: &HtmlCanvasElement, rgba: &[u8], width: usize, height: usize) {
    let Some(ctx) = canvas
        .get_context("2d")
        .ok()
        .flatten()
        .and_then(|c| c.dyn_into::<CanvasRenderingContext2d>().ok())
    else {
        return;
    };
    if let Ok(image) = ImageData::new_with_u8_clamped_array_and_sh(Clamped(rgba), width as u32, height as u32) {
        let _ = ctx.put_image_data(&image, 0.0, 0.0);
    }
}
