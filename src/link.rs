//! A run's settings in the page's address, so a link reproduces a setup: network, schedule
//! (with epochs and learning rate when custom), batch size, subset, augmentation, what chooses
//! the best epoch (held-out validation images or the test set), seed and
//! backend. Anyone can type an address: every value is checked, and one that does not fit is
//! ignored with a message saying which and why; the others still apply.
//!
//! `?network=bn-dropout&schedule=custom&epochs=3&lr=0.05&batch=64&subset=2000&augment=1&choose=test&seed=7&backend=cpu`

use crate::model::NetworkKind;
use crate::train::Selection;
use crate::worker::protocol::Backend;

/// The schedules the page offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScheduleChoice {
    Notebook,
    NotebookExtended,
    Custom,
}

impl ScheduleChoice {
    pub fn id(self) -> &'static str {
        match self {
            Self::Notebook => "notebook",
            Self::NotebookExtended => "extended",
            Self::Custom => "custom",
        }
    }

    pub fn from_id(id: &str) -> Option<Self> {
        [Self::Notebook, Self::NotebookExtended, Self::Custom].into_iter().find(|c| c.id() == id)
    }
}

/// The training-set sizes the page offers (0: all 60,000).
pub const SUBSETS: [usize; 4] = [0, 10_000, 2_000, 500];
pub const MAX_EPOCHS: usize = 100;
pub const MAX_BATCH: usize = 4096;
/// Far above any rate that trains these networks; a typo, not a choice.
pub const MAX_LR: f64 = 10.0;
/// Longer values are not read at all.
const MAX_VALUE: usize = 32;

/// Settings as the page's controls hold them. `None`: not in the address, so the page's own
/// default applies (the subset depends on the backend, augmentation on the network).
#[derive(Debug, Clone, PartialEq)]
pub struct RunSettings {
    pub network: NetworkKind,
    pub schedule: ScheduleChoice,
    pub epochs: usize,
    pub lr: f64,
    pub batch: usize,
    pub subset: Option<usize>,
    pub augment: Option<bool>,
    /// With `augment`, the strokes bent and the pen varied too (the default network's
    /// recipe): `augment=strokes`.
    pub strokes: bool,
    /// What chooses the best epoch; `None`: held-out validation images.
    pub selection: Option<Selection>,
    pub seed: u64,
    pub backend: Option<Backend>,
}

impl Default for RunSettings {
    fn default() -> Self {
        Self {
            network: NetworkKind::Linear,
            schedule: ScheduleChoice::Notebook,
            epochs: 3,
            lr: 0.05,
            batch: 64,
            subset: None,
            augment: None,
            strokes: false,
            selection: None,
            seed: 42,
            backend: None,
        }
    }
}

/// The address's query keys this module owns; others (`raw`, `bench`, `data`) are left alone.
pub const KEYS: [&str; 10] = ["network", "schedule", "epochs", "lr", "batch", "subset", "augment", "choose", "seed", "backend"];

/// Read the settings through `get` (a query lookup: the first value of a key, decoded).
/// Returns them with one message per value that was ignored.
pub fn parse(get: impl Fn(&str) -> Option<String>) -> (RunSettings, Vec<String>) {
    let mut settings = RunSettings::default();
    let mut problems = Vec::new();
    for key in KEYS {
        let Some(value) = get(key) else { continue };
        let shown: String = value.chars().take(MAX_VALUE).flat_map(char::escape_debug).collect();
        let outcome = if value.chars().count() > MAX_VALUE {
            Err("too long".to_owned())
        } else {
            apply(&mut settings, key, value.trim())
        };
        if let Err(why) = outcome {
            problems.push(format!("{key}=\"{shown}\" ({why})"));
        }
    }
    (settings, problems)
}

fn apply(s: &mut RunSettings, key: &str, value: &str) -> Result<(), String> {
    let whole = |max: usize| -> Result<usize, String> {
        match value.parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(format!("a whole number from 1 to {max}")),
        }
    };
    match key {
        "network" => s.network = NetworkKind::from_id(value).ok_or_else(|| format!("one of {}", ids(NetworkKind::ALL.iter().map(|k| k.id()))))?,
        "schedule" => s.schedule = ScheduleChoice::from_id(value).ok_or("notebook, extended or custom")?,
        "epochs" => s.epochs = whole(MAX_EPOCHS)?,
        "batch" => s.batch = whole(MAX_BATCH)?,
        "lr" => {
            s.lr = match value.parse::<f64>() {
                Ok(lr) if lr.is_finite() && lr > 0.0 && lr <= MAX_LR => lr,
                _ => return Err(format!("a number above 0 and at most {MAX_LR}")),
            }
        }
        "subset" => {
            let n = if value == "all" { Some(0) } else { value.parse::<usize>().ok() };
            s.subset = Some(n.filter(|n| SUBSETS.contains(n)).ok_or("all, 10000, 2000 or 500")?);
        }
        "augment" => {
            (s.augment, s.strokes) = match value {
                "1" | "true" | "on" => (Some(true), false),
                "0" | "false" | "off" => (Some(false), false),
                "strokes" => (Some(true), true),
                _ => return Err("1, 0 or strokes".into()),
            }
        }
        "choose" => s.selection = Some(Selection::from_name(value).ok_or("validation or test")?),
        "seed" => s.seed = value.parse().map_err(|_| "a whole number from 0 to 18446744073709551615")?,
        "backend" => s.backend = Some(Backend::from_id(value).ok_or("cpu or webgpu")?),
        _ => {}
    }
    Ok(())
}

