//! Native integration tests on the real MNIST (placed in www/data by scripts/setup.sh).
#![cfg(not(target_arch = "wasm32"))]

use std::path::Path;

use burn::prelude::*;
use futures::executor::block_on;
use mnist_studio::data::files::{load_dir, DEFAULT_DIR};
use mnist_studio::model::NetworkKind;
use mnist_studio::train::calibrate::{expected_calibration_error, mean_nll};
use mnist_studio::train::{evaluate, train, EpochReport, Flow, Observer, Schedule, StepReport, TrainConfig, TrainData};

fn mnist() -> mnist_studio::data::Mnist {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_DIR);
    load_dir(&dir).unwrap_or_else(|e| panic!("MNIST should be in {} (run scripts/setup.sh): {e}", dir.display()))
}

#[test]
fn the_real_mnist_has_the_published_counts_and_statistics() {
    let mnist = mnist();
    assert_eq!((mnist.train.len(), mnist.test.len()), (60_000, 10_000));
    assert_eq!(mnist.train.label_counts(), [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
    assert_eq!(mnist.test.label_counts(), [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
    assert!((mnist.stats.mean - 0.1307).abs() < 1e-4, "{:?}", mnist.stats);
    assert!((mnist.stats.std - 0.3081).abs() < 1e-4, "{:?}", mnist.stats);
}

#[test]
fn the_served_brotli_and_gzip_files_decode_to_the_raw_mnist_files() {
    // What the page fetches (.br by default, .gz with ?gzip) must be LeCun's files, byte for byte.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_DIR);
    for name in mnist_studio::data::dataset::FILES {
        let raw = std::fs::read(dir.join(name)).unwrap();
        for ext in ["br", "gz"] {
            let served = std::fs::read(dir.join(format!("{name}.{ext}"))).unwrap_or_else(|e| panic!("{name}.{ext}: {e} (run scripts/setup.sh)"));
            assert!(served.len() < raw.len() / 2, "{name}.{ext} is compressed");
            // Decoded whole, and as the page decodes it: chunk by chunk while it downloads
            // (chunk sizes as a browser's fetch gives them, and odd ones), on one thread and on
            // as many as the threaded trainer may have.
            for (size, threads) in [(1 << 16, 1), (65_521, 2), (7_777, 4)] {
                let mut streaming = mnist_studio::data::encoding::Streaming::on_threads(threads);
                streaming.expect(Some(served.len() as u64));
                served.chunks(size).for_each(|c| streaming.push(c));
                assert!(streaming.finish().unwrap() == raw, "{name}.{ext} decodes to {name} in chunks of {size} on {threads} threads");
            }
            assert!(mnist_studio::data::encoding::decode(served).unwrap() == raw, "{name}.{ext} decodes to {name}");
        }
    }
}

#[test]
fn the_served_image_files_are_packed_inside_brotli_in_four_parts() {
    // The page's 0.44 MB saving (src/data/packed.rs) rests on setup packing them, and the
    // threaded trainer's decoding on several threads (src/data/lanes.rs) on the parts.
    use std::io::Read;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_DIR);
    for name in ["train-images-idx3-ubyte", "t10k-images-idx3-ubyte"] {
        let served = std::fs::read(dir.join(format!("{name}.br"))).unwrap();
        let parts = mnist_studio::data::parts::layout(&served).unwrap().unwrap_or_else(|| panic!("{name}.br is in parts"));
        assert_eq!(parts.len(), 4, "{name}.br parts");
        let mut start = [0u8; 4];
        brotli_decompressor::Decompressor::new(&served[parts[0].clone()], 4096).read_exact(&mut start).unwrap();
        assert_eq!(start, mnist_studio::data::packed::MAGIC, "{name}.br holds the packed form");
    }
}

struct Quiet(Vec<EpochReport>);

impl Observer for Quiet {
    fn on_step(&mut self, _: &StepReport) {}
    fn on_epoch(&mut self, report: &EpochReport, _: &mnist_studio::model::Network) {
        self.0.push(report.clone());
    }
    async fn between_steps(&mut self) -> Flow {
        Flow::Continue
    }
}

#[test]
fn the_linear_network_passes_90_percent_after_one_epoch_on_real_mnist() {
    // One epoch at the notebook's main rate, 0.1 (at its warm-up rate, 0.01, it ends near 90.0%).
    let mnist = mnist();
    let device = Device::flex().autodiff();
    let config = TrainConfig::new(NetworkKind::Linear, Schedule::constant(1, 0.1), false);
    let data = TrainData::upload(&mnist, None, None, config.selection, &device.clone().inner());
    assert_eq!((data.train.len(), data.held_out.len(), data.test_len()), (55_000, 5_000, 10_000));
    let mut observer = Quiet(Vec::new());
    let outcome = block_on(train(&config, &data, &device, &mut observer, None)).unwrap();
    let epoch = &observer.0[0];
    let test = epoch.test_accuracy.expect("the first epoch is the best so far: its test accuracy is measured");
    assert!(epoch.held_out_accuracy >= 0.90 && test >= 0.90, "validation {:.4}, test {test:.4}", epoch.held_out_accuracy);
    let best = outcome.best.unwrap();
    assert_eq!(best.test_accuracy, test);

    // Calibration: the temperature fitted on the validation images lowers their negative
    // log-likelihood and keeps them well calibrated. (This network is close to calibrated
    // already, ECE about 0.007; the overconfident case is `train::calibrate`'s test, and the
    // shipped network's figures are in the README.)
    let eval = block_on(evaluate(&best.model, &data.held_out, &data.stats, 500)).unwrap();
    let (before, after) = (
        expected_calibration_error(&eval.logits, &eval.labels, 1.0, 15),
        expected_calibration_error(&eval.logits, &eval.labels, best.temperature, 15),
    );
    assert!(before < 0.03 && after < 0.03, "ECE {before} -> {after} at T = {}", best.temperature);
    assert!(mean_nll(&eval.logits, &eval.labels, best.temperature as f64) <= mean_nll(&eval.logits, &eval.labels, 1.0));
}

/// The policy in the page's meta tag, the one Trunk serves as a header (the worker's), and
/// what both allow: this origin only, no inline script.
#[test]
fn the_content_security_policy_is_the_same_in_the_page_and_the_served_header() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let read = |file: &str| std::fs::read_to_string(root.join(file)).unwrap();
    let between = |text: &str, start: &str, end: &str| -> String {
        let from = text.find(start).unwrap_or_else(|| panic!("{start} not found")) + start.len();
        text[from..from + text[from..].find(end).unwrap()].to_owned()
    };
    let page = between(&read("www/index.html"), "http-equiv=\"Content-Security-Policy\" content=\"", "\"");
    let header = between(&read("Trunk.toml"), "\"Content-Security-Policy\" = \"", "\"");
    assert_eq!(page, header);
    let directives: Vec<&str> = page.split(';').map(str::trim).collect();
    assert!(directives.contains(&"default-src 'self'"), "{page}");
    assert!(directives.contains(&"script-src 'self' 'wasm-unsafe-eval'"), "{page}");
    assert!(directives.contains(&"connect-src 'self'"), "{page}");
    assert!(!page.contains("unsafe-inline") && !page.contains("http") && !page.contains('*'), "{page}");
}

/// Thick strokes through `points` (fractions of a 280x280 pad), drawn with a round pen as
/// wide as the page's (22 px), as ink intensities: what the page reads off its canvas.
fn drawn(strokes: &[&[(f32, f32)]]) -> Vec<f32> {
    const SIDE: usize = 280;
    const RADIUS: f32 = 11.0;
    let mut ink = vec![0f32; SIDE * SIDE];
    for stroke in strokes {
        for pair in stroke.windows(2) {
            let ((x0, y0), (x1, y1)) = ((pair[0].0 * SIDE as f32, pair[0].1 * SIDE as f32), (pair[1].0 * SIDE as f32, pair[1].1 * SIDE as f32));
            for (i, v) in ink.iter_mut().enumerate() {
                let (px, py) = ((i % SIDE) as f32 + 0.5, (i / SIDE) as f32 + 0.5);
                let (dx, dy) = (x1 - x0, y1 - y0);
                let t = (((px - x0) * dx + (py - y0) * dy) / (dx * dx + dy * dy).max(1e-6)).clamp(0.0, 1.0);
                let d = ((px - x0 - t * dx).powi(2) + (py - y0 - t * dy).powi(2)).sqrt();
                *v = v.max((RADIUS + 0.5 - d).clamp(0.0, 1.0));
            }
        }
    }
    mnist_studio::draw::preprocess(&mnist_studio::draw::Ink { width: SIDE, height: SIDE, pixels: &ink }).expect("ink")
}

/// The shipped default network is stored at int8 (`weights::quantise`, 0.84 MB Brotli
/// against 1.53 at half precision, on the path to a first visit's first reading), and the
/// test accuracy its header states, which the page shows, is what it scores as stored:
/// measured after the rounding, not carried over from the network it came from.
#[test]
fn the_shipped_default_network_scores_the_test_accuracy_its_header_states() {
    let mnist = mnist();
    let bytes = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("www/models/default.weights")).unwrap();
    assert_eq!(u32::from_le_bytes(bytes[8..12].try_into().unwrap()), 3, "stored at int8 (format 3)");
    let device = Device::flex();
    let (model, meta) = mnist_studio::weights::decode(&bytes, None, &device).unwrap();
    let test = mnist_studio::train::batch::DeviceSplit::upload(&mnist.test.rows(0, mnist.test.len()), &device);
    let scored = block_on(evaluate(&model, &test, &meta.stats, 500)).unwrap().confusion.accuracy();
    let stated = meta.test_accuracy.expect("the default states its test accuracy");
    // Two readings either way: another CPU's kernels may round a borderline digit differently.
    assert!((scored - stated).abs() <= 2.0 / 10_000.0, "the header says {stated}, the network scores {scored}");
}

/// The shipped network's "not a digit" detector: it lets MNIST's test digits through at the
/// rate it was set for (99% of held-out digits read with confidence, `novelty::PASS_SURE`), and flags letters and
/// shapes drawn with the page's pen, which the softmax alone reads as digits.
#[test]
fn the_shipped_detector_passes_real_digits_and_flags_letters_and_shapes() {
    use mnist_studio::train::novelty;
    let mnist = mnist();
    let bytes = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("www/models/default.weights")).unwrap();
    let device = Device::flex();
    let (model, meta, detector) = mnist_studio::weights::decode_for_reading(&bytes, &device).unwrap();
    let detector = detector.expect("the default network ships with its detector");
    let digits = mnist.test.head(2_000);
    let f = block_on(novelty::features(&model, digits.images(), meta.stats, 500)).unwrap().unwrap();
    let passed = f.chunks_exact(detector.dim).filter(|f| detector.is_digit(f)).count() as f64 / digits.len() as f64;
    assert!(passed >= 0.98, "MNIST test digits passed: {passed}");

    let shapes: Vec<(&str, Vec<f32>)> = vec![
        ("X", drawn(&[&[(0.3, 0.2), (0.7, 0.8)], &[(0.7, 0.2), (0.3, 0.8)]])),
        ("H", drawn(&[&[(0.3, 0.2), (0.3, 0.8)], &[(0.7, 0.2), (0.7, 0.8)], &[(0.3, 0.5), (0.7, 0.5)]])),
        ("W", drawn(&[&[(0.2, 0.25), (0.35, 0.75), (0.5, 0.4), (0.65, 0.75), (0.8, 0.25)]])),
        ("M", drawn(&[&[(0.2, 0.75), (0.3, 0.25), (0.5, 0.6), (0.7, 0.25), (0.8, 0.75)]])),
        ("K", drawn(&[&[(0.35, 0.2), (0.35, 0.8)], &[(0.7, 0.2), (0.36, 0.5), (0.7, 0.8)]])),
        ("E", drawn(&[&[(0.65, 0.2), (0.35, 0.2), (0.35, 0.8), (0.65, 0.8)], &[(0.35, 0.5), (0.6, 0.5)]])),
        ("plus", drawn(&[&[(0.5, 0.2), (0.5, 0.8)], &[(0.2, 0.5), (0.8, 0.5)]])),
        ("star", drawn(&[&[(0.5, 0.2), (0.5, 0.8)], &[(0.25, 0.35), (0.75, 0.65)], &[(0.75, 0.35), (0.25, 0.65)]])),
        ("dash", drawn(&[&[(0.2, 0.5), (0.8, 0.52)]])),
        ("hash", drawn(&[&[(0.4, 0.2), (0.35, 0.8)], &[(0.65, 0.2), (0.6, 0.8)], &[(0.2, 0.4), (0.8, 0.4)], &[(0.2, 0.62), (0.8, 0.62)]])),
    ];
    // As the reader judges: the threshold for a confident reading or for an unsure one.
    let judged = |images: &[u8]| -> Vec<f32> {
        let f = block_on(novelty::features(&model, images, meta.stats, 500)).unwrap().unwrap();
        let n = images.len() / 784;
        let x: Vec<f32> = images.iter().map(|&p| (p as f32 / 255.0 - meta.stats.mean) / meta.stats.std).collect();
        let logits: Vec<f32> = model.forward(Tensor::<4>::from_data(TensorData::new(x, [n, 1, 28, 28]), &device)).into_data().convert::<f32>().try_to_vec::<f32>().unwrap();
        f.chunks_exact(detector.dim)
            .zip(logits.chunks(10))
            .map(|(f, l)| {
                let reading = mnist_studio::draw::reading::read(&mnist_studio::train::calibrate::probabilities(l, meta.temperature()));
                detector.strangeness(f, reading.is_some_and(|r| r.sure()))
            })
            .collect()
    };
    let images: Vec<u8> = shapes.iter().flat_map(|(_, p)| p.iter().map(|v| (v * 255.0).round() as u8)).collect();
    let strangeness = judged(&images);
    let flagged: Vec<&str> = shapes.iter().zip(&strangeness).filter(|(_, s)| **s > 1.0).map(|(s, _)| s.0).collect();
    assert!(flagged.len() >= 7, "flagged only {flagged:?} of 10 shapes ({strangeness:?})");

    // And digits drawn the same way still pass: a 1, a 7, an L-less 4.
    let ours = [
        drawn(&[&[(0.5, 0.2), (0.5, 0.8)]]),
        drawn(&[&[(0.3, 0.25), (0.7, 0.25), (0.45, 0.8)]]),
        drawn(&[&[(0.55, 0.2), (0.3, 0.6), (0.75, 0.6)], &[(0.6, 0.4), (0.6, 0.85)]]),
    ];
    let images: Vec<u8> = ours.iter().flat_map(|p| p.iter().map(|v| (v * 255.0).round() as u8)).collect();
    let strangeness = judged(&images);
    assert!(strangeness.iter().all(|&s| s <= 1.0), "drawn digits judged strange: {strangeness:?}");
}
