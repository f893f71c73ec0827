//! A weights file's network as plain vectors, and what it computes, without burn: the
//! forward pass ([`PlainNetwork::forward`]), the layers as pictured
//! ([`PlainNetwork::forward_seen`]) and the backward pass from one logit to the input
//! ([`PlainNetwork::input_gradient`]), in f32 on one thread.
//!
//! Why: the reader module must stay small, so it links neither burn nor a matrix library.
//! It computes what `model::Network` computes frozen (BatchNorm with its running
//! statistics, dropout off), operation for operation as `model/vgg.rs` and `model/linear.rs`
//! lay them out, differing only in the order of f32 sums; the tests below (and `look.rs`'s
//! for the pictures) check every output and gradient against burn.
//!
//! Layouts are burn's, as `weights::file` stores them: a convolution's weight is
//! `[out, in, 3, 3]`, a dense layer's `[in, out]` (the transpose of PyTorch's), each map
//! `[channels, h, w]` row-major; tensors come in burn's module-visit order (struct fields in
//! declaration order), named after the `Network` variant: `Vgg.conv1.weight`,
//! `Linear.dense.bias`.
//!
//! Speed without a matrix library: a valid 3x3 convolution is computed "wide", each output
//! row as long as an input row (its last two values wrap into the next row and are thrown
//! away). Then for every weight, the whole output plane is one contiguous multiply-add with the
//! input plane shifted by that weight's offset: long plain slice loops, which LLVM vectorises
//! (SIMD128 on the web). The extra columns cost 8% of conv2's work and 25% of conv4's. The
//! backward pass spreads gradients with the same loops. The `timing` test below measured, for
//! the BatchNorm network natively in release (x86-64, SSE2 only, a shared two-core machine):
//! 1.4-2.0 ms a forward pass, 2.9-3.7 ms with the input gradient (about 10 M multiply-adds
//! each way).

use std::fmt;

use crate::data::{IMAGE_PIXELS, IMAGE_SIDE};
use crate::model::sizes::{CONV_CHANNELS, FLAT, HIDDEN};
use crate::model::{Layer, NetworkKind, CLASSES};

/// The side of every convolution kernel: the networks' convolutions are 3x3, valid, stride 1.
const K: usize = 3;

/// A network read from a weights file, ready to read digits on the CPU.
#[derive(Clone)]
pub struct PlainNetwork {
    kind: NetworkKind,
    body: Body,
}

#[derive(Clone)]
enum Body {
    Linear(Dense),
    Vgg(Box<Vgg>),
}

/// `model::VggNet`'s layers that hold numbers (poolings and dropouts hold none).
#[derive(Clone)]
struct Vgg {
    convs: [Conv; 4],
    /// After each convolution's ReLU, when the network has BatchNorm.
    norms: Option<[Norm; 4]>,
    dense: Dense,
    dense_norm: Option<Norm>,
    head: Dense,
}

/// What [`PlainNetwork::forward_seen`] computed: the logits, each layer as pictured, and what
/// [`PlainNetwork::input_gradient`] needs besides.
#[derive(Debug, Clone)]
pub struct Seen {
    pub logits: [f32; CLASSES],
    /// Each hidden layer's output as `Network::forward_seen` shows it, input to output:
    /// (layer, [count, height, width], values). Empty for the linear network.
    pub layers: Vec<(Layer, [usize; 3], Vec<f32>)>,
    /// For each pooling, which value of each 2x2 window it kept: where its gradient goes.
    winners: Vec<Vec<u8>>,
}

impl Seen {
    /// The values `layer` was shown with (a layer of the network that computed this).
    fn shown(&self, layer: Layer) -> &[f32] {
        let found = self.layers.iter().find(|(l, ..)| *l == layer);
        &found.expect("the layer should have been seen by the forward pass").2
    }
}

impl PlainNetwork {
    /// The network of `kind` from a weights file's tensors, as `weights::file` parses them:
    /// (path, shape, values) in burn's module-visit order. `epsilon` is BatchNorm's (the
    /// file's metadata), unused by a network without it. Every tensor's name, shape and
    /// values are checked; the error says which is wrong.
    pub fn new(kind: NetworkKind, epsilon: f64, tensors: &[(String, Vec<usize>, Vec<f32>)]) -> Result<Self, String> {
        let mut take = Take { tensors, next: 0 };
        let body = match kind {
            NetworkKind::Linear => Body::Linear(Dense::read(&mut take, "Linear.dense", IMAGE_PIXELS, CLASSES)?),
            _ => Body::Vgg(Box::new(Vgg::read(&mut take, kind.batch_norm().then_some(epsilon))?)),
        };
        take.finish()?;
        Ok(Self { kind, body })
    }

