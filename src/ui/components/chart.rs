//! A small SVG line chart: several series over epochs, a marker for the best epoch, and the
//! values under the pointer. Hand-written: a charting crate with a canvas backend would add
//! more to the page's wasm than these two hundred lines, and SVG stays crisp and styleable
//! by the theme.

use std::rc::Rc;

use web_sys::Element;
use yew::prelude::*;

const W: f64 = 560.0;
const H: f64 = 220.0;
const LEFT: f64 = 52.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 30.0;

#[derive(Clone, PartialEq)]
pub struct Series {
    pub name: AttrValue,
    /// CSS class giving its colour (`s1`..`s4`).
    pub class: &'static str,
    pub points: Rc<Vec<(f64, f64)>>,
    /// Draw dots at the points (per-epoch series).
    pub dots: bool,
    /// Thin and faint (raw values under a smoothed line).
    pub faint: bool,
}

#[derive(Properties, PartialEq)]
pub struct ChartProps {
    pub id: AttrValue,
    pub title: AttrValue,
    pub series: Vec<Series>,
    /// The x axis runs from 0 to this (epochs).
    pub x_max: f64,
    /// Fixed y range; computed from the data when `None`.
    #[prop_or_default]
    pub y_range: Option<(f64, f64)>,
    /// Vertical marker, e.g. the best epoch.
    #[prop_or_default]
    pub marker: Option<(f64, AttrValue)>,
    /// Digits after the decimal point in labels.
    #[prop_or(3)]
    pub precision: usize,
    #[prop_or_default]
    pub log_y: bool,
}