fn ids<'a>(ids: impl Iterator<Item = &'a str>) -> String {
    ids.collect::<Vec<_>>().join(", ")
}

/// The settings as query pairs, in [`KEYS`] order; `None` fields are left out.
pub fn pairs(s: &RunSettings) -> Vec<(&'static str, String)> {
    let mut out = vec![("network", s.network.id().to_owned()), ("schedule", s.schedule.id().to_owned())];
    if s.schedule == ScheduleChoice::Custom {
        out.push(("epochs", s.epochs.to_string()));
        out.push(("lr", s.lr.to_string()));
    }
    out.push(("batch", s.batch.to_string()));
    if let Some(n) = s.subset {
        out.push(("subset", if n == 0 { "all".into() } else { n.to_string() }));
    }
    if let Some(a) = s.augment {
        out.push(("augment", if a && s.strokes { "strokes" } else if a { "1" } else { "0" }.into()));
    }
    if let Some(c) = s.selection {
        out.push(("choose", c.name().into()));
    }
    out.push(("seed", s.seed.to_string()));
    if let Some(b) = s.backend {
        out.push(("backend", b.id().to_owned()));
    }
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn from(query: &[(&str, &str)]) -> (RunSettings, Vec<String>) {
        parse(|key| query.iter().find(|(k, _)| *k == key).map(|(_, v)| v.to_string()))
    }

    #[test]
    fn a_link_restores_every_setting() {
        let want = RunSettings {
            network: NetworkKind::VggBnDropout,
            schedule: ScheduleChoice::Custom,
            epochs: 7,
            lr: 0.003,
            batch: 128,
            subset: Some(2_000),
            augment: Some(true),
            strokes: true,
            selection: Some(Selection::TestSet),
            seed: 9,
            backend: Some(Backend::WebGpu),
        };
        let query = pairs(&want);
        let (got, problems) = parse(|key| query.iter().find(|(k, _)| *k == key).map(|(_, v)| v.clone()));
        assert_eq!((got, problems), (want, vec![]));
        assert_eq!(from(&[("subset", "all"), ("augment", "0")]).0.subset, Some(0));
        let affine = from(&[("augment", "1")]).0;
        assert_eq!((affine.augment, affine.strokes), (Some(true), false));
        assert_eq!(pairs(&affine).iter().find(|(k, _)| *k == "augment").map(|(_, v)| v.as_str()), Some("1"));
    }

    #[test]
    fn no_settings_in_the_address_means_the_page_defaults() {
        assert_eq!(from(&[("raw", ""), ("bench", "vgg")]), (RunSettings::default(), vec![]));
    }

    #[test]
    fn each_bad_value_is_ignored_with_its_reason_and_the_rest_apply() {
        let (got, problems) = from(&[
            ("network", "resnet"),
            ("schedule", "custom"),
            ("epochs", "0"),
            ("lr", "NaN"),
            ("batch", "99999"),
            ("subset", "123"),
            ("augment", "maybe"),
            ("choose", "train"),
            ("seed", "-1"),
            ("backend", "cuda"),
        ]);
        assert_eq!(got, RunSettings { schedule: ScheduleChoice::Custom, ..RunSettings::default() });
        assert_eq!(problems.len(), 9, "{problems:?}");
        assert!(problems.contains(&"choose=\"train\" (validation or test)".to_owned()), "{problems:?}");
        assert!(problems[0].starts_with("network=\"resnet\" (one of linear, vgg,"), "{}", problems[0]);
        assert!(problems.contains(&"epochs=\"0\" (a whole number from 1 to 100)".to_owned()), "{problems:?}");
        assert!(problems.contains(&"lr=\"NaN\" (a number above 0 and at most 10)".to_owned()), "{problems:?}");
        for lr in ["inf", "-0.1", "0", "1e400", "11"] {
            assert_eq!(from(&[("lr", lr)]).1.len(), 1, "{lr}");
        }
    }

    #[test]
    fn a_hostile_value_is_cut_short_and_escaped_in_the_message() {
        let long = "<script>".repeat(1000);
        let (got, problems) = from(&[("network", &long), ("seed", "1\n2")]);
        assert_eq!(got, RunSettings::default());
        assert!(problems[0].len() < 80 && problems[0].ends_with("(too long)"), "{}", problems[0]);
        assert_eq!(problems[1], "seed=\"1\\n2\" (a whole number from 0 to 18446744073709551615)");
    }

    proptest! {
        #[test]
        fn any_address_gives_valid_settings(values in proptest::collection::vec(".{0,40}", KEYS.len())) {
            let (s, problems) = parse(|key| KEYS.iter().position(|k| *k == key).map(|i| values[i].clone()));
            prop_assert!((1..=MAX_EPOCHS).contains(&s.epochs) && (1..=MAX_BATCH).contains(&s.batch));
            prop_assert!(s.lr.is_finite() && s.lr > 0.0 && s.lr <= MAX_LR);
            prop_assert!(s.subset.is_none_or(|n| SUBSETS.contains(&n)));
            prop_assert!(problems.len() <= KEYS.len());
        }
    }
}