    pub fn kind(&self) -> NetworkKind {
        self.kind
    }

    /// The logits for one normalised 28x28 image (784 values), and the dense 512 layer's
    /// output after its ReLU, before its BatchNorm (what the "not a digit" detector judges,
    /// `train::novelty`); `None` for the linear network, which has no such layer.
    pub fn forward(&self, input: &[f32]) -> ([f32; CLASSES], Option<Vec<f32>>) {
        let seen = self.forward_seen(input);
        let dense = seen.layers.into_iter().find(|(layer, ..)| *layer == Layer::Dense).map(|(.., values)| values);
        (seen.logits, dense)
    }

    /// [`Self::forward`], keeping each layer's output as `Network::forward_seen` shows it,
    /// and what [`Self::input_gradient`] needs.
    pub fn forward_seen(&self, input: &[f32]) -> Seen {
        assert_eq!(input.len(), IMAGE_PIXELS, "an image of 28x28 values");
        match &self.body {
            Body::Linear(dense) => Seen { logits: logits(dense.forward(input)), layers: Vec::new(), winners: Vec::new() },
            Body::Vgg(vgg) => vgg.forward_seen(input),
        }
    }

    /// ∂ logit[`digit`] / ∂ input, with respect to the normalised input (784 values), at the
    /// image `seen` was computed for (by this network).
    pub fn input_gradient(&self, seen: &Seen, digit: usize) -> Vec<f32> {
        assert!(digit < CLASSES, "a digit, 0-9");
        let mut one_hot = [0.0; CLASSES];
        one_hot[digit] = 1.0;
        match &self.body {
            Body::Linear(dense) => dense.input_gradient(&one_hot),
            Body::Vgg(vgg) => vgg.input_gradient(seen, &one_hot),
        }
    }

    /// The weights worth looking at as images, as `Network::weight_pictures` gives them: the
    /// first convolution's filters (`Layer::Filters`, `[32, 3, 3]`) or the linear network's
    /// ten templates (`Layer::Templates`, `[10, 28, 28]`).
    pub fn weight_pictures(&self) -> (Layer, [usize; 3], Vec<f32>) {
        match &self.body {
            Body::Linear(dense) => {
                // [784, 10] transposed: digit by digit, each its 784 weights.
                let templates = (0..CLASSES).flat_map(|d| dense.weight.iter().skip(d).step_by(CLASSES).copied()).collect();
                (Layer::Templates, [CLASSES, IMAGE_SIDE, IMAGE_SIDE], templates)
            }
            Body::Vgg(vgg) => {
                let conv = &vgg.convs[0];
                (Layer::Filters, [conv.c_out * conv.c_in, K, K], conv.weight.clone())
            }
        }
    }
}

/// Short: the derived form would print 600,000 weights.
impl fmt::Debug for PlainNetwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlainNetwork").field("kind", &self.kind).finish_non_exhaustive()
    }
}

impl Vgg {
    /// In `model::VggNet`'s visit order: conv1-4, bn1-4, dense, bn_dense, head.
    fn read(take: &mut Take, epsilon: Option<f64>) -> Result<Self, String> {
        let [c1, c2, c3, c4] = CONV_CHANNELS;
        let convs = [
            Conv::read(take, "Vgg.conv1", 1, c1)?,
            Conv::read(take, "Vgg.conv2", c1, c2)?,
            Conv::read(take, "Vgg.conv3", c2, c3)?,
            Conv::read(take, "Vgg.conv4", c3, c4)?,
        ];
        let norms = match epsilon {
            Some(epsilon) => Some([
                Norm::read(take, "Vgg.bn1", c1, epsilon)?,
                Norm::read(take, "Vgg.bn2", c2, epsilon)?,
                Norm::read(take, "Vgg.bn3", c3, epsilon)?,
                Norm::read(take, "Vgg.bn4", c4, epsilon)?,
            ]),
            None => None,
        };
        let dense = Dense::read(take, "Vgg.dense", FLAT, HIDDEN)?;
        let dense_norm = epsilon.map(|epsilon| Norm::read(take, "Vgg.bn_dense", HIDDEN, epsilon)).transpose()?;
        let head = Dense::read(take, "Vgg.head", HIDDEN, CLASSES)?;
        Ok(Self { convs, norms, dense, dense_norm, head })
    }