#[component]
pub fn Chart(props: &ChartProps) -> Html {
    let hover = use_state(|| None::<f64>);
    let svg = use_node_ref();
    let (y0, y1) = props.y_range.unwrap_or_else(|| auto_range(&props.series, props.log_y));
    let tf = |y: f64| if props.log_y { y.max(1e-9).log10() } else { y };
    let (ty0, ty1) = (tf(y0), tf(y1));
    let sx = |x: f64| LEFT + x / props.x_max.max(1e-9) * (W - LEFT - RIGHT);
    let sy = |y: f64| TOP + (1.0 - (tf(y) - ty0) / (ty1 - ty0).max(1e-12)) * (H - TOP - BOTTOM);

    let onmousemove = {
        let (hover, svg) = (hover.clone(), svg.clone());
        let x_max = props.x_max;
        Callback::from(move |e: MouseEvent| {
            // Yew delegates events to the document: measure the chart itself.
            let Some(target) = svg.cast::<Element>() else { return };
            let rect = target.get_bounding_client_rect();
            let px = (e.client_x() as f64 - rect.left()) / rect.width().max(1.0) * W;
            let x = ((px - LEFT) / (W - LEFT - RIGHT) * x_max).clamp(0.0, x_max);
            hover.set(Some(x));
        })
    };
    let onmouseleave = {
        let hover = hover.clone();
        Callback::from(move |_| hover.set(None))
    };

    let y_ticks = ticks(y0, y1, props.log_y);
    let x_ticks: Vec<f64> = {
        let step = (props.x_max / 8.0).ceil().max(1.0);
        (0..=(props.x_max / step) as usize).map(|i| i as f64 * step).collect()
    };
    let fmt = |v: f64| format!("{v:.*}", props.precision);

    let paths = props.series.iter().map(|s| {
        let d: String = s
            .points
            .iter()
            .enumerate()
            .map(|(i, &(x, y))| format!("{}{:.1},{:.1}", if i == 0 { "M" } else { "L" }, sx(x), sy(y)))
            .collect();
        html! {
            <g class={classes!("series", s.class, s.faint.then_some("faint"))}>
                <path d={d} />
                if s.dots {
                    { for s.points.iter().map(|&(x, y)| html! { <circle cx={format!("{:.1}", sx(x))} cy={format!("{:.1}", sy(y))} r="3" /> }) }
                }
            </g>
        }
    });

    let readout = hover.map(|x| {
        let values: Vec<(AttrValue, &'static str, f64)> = props
            .series
            .iter()
            .filter(|s| !s.faint)
            .filter_map(|s| nearest(&s.points, x).map(|(_, y)| (s.name.clone(), s.class, y)))
            .collect();
        html! {
            <g class="readout">
                <line x1={format!("{:.1}", sx(x))} x2={format!("{:.1}", sx(x))} y1={TOP.to_string()} y2={(H - BOTTOM).to_string()} />
                <text x={format!("{:.1}", (sx(x) + 6.0).min(W - 150.0))} y={(TOP + 14.0).to_string()}>
                    <tspan class="axis">{ format!("epoch {x:.2}") }</tspan>
                    { for values.iter().map(|(name, class, y)| html! {
                        <tspan class={classes!("value", *class)} x={format!("{:.1}", (sx(x) + 6.0).min(W - 150.0))} dy="15">
                            { format!("{name}: {}", fmt(*y)) }
                        </tspan>
                    }) }
                </text>
            </g>
        }
    });

    html! {
        <figure class="chart" id={props.id.clone()}>
            <figcaption>
                { props.title.clone() }
                <span class="legend">
                    { for props.series.iter().filter(|s| !s.faint).map(|s| html! {
                        <span class={classes!("key", s.class)}>{ s.name.clone() }</span>
                    }) }
                </span>
            </figcaption>
            <svg ref={svg} viewBox={format!("0 0 {W} {H}")} role="img" aria-label={props.title.clone()}
                 {onmousemove} {onmouseleave} preserveAspectRatio="none">
                <g class="grid">
                    { for y_ticks.iter().map(|&y| html! {
                        <g>
                            <line x1={LEFT.to_string()} x2={(W - RIGHT).to_string()} y1={format!("{:.1}", sy(y))} y2={format!("{:.1}", sy(y))} />
                            <text class="tick" x={(LEFT - 6.0).to_string()} y={format!("{:.1}", sy(y) + 4.0)} text-anchor="end">{ short(y) }</text>
                        </g>
                    }) }
                    { for x_ticks.iter().map(|&x| html! {
                        <text class="tick" x={format!("{:.1}", sx(x))} y={(H - 10.0).to_string()} text-anchor="middle">{ format!("{x:.0}") }</text>
                    }) }
                </g>
                if let Some((x, label)) = &props.marker {
                    <g class="marker">
                        <line x1={format!("{:.1}", sx(*x))} x2={format!("{:.1}", sx(*x))} y1={TOP.to_string()} y2={(H - BOTTOM).to_string()} />
                        <text x={format!("{:.1}", sx(*x) - 4.0)} y={(H - BOTTOM - 6.0).to_string()} text-anchor="end">{ label.clone() }</text>
                    </g>
                }
                { for paths }
                { readout.unwrap_or_default() }
            </svg>
        </figure>
    }
}

/// Exponential moving average, the usual smoothing of a noisy training curve.
pub fn smooth(points: &[(f64, f64)], alpha: f64) -> Vec<(f64, f64)> {
    let mut avg = None;
    points
        .iter()
        .map(|&(x, y)| {
            let a = avg.map_or(y, |a: f64| a + alpha * (y - a));
            avg = Some(a);
            (x, a)
        })
        .collect()
}

/// The point of `points` (sorted by x) nearest to `x`.
fn nearest(points: &[(f64, f64)], x: f64) -> Option<(f64, f64)> {
    let i = points.partition_point(|p| p.0 < x);
    [i.checked_sub(1), Some(i)]
        .into_iter()
        .flatten()
        .filter_map(|i| points.get(i).copied())
        .min_by(|a, b| (a.0 - x).abs().total_cmp(&(b.0 - x).abs()))
}

fn auto_range(series: &[Series], log: bool) -> (f64, f64) {
    let ys = series.iter().flat_map(|s| s.points.iter().map(|p| p.1)).filter(|y| y.is_finite() && (!log || *y > 0.0));
    let (lo, hi) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), y| (lo.min(y), hi.max(y)));
    if !lo.is_finite() {
        return if log { (0.01, 10.0) } else { (0.0, 1.0) };
    }
    if log {
        (10f64.powf(lo.log10().floor()), 10f64.powf(hi.log10().ceil().max(lo.log10().floor() + 1.0)))
    } else {
        let pad = ((hi - lo) * 0.05).max(1e-6);
        (lo - pad, hi + pad)
    }
}

fn ticks(lo: f64, hi: f64, log: bool) -> Vec<f64> {
    if log {
        let (a, b) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
        return (a..=b).map(|e| 10f64.powi(e)).collect();
    }
    let span = (hi - lo).max(1e-12);
    let raw = span / 4.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * mag).find(|s| *s >= raw).unwrap_or(mag * 10.0);
    let start = (lo / step).ceil() as i64;
    let end = (hi / step).floor() as i64;
    (start..=end).map(|i| i as f64 * step).collect()
}

fn short(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        "0".into()
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.1}")
    } else if a >= 0.01 {
        format!("{v:.2}")
    } else {
        format!("{v:.0e}")
    }
}