    /// `VggNet::forward_seen`, step by step.
    fn forward_seen(&self, image: &[f32]) -> Seen {
        let mut seen = Seen { logits: [0.0; CLASSES], layers: Vec::with_capacity(7), winners: Vec::with_capacity(2) };
        let x = self.block(0, image, IMAGE_SIDE, &mut seen); // [32, 26, 26]
        let x = self.block(1, &x, 26, &mut seen); // [32, 24, 24]
        let x = pool(&x, CONV_CHANNELS[1], 24, Layer::Pool(1), &mut seen); // [32, 12, 12]
        let x = self.block(2, &x, 12, &mut seen); // [64, 10, 10]
        let x = self.block(3, &x, 10, &mut seen); // [64, 8, 8]
        let x = pool(&x, CONV_CHANNELS[3], 8, Layer::Pool(2), &mut seen); // [64, 4, 4], flat: [1024]
        let mut x = self.dense.forward(&x); // [512]
        relu(&mut x);
        seen.layers.push((Layer::Dense, [1, 16, 32], x.clone()));
        if let Some(norm) = &self.dense_norm {
            norm.apply(&mut x, 1);
        }
        seen.logits = logits(self.head.forward(&x)); // [10]
        seen
    }

    /// Convolution `n` (from 0) of `[c_in, side, side]`, its ReLU (shown), then its
    /// BatchNorm if any: `[c_out, side - 2, side - 2]`.
    fn block(&self, n: usize, x: &[f32], side: usize, seen: &mut Seen) -> Vec<f32> {
        let conv = &self.convs[n];
        let y = conv.forward_relu(x, side);
        let out = side - (K - 1);
        let mut normalised = y.clone();
        if let Some(norms) = &self.norms {
            norms[n].apply(&mut normalised, out * out);
        }
        seen.layers.push((Layer::Conv(n as u8 + 1), [conv.c_out, out, out], y));
        normalised
    }

    /// The forward pass backwards from the logits' gradient `d_logits`, through the
    /// activations `seen` kept: each ReLU passes the gradient where its output is positive,
    /// each pooling to the value it kept, each BatchNorm scales it by γ / √(var + ε).
    fn input_gradient(&self, seen: &Seen, d_logits: &[f32]) -> Vec<f32> {
        let mut g = self.head.input_gradient(d_logits); // [512]
        if let Some(norm) = &self.dense_norm {
            norm.backward(&mut g, 1);
        }
        relu_backward(seen.shown(Layer::Dense), &mut g);
        let g = self.dense.input_gradient(&g); // [1024], as [64, 4, 4]
        let g = unpool(&g, &seen.winners[1], 8); // [64, 8, 8]
        let g = self.block_backward(3, g, 10, seen); // [64, 10, 10]
        let g = self.block_backward(2, g, 12, seen); // [32, 12, 12]
        let g = unpool(&g, &seen.winners[0], 24); // [32, 24, 24]
        let g = self.block_backward(1, g, 26, seen); // [32, 26, 26]
        self.block_backward(0, g, IMAGE_SIDE, seen) // [1, 28, 28]
    }

    /// [`Self::block`] backwards: from the gradient of its output to that of its input
    /// `[c_in, side, side]`.
    fn block_backward(&self, n: usize, mut g: Vec<f32>, side: usize, seen: &Seen) -> Vec<f32> {
        let out = side - (K - 1);
        if let Some(norms) = &self.norms {
            norms[n].backward(&mut g, out * out);
        }
        relu_backward(seen.shown(Layer::Conv(n as u8 + 1)), &mut g);
        self.convs[n].input_gradient(&g, side)
    }
}

/// A valid 3x3 convolution with a bias: burn's `Conv2d`, weight `[out, in, 3, 3]`.
#[derive(Clone)]
struct Conv {
    c_in: usize,
    c_out: usize,
    weight: Vec<f32>,
    bias: Vec<f32>,
}

impl Conv {
    fn read(take: &mut Take, path: &str, c_in: usize, c_out: usize) -> Result<Self, String> {
        let weight = take.next(&format!("{path}.weight"), &[c_out, c_in, K, K])?;
        let bias = take.next(&format!("{path}.bias"), &[c_out])?;
        Ok(Self { c_in, c_out, weight, bias })
    }

    /// relu(conv(x) + bias), computed wide (module doc): `[c_in, side, side]` →
    /// `[c_out, side - 2, side - 2]`.
    fn forward_relu(&self, x: &[f32], side: usize) -> Vec<f32> {
        let out = side - (K - 1);
        let span = wide_span(side);
        let mut wide = vec![0.0; out * side];
        let mut y = Vec::with_capacity(self.c_out * out * out);
        for (filters, &bias) in self.weight.chunks_exact(self.c_in * K * K).zip(&self.bias) {
            wide.fill(bias);
            for (filter, plane) in filters.chunks_exact(K * K).zip(x.chunks_exact(side * side)) {
                for (k, &w) in filter.iter().enumerate() {
                    let from = (k / K) * side + k % K;
                    multiply_add(&mut wide[..span], w, &plane[from..from + span]);
                }
            }
            for row in wide.chunks_exact(side) {
                y.extend(row[..out].iter().map(|&v| if v > 0.0 { v } else { 0.0 }));
            }
        }
        y
    }

    /// The gradient with respect to the input (`[c_in, side, side]`) from that of the
    /// output before the ReLU, `dy` (`[c_out, side - 2, side - 2]`): each output's gradient
    /// spread back over its window, weighted, with the forward's wide passes.
    fn input_gradient(&self, dy: &[f32], side: usize) -> Vec<f32> {
        let out = side - (K - 1);
        let span = wide_span(side);
        // dy laid out wide, zero in the columns past each row's end: those wrap-around
        // positions were never outputs, so they must spread nothing.
        let mut wide = vec![0.0; self.c_out * out * side];
        for (to, from) in wide.chunks_exact_mut(side).zip(dy.chunks_exact(out)) {
            to[..out].copy_from_slice(from);
        }
        let mut dx = vec![0.0; self.c_in * side * side];
        for (i, plane) in dx.chunks_exact_mut(side * side).enumerate() {
            for (filters, g) in self.weight.chunks_exact(self.c_in * K * K).zip(wide.chunks_exact(out * side)) {
                for (k, &w) in filters[i * K * K..][..K * K].iter().enumerate() {
                    let from = (k / K) * side + k % K;
                    multiply_add(&mut plane[from..from + span], w, &g[..span]);
                }
            }
        }
        dx
    }
}

/// How many wide output positions a 3x3 convolution of a `side`-wide plane computes: all rows
/// but the last two, `side` wide, less the last row's two wrap-around positions (which would
/// read past the plane's end).
fn wide_span(side: usize) -> usize {
    (side - (K - 1)) * side - (K - 1)
}

/// `y += a·x`, element by element: the loop every layer's work is made of.
#[inline]
fn multiply_add(y: &mut [f32], a: f32, x: &[f32]) {
    for (y, &x) in y.iter_mut().zip(x) {
        *y += a * x;
    }
}

/// A dense layer: burn's `Linear`, weight `[in, out]`.
#[derive(Clone)]
struct Dense {
    outputs: usize,
    weight: Vec<f32>,
    bias: Vec<f32>,
}

impl Dense {
    fn read(take: &mut Take, path: &str, inputs: usize, outputs: usize) -> Result<Self, String> {
        let weight = take.next(&format!("{path}.weight"), &[inputs, outputs])?;
        let bias = take.next(&format!("{path}.bias"), &[outputs])?;
        Ok(Self { outputs, weight, bias })
    }

    /// bias + x·W: each input's row of weights, contiguous, added in turn.
    fn forward(&self, x: &[f32]) -> Vec<f32> {
        let mut y = self.bias.clone();
        for (row, &v) in self.weight.chunks_exact(self.outputs).zip(x) {
            multiply_add(&mut y, v, row);
        }
        y
    }

    /// W·dy: the gradient with respect to the input, one dot product per input.
    fn input_gradient(&self, dy: &[f32]) -> Vec<f32> {
        self.weight.chunks_exact(self.outputs).map(|row| dot(row, dy)).collect()
    }
}

/// Σ a·b over eight partial sums: one running sum is a chain the compiler may not reorder,
/// eight independent ones fill SIMD lanes.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a8.remainder().iter().zip(b8.remainder()).map(|(x, y)| x * y).sum();
    let mut lanes = [0.0f32; 8];
    for (a, b) in a8.zip(b8) {
        for ((lane, &x), &y) in lanes.iter_mut().zip(a).zip(b) {
            *lane += x * y;
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// BatchNorm with its running statistics (inference): `(x − mean) / √(var + ε) · γ + β` per
/// channel, in the order burn's `batch_norm` computes it, so the two round alike.
#[derive(Clone)]
struct Norm {
    mean: Vec<f32>,
    std: Vec<f32>,
    gamma: Vec<f32>,
    beta: Vec<f32>,
}

impl Norm {
    /// burn's `BatchNorm` fields, in its visit order.
    fn read(take: &mut Take, path: &str, channels: usize, epsilon: f64) -> Result<Self, String> {
        if !(epsilon.is_finite() && epsilon > 0.0) {
            return Err(format!("BatchNorm epsilon {epsilon} is not a positive number"));
        }
        let gamma = take.next(&format!("{path}.gamma"), &[channels])?;
        let beta = take.next(&format!("{path}.beta"), &[channels])?;
        let mean = take.next(&format!("{path}.running_mean"), &[channels])?;
        let var = take.next(&format!("{path}.running_var"), &[channels])?;
        // burn adds ε as the tensor's own type, f32.
        let std: Vec<f32> = var.iter().map(|&v| (v + epsilon as f32).sqrt()).collect();
        if !std.iter().all(|&s| s > 0.0) {
            return Err(format!("{path}.running_var holds a variance that is negative or cancels epsilon"));
        }
        Ok(Self { mean, std, gamma, beta })
    }

    /// In place, over `[channels, positions]`.
    fn apply(&self, x: &mut [f32], positions: usize) {
        for (c, plane) in x.chunks_exact_mut(positions).enumerate() {
            let (m, s, g, b) = (self.mean[c], self.std[c], self.gamma[c], self.beta[c]);
            plane.iter_mut().for_each(|v| *v = (*v - m) / s * g + b);
        }
    }

    /// The gradient through [`Self::apply`], in place: a per-channel scale, `γ / √(var + ε)`.
    fn backward(&self, g: &mut [f32], positions: usize) {
        for (c, plane) in g.chunks_exact_mut(positions).enumerate() {
            let (s, gamma) = (self.std[c], self.gamma[c]);
            plane.iter_mut().for_each(|v| *v = *v * gamma / s);
        }
    }
}

fn relu(x: &mut [f32]) {
    // `v > 0` is false for a NaN, which becomes 0, as in burn's and our kernels' ReLU.
    x.iter_mut().for_each(|v| *v = if *v > 0.0 { *v } else { 0.0 });
}

/// The gradient where the ReLU's output `y` is positive, zero elsewhere (burn's rule).
fn relu_backward(y: &[f32], g: &mut [f32]) {
    assert_eq!(y.len(), g.len(), "a gradient for each output");
    for (g, &y) in g.iter_mut().zip(y) {
        *g = if y > 0.0 { *g } else { 0.0 };
    }
}

/// 2x2 max pooling, stride 2, of `[channels, side, side]` (shown as `layer`), keeping which
/// value of each window won (0, 1 on the top row, 2, 3 below) in `seen.winners`. The first
/// of equal values wins, and a NaN always: the rules of our CPU kernel
/// (`kernels::pool::window`), whose backward routes the gradient alike.
fn pool(x: &[f32], channels: usize, side: usize, layer: Layer, seen: &mut Seen) -> Vec<f32> {
    let half = side / 2;
    let mut y = Vec::with_capacity(channels * half * half);
    let mut winners = Vec::with_capacity(channels * half * half);
    for plane in x.chunks_exact(side * side) {
        for pair in plane.chunks_exact(2 * side) {
            let (top, bottom) = pair.split_at(side);
            for (t, b) in top.chunks_exact(2).zip(bottom.chunks_exact(2)) {
                let mut best = (t[0], 0u8);
                for (k, v) in [(1, t[1]), (2, b[0]), (3, b[1])] {
                    if v > best.0 || v.is_nan() {
                        best = (v, k);
                    }
                }
                y.push(best.0);
                winners.push(best.1);
            }
        }
    }
    seen.layers.push((layer, [channels, half, half], y.clone()));
    seen.winners.push(winners);
    y
}

/// [`pool`] backwards: each output's gradient to the value its window kept, zero elsewhere;
/// `[channels, side, side]`.
fn unpool(dy: &[f32], winners: &[u8], side: usize) -> Vec<f32> {
    let half = side / 2;
    let mut dx = vec![0.0; dy.len() * 4];
    for (i, (&g, &k)) in dy.iter().zip(winners).enumerate() {
        let (plane, r, c) = (i / (half * half), i / half % half, i % half);
        let (r, c) = (2 * r + k as usize / 2, 2 * c + k as usize % 2);
        dx[plane * side * side + r * side + c] = g;
    }
    dx
}

fn logits(values: Vec<f32>) -> [f32; CLASSES] {
    values.try_into().expect("the head has ten outputs")
}

/// The file's tensors, taken in order and checked against what the network needs.
struct Take<'a> {
    tensors: &'a [(String, Vec<usize>, Vec<f32>)],
    next: usize,
}

impl Take<'_> {
    fn next(&mut self, path: &str, shape: &[usize]) -> Result<Vec<f32>, String> {
        let Some((found, dims, values)) = self.tensors.get(self.next) else {
            return Err(format!("{path} {shape:?} is missing: there are only {} tensors", self.tensors.len()));
        };
        self.next += 1;
        if found != path || dims != shape {
            return Err(format!("{found} {dims:?} where {path} {shape:?} is needed"));
        }
        if values.len() != shape.iter().product::<usize>() {
            return Err(format!("{path} {shape:?} holds {} values", values.len()));
        }
        if values.iter().any(|v| !v.is_finite()) {
            return Err(format!("{path} holds values that are not finite"));
        }
        Ok(values.clone())
    }

    /// Nothing may be left over.
    fn finish(self) -> Result<(), String> {
        match self.tensors.get(self.next) {
            Some((path, ..)) => Err(format!("{} tensors where {} are needed: {path} is extra", self.tensors.len(), self.next)),
            None => Ok(()),
        }
    }
}

#[cfg(all(test, feature = "engine"))]
pub(crate) mod tests {
    use burn::module::{Module, ModuleMapper, Param};
    use burn::prelude::*;
    use futures::executor::block_on;

    use super::*;
    use crate::data::PixelStats;
    use crate::inside::look::for_looking;
    use crate::model::Network;
    use crate::rng::Rng;
    use crate::testing::{cpu, floats};
    use crate::weights::{encode, parse_file, WeightsMeta};

    pub const STATS: PixelStats = PixelStats { mean: 0.1307, std: 0.3081 };

    /// f32 sums of up to 1,024 products in another order (burn's products, our kernels' and
    /// their Winograd transform) differ by some 1e-6 of the values' scale; 1e-4 leaves a wide
    /// margin and is still far below anything a wrong layout or BatchNorm would give (errors
    /// of the order of the values), and below one step of a picture (1/255).
    const TOLERANCE: f32 = 1e-4;

    /// A frozen burn network of `kind` on the CPU's autodiff device (as the reader worker
    /// holds one), and its tensors as its weights file holds them. Every tensor is drawn at
    /// random, biases and BatchNorm's γ, β and running statistics included, so that a bias
    /// or a statistic applied wrongly shows.
    pub fn networks(kind: NetworkKind, seed: u64) -> (Network, PlainNetwork) {
        let device = cpu();
        let mut rng = Rng::new(seed);
        let net = kind.config().init_seeded(&device, seed).map(&mut Scramble { path: Vec::new(), rng: &mut rng });
        let meta = WeightsMeta::new(kind, STATS, 0, 0.5);
        let bytes = block_on(encode(&net, &meta)).expect("the network should encode");
        let (_, tensors) = parse_file(&bytes).expect("its file should parse");
        let plain = PlainNetwork::new(kind, kind.batch_norm_epsilon().unwrap_or(0.0), &tensors).expect("the file's tensors should fit");
        (for_looking(net, &device), plain)
    }

    /// Redraws every rank-1 tensor (biases, BatchNorm's) by its name; weights stay
    /// Glorot-uniform.
    struct Scramble<'a> {
        path: Vec<String>,
        rng: &'a mut Rng,
    }

    impl ModuleMapper for Scramble<'_> {
        fn enter_module(&mut self, name: &str, _: &str) {
            self.path.push(name.to_owned());
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.path.pop();
        }
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            let name = self.path.last().cloned().unwrap_or_default();
            let (low, high) = match name.as_str() {
                "gamma" => (0.5, 1.5),
                "running_mean" => (-0.5, 1.0),
                "running_var" => (0.2, 2.0),
                _ => (-0.2, 0.2),
            };
            let rng = &mut *self.rng;
            param.map(|tensor| {
                let dims = tensor.dims();
                if D != 1 {
                    return tensor;
                }
                let values: Vec<f32> = (0..dims[0]).map(|_| rng.uniform(low, high)).collect();
                Tensor::<D>::from_data(TensorData::new(values, dims), &tensor.device())
            })
        }
    }

    /// A stroke-like image (as `inside::look`'s tests draw): a bright bar with soft edges,
    /// every pixel a little different, so that pooling has no ties.
    pub fn drawing(seed: u64) -> Vec<f32> {
        let mut rng = Rng::new(seed);
        (0..784)
            .map(|i| {
                let (r, c) = (i / 28, i % 28);
                let ink = if (6..22).contains(&r) && (12..16).contains(&c) {
                    0.9
                } else if (6..22).contains(&r) && (11..17).contains(&c) {
                    0.4
                } else {
                    0.0
                };
                ink + 0.1 * rng.next_f32()
            })
            .collect()
    }

    fn normalised(pixels: &[f32]) -> Vec<f32> {
        pixels.iter().map(|p| (p - STATS.mean) / STATS.std).collect()
    }

    fn image(values: &[f32], device: &Device) -> Tensor<4> {
        Tensor::from_data(TensorData::new(values.to_vec(), [1, 1, IMAGE_SIDE, IMAGE_SIDE]), device)
    }

    /// `ours` is `theirs` within [`TOLERANCE`] of the largest magnitude among them.
    fn assert_close(ours: &[f32], theirs: &[f32], what: &str) {
        assert_eq!(ours.len(), theirs.len(), "{what}: sizes");
        let scale = theirs.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-6);
        for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
            assert!((a - b).abs() <= TOLERANCE * scale, "{what}[{i}]: ours {a}, burn's {b} (scale {scale})");
        }
    }

    #[test]
    fn every_network_reads_and_shows_its_layers_as_burn_does() {
        let device = cpu().autodiff();
        for kind in NetworkKind::ALL {
            let (net, plain) = networks(kind, 21);
            assert_eq!(plain.kind(), kind);
            for seed in [1, 2] {
                let x = normalised(&drawing(seed));
                let mut theirs: Vec<(Layer, [usize; 4], Vec<f32>)> = Vec::new();
                let logits = net.forward_seen(image(&x, &device), &mut |layer, t| theirs.push((layer, t.dims(), floats(t.clone()))));
                let logits = floats(logits);
                let seen = plain.forward_seen(&x);
                assert_close(&seen.logits, &logits, &format!("{kind:?} logits"));
                assert_eq!(seen.layers.len(), theirs.len(), "{kind:?}: layers seen");
                for ((layer, shape, values), (their_layer, [_, c, h, w], their_values)) in seen.layers.iter().zip(&theirs) {
                    assert_eq!((layer, *shape), (their_layer, [*c, *h, *w]), "{kind:?}");
                    assert_close(values, their_values, &format!("{kind:?} {layer:?}"));
                }
                // `forward` reads alike and gives the dense layer's features (after ReLU).
                let (read, features) = plain.forward(&x);
                assert_eq!(read, seen.logits);
                let dense = theirs.iter().find(|(l, ..)| *l == Layer::Dense).map(|(.., v)| v.clone());
                assert_eq!(features.is_some(), kind != NetworkKind::Linear);
                if let (Some(ours), Some(theirs)) = (features, dense) {
                    assert_close(&ours, &theirs, &format!("{kind:?} features"));
                }
            }
            let (layer, w) = net.weight_pictures();
            let [a, b, h, wd] = w.dims();
            assert_eq!(plain.weight_pictures(), (layer, [a * b, h, wd], floats(w)), "{kind:?}: weight pictures");
        }
    }

    #[test]
    fn batch_norm_uses_the_running_statistics_the_file_holds() {
        // Guards the test above: with statistics left at their defaults (mean 0, var 1) a
        // BatchNorm forgotten or misapplied could pass unnoticed.
        let (_, plain) = networks(NetworkKind::VggBnDropout, 21);
        let Body::Vgg(vgg) = &plain.body else { panic!("a VGG network") };
        let norm = &vgg.norms.as_ref().expect("BatchNorm")[0];
        assert!(norm.mean.iter().all(|&m| m != 0.0) && norm.std.iter().all(|&s| (s - 1.0).abs() > 1e-6));
    }

    #[test]
    fn the_input_gradient_is_burns_autodiff_gradient() {
        let device = cpu().autodiff();
        for kind in NetworkKind::ALL {
            let (net, plain) = networks(kind, 5);
            let x = normalised(&drawing(3));
            let seen = plain.forward_seen(&x);
            for digit in [0, 7] {
                let input = image(&x, &device).require_grad();
                let logits = net.forward(input.clone());
                let grads = logits.slice([0..1, digit..digit + 1]).sum().backward();
                let theirs = floats(input.grad(&grads).expect("a gradient at the input"));
                let ours = plain.input_gradient(&seen, digit);
                assert!(ours.iter().any(|&g| g != 0.0), "{kind:?}: a gradient at all");
                assert_close(&ours, &theirs, &format!("{kind:?} gradient of logit {digit}"));
            }
        }
    }

    #[test]
    fn tensors_that_do_not_fit_are_refused_with_what_is_wrong() {
        let device = cpu();
        let file = |kind: NetworkKind| {
            let net = kind.config().init_seeded(&device, 1);
            parse_file(&block_on(encode(&net, &WeightsMeta::new(kind, STATS, 0, 0.5))).unwrap()).unwrap().1
        };
        let eps = 1e-3;
        let bn = file(NetworkKind::VggBnDropout);
        assert!(PlainNetwork::new(NetworkKind::VggBnDropout, eps, &bn).is_ok());

        let mut short = bn.clone();
        short.pop();
        assert_eq!(PlainNetwork::new(NetworkKind::VggBnDropout, eps, &short).unwrap_err(), "Vgg.head.bias [10] is missing: there are only 31 tensors");
        let mut long = bn.clone();
        long.push(("Vgg.extra".into(), vec![1], vec![0.0]));
        assert_eq!(PlainNetwork::new(NetworkKind::VggBnDropout, eps, &long).unwrap_err(), "33 tensors where 32 are needed: Vgg.extra is extra");
        // A VGG network without BatchNorm reads BatchNorm's tensors where it expects dense's.
        assert_eq!(PlainNetwork::new(NetworkKind::Vgg, eps, &bn).unwrap_err(), "Vgg.bn1.gamma [32] where Vgg.dense.weight [1024, 512] is needed");
        assert_eq!(PlainNetwork::new(NetworkKind::Linear, eps, &bn).unwrap_err(), "Vgg.conv1.weight [32, 1, 3, 3] where Linear.dense.weight [784, 10] is needed");

        let mut reshaped = bn.clone();
        reshaped[2].1 = vec![32, 32, 9, 1];
        assert_eq!(PlainNetwork::new(NetworkKind::VggBnDropout, eps, &reshaped).unwrap_err(), "Vgg.conv2.weight [32, 32, 9, 1] where Vgg.conv2.weight [32, 32, 3, 3] is needed");
        let mut truncated = bn.clone();
        truncated[1].2.pop();
        assert_eq!(PlainNetwork::new(NetworkKind::VggBnDropout, eps, &truncated).unwrap_err(), "Vgg.conv1.bias [32] holds 31 values");
        let mut infinite = file(NetworkKind::Linear);
        infinite[1].2[3] = f32::INFINITY;
        assert_eq!(PlainNetwork::new(NetworkKind::Linear, eps, &infinite).unwrap_err(), "Linear.dense.bias holds values that are not finite");
        let mut negative = bn.clone();
        let var = negative.iter_mut().find(|(p, ..)| p == "Vgg.bn3.running_var").unwrap();
        var.2[0] = -1.0;
        assert_eq!(PlainNetwork::new(NetworkKind::VggBnDropout, eps, &negative).unwrap_err(), "Vgg.bn3.running_var holds a variance that is negative or cancels epsilon");
        assert_eq!(PlainNetwork::new(NetworkKind::VggBnDropout, 0.0, &bn).unwrap_err(), "BatchNorm epsilon 0 is not a positive number");
        // Without BatchNorm the epsilon means nothing.
        assert!(PlainNetwork::new(NetworkKind::VggDropout, f64::NAN, &file(NetworkKind::VggDropout)).is_ok());
    }

    #[test]
    #[ignore = "a timing: cargo test --release --lib reader::net::tests::timing -- --ignored --nocapture"]
    fn timing() {
        let (_, plain) = networks(NetworkKind::VggBnDropout, 1);
        let x = normalised(&drawing(1));
        let runs = 100;
        let time = |f: &mut dyn FnMut()| {
            f();
            let started = std::time::Instant::now();
            for _ in 0..runs {
                f();
            }
            started.elapsed().as_secs_f64() * 1000.0 / runs as f64
        };
        let forward = time(&mut || {
            std::hint::black_box(plain.forward(std::hint::black_box(&x)));
        });
        let backward = time(&mut || {
            let seen = plain.forward_seen(std::hint::black_box(&x));
            std::hint::black_box(plain.input_gradient(&seen, 3));
        });
        println!("VggBnDropout, mean of {runs}: forward {forward:.3} ms, forward_seen + input_gradient {backward:.3} ms");
    }
}
