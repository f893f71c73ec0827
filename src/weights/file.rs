//! Reading and writing the weights file as plain values (its layout: the parent module's
//! documentation), without burn: the reader worker is built without it. Building a burn
//! network from a file, and a file from one, is `network`'s.

use serde::{Deserialize, Serialize};

use super::{WeightsError, WeightsMeta};
use crate::train::novelty::Novelty;

const MAGIC: &[u8; 8] = b"MNISTSTD";
/// Every tensor f32.
const VERSION: u32 = 1;
/// A storage byte per tensor (f32 or f16).
const VERSION_MIXED: u32 = 2;
/// A storage byte per tensor that may also say int8 (`quantise`): a build that reads only
/// f32 and f16 then says "written by a newer version" instead of "damaged".
const VERSION_QUANTISED: u32 = 3;
/// [`halve`] stores tensors of at least this many values at half precision. Smaller ones
/// (biases, BatchNorm's scales and statistics) are a few kilobytes and keep f32: a variance
/// of 1e-8 would flush to zero in f16.
const HALF_MIN: usize = 1024;
/// No run is longer (the page's schedules have at most 16 epochs).
const MAX_EPOCH: usize = 10_000;
const MAX_HEADER: usize = 4096;
const MAX_TENSORS: usize = 64;
const MAX_PATH: usize = 256;
const MAX_RANK: usize = 4;
/// The largest network here has under 600,000 parameters; nothing legitimate comes near.
const MAX_VALUES: usize = 4 << 20;

pub type Tensors = Vec<(String, Vec<usize>, Vec<f32>)>;

/// How a tensor's values are stored in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Storage {
    F32 = 0,
    F16 = 1,
    /// Per row (by the first dimension: a convolution's output channel, a dense layer's input
    /// unit, as burn lays its weights out, [in, out]): an f32 scale for each row, then each
    /// value as a signed byte, `value = byte * scale`.
    I8 = 2,
}

/// How small a file's large tensors are stored (what it is written with, and what a rewrite
/// keeps).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Precision {
    Full,
    /// Tensors of at least [`HALF_MIN`] values at f16 ([`halve`]).
    Half,
    /// The network's weight matrices at int8 per row and the detector's whitening at f16
    /// ([`quantise`]).
    Int8,
}

/// The same file with a "not a digit" detector fitted for its network (replacing any it had).
pub fn with_novelty(bytes: &[u8], novelty: &Novelty) -> Result<Vec<u8>, WeightsError> {
    let parsed = parse(bytes)?;
    Ok(write(&parsed.meta, &parsed.tensors, Some(novelty), parsed.precision))
}

/// The same network under `meta`, its tensors of at least [`HALF_MIN`] values stored at half
/// precision (each value rounded to the nearest f16; a tensor with a value beyond f16's range
/// keeps f32): about half the bytes. The detector, if any, keeps f32. The caller measures
/// what the rounding did and says so in `meta` (`train --half`).
pub fn halve(bytes: &[u8], meta: &WeightsMeta) -> Result<Vec<u8>, WeightsError> {
    let parsed = parse(bytes)?;
    Ok(write(meta, &parsed.tensors, parsed.novelty.as_ref(), Precision::Half))
}

/// The same network under `meta`, a quarter of its weights' bytes: each weight matrix (a
/// tensor of rank 2 or more with at least [`HALF_MIN`] values: the convolutions' kernels and
/// the dense layers') as signed bytes with a scale per row (the row's largest magnitude over
/// 127, so each value moves by at most half a scale), the detector's whitening matrix at f16,
/// biases and BatchNorm's parameters and statistics at f32. What the shipped default network
/// is: it is on the path to a first visit's first reading. The caller measures what the
/// rounding did and says so in `meta`, and fits the detector again (`train --int8`).
pub fn quantise(bytes: &[u8], meta: &WeightsMeta) -> Result<Vec<u8>, WeightsError> {
    let parsed = parse(bytes)?;
    Ok(write(meta, &parsed.tensors, parsed.novelty.as_ref(), Precision::Int8))
}

/// How a tensor is stored at `precision`: f16 for a large tensor that fits f16's range when
/// halving (not the detector's, whose distances are fitted at f32) and for the detector's
/// whitening matrix when quantising; int8 for the network's large matrices when quantising.
fn storage(path: &str, shape: &[usize], values: &[f32], precision: Precision) -> Storage {
    let fits = || values.iter().all(|v| v.abs() <= half::f16::MAX.to_f32());
    let large = values.len() >= HALF_MIN;
    let detector = path.starts_with("novelty.");
    match precision {
        Precision::Half if large && !detector && fits() => Storage::F16,
        Precision::Int8 if large && !detector && shape.len() >= 2 => Storage::I8,
        Precision::Int8 if path == WHITEN && fits() => Storage::F16,
        _ => Storage::F32,
    }
}

/// `values` as int8 rows of `row` values each: every row's scale, then its bytes.
fn put_int8(out: &mut Vec<u8>, values: &[f32], row: usize) {
    let scales: Vec<f32> = values.chunks(row).map(|r| r.iter().fold(0f32, |m, v| m.max(v.abs())) / 127.0).collect();
    scales.iter().for_each(|s| out.extend_from_slice(&s.to_le_bytes()));
    for (r, &scale) in values.chunks(row).zip(&scales) {
        // An all-zero row has scale 0; its bytes are 0.
        r.iter().for_each(|&v| out.push(if scale > 0.0 { (v / scale).round().clamp(-127.0, 127.0) as i8 as u8 } else { 0 }));
    }
}

/// The file's JSON header: the metadata, and what the weights' meaning depends on.
#[derive(Serialize, Deserialize)]
struct Header {
    #[serde(flatten)]
    meta: WeightsMeta,
    /// BatchNorm's epsilon, for a network with BatchNorm; absent in files written before it
    /// was recorded, which are read as using the network's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    batch_norm_epsilon: Option<f64>,
    /// The "not a digit" detector's thresholds (for a confident reading, for an unsure one),
    /// when the file carries one (its tensors are the last two, named `novelty.*`;
    /// `train::novelty`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    novelty_thresholds: Option<[f32; 2]>,
}

/// Tensor names of the "not a digit" detector, after the network's own.
const WHITEN: &str = "novelty.whiten";
const CENTRES: &str = "novelty.centres";

pub(crate) fn write(meta: &WeightsMeta, tensors: &Tensors, novelty: Option<&Novelty>, precision: Precision) -> Vec<u8> {
    let header = Header {
        meta: meta.clone(),
        batch_norm_epsilon: meta.network.batch_norm_epsilon(),
        novelty_thresholds: novelty.map(|n| [n.threshold, n.unsure_threshold]),
    };
    let mut tensors = tensors.clone();
    if let Some(n) = novelty {
        tensors.push((WHITEN.into(), vec![n.whiten.len()], n.whiten.clone()));
        tensors.push((CENTRES.into(), vec![n.centres.len() / n.dim.max(1), n.dim], n.centres.clone()));
    }
    let header = serde_json::to_vec(&header).expect("metadata should serialise");
    let values: usize = tensors.iter().map(|(_, _, v)| v.len()).sum();
    let storages: Vec<Storage> = tensors.iter().map(|(path, shape, values)| storage(path, shape, values, precision)).collect();
    let version = if storages.contains(&Storage::I8) {
        VERSION_QUANTISED
    } else if storages.contains(&Storage::F16) {
        VERSION_MIXED
    } else {
        VERSION
    };
    let mixed = version != VERSION;
    let mut out = Vec::with_capacity(values * 4 + header.len() + 4096);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    out.extend_from_slice(&header);
    out.extend_from_slice(&(tensors.len() as u32).to_le_bytes());
    for ((path, shape, values), storage) in tensors.iter().zip(storages) {
        out.extend_from_slice(&(path.len() as u16).to_le_bytes());
        out.extend_from_slice(path.as_bytes());
        out.push(shape.len() as u8);
        shape.iter().for_each(|&d| out.extend_from_slice(&(d as u32).to_le_bytes()));
        if mixed {
            out.push(storage as u8);
        }
        match storage {
            Storage::F32 => values.iter().for_each(|v| out.extend_from_slice(&v.to_le_bytes())),
            Storage::F16 => values.iter().for_each(|&v| out.extend_from_slice(&half::f16::from_f32(v).to_le_bytes())),
            Storage::I8 => put_int8(&mut out, values, values.len() / shape[0]),
        }
    }
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Read only the metadata (checks the whole file first).
pub fn read_meta(bytes: &[u8]) -> Result<WeightsMeta, WeightsError> {
    parse_file(bytes).map(|(meta, _)| meta)
}

/// A checked file: metadata, the network's tensors in visit order, and its detector.
pub(crate) struct Parsed {
    pub(crate) meta: WeightsMeta,
    pub(crate) tensors: Tensors,
    pub(crate) novelty: Option<Novelty>,
    /// How small its tensors were stored (kept so when the file is rewritten).
    precision: Precision,
}

/// Check a whole file and give what reading digits needs: its metadata, the network's
/// tensors and its "not a digit" detector, if any. The tensors' names and shapes are the
/// caller's to check against its network.
pub fn parse_for_reading(bytes: &[u8]) -> Result<(WeightsMeta, Tensors, Option<Novelty>), WeightsError> {
    parse(bytes).map(|p| (p.meta, p.tensors, p.novelty))
}

/// Check a whole file and give its metadata and the network's tensors (path, shape,
/// values), in visit order.
pub(crate) fn parse_file(bytes: &[u8]) -> Result<(WeightsMeta, Tensors), WeightsError> {
    parse(bytes).map(|p| (p.meta, p.tensors))
}

pub(crate) fn parse(bytes: &[u8]) -> Result<Parsed, WeightsError> {
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        return Err(WeightsError::NotWeights);
    }
    let damaged = |what: &str| WeightsError::Damaged(what.to_owned());
    let (body, crc) = bytes.split_at(bytes.len().checked_sub(4).ok_or_else(|| damaged("too short"))?);
    let mut r = Reader { bytes: &body[MAGIC.len().min(body.len())..] };
    if body.len() < MAGIC.len() {
        return Err(damaged("too short"));
    }
    // The checksum first: a damaged file says so, rather than whatever its damaged version
    // field happens to say.
    if crc32fast::hash(body) != u32::from_le_bytes(crc.try_into().expect("4 bytes")) {
        return Err(damaged("its checksum does not match (truncated or altered)"));
    }
    let version = r.u32()?;
    if ![VERSION, VERSION_MIXED, VERSION_QUANTISED].contains(&version) {
        return Err(WeightsError::UnknownVersion(version));
    }
    let header_len = r.u32()? as usize;
    if header_len > MAX_HEADER {
        return Err(damaged("header too large"));
    }
    let header: Header =
        serde_json::from_slice(r.take(header_len)?).map_err(|e| WeightsError::Damaged(format!("header: {e}")))?;
    let meta = header.meta.clone();
    let epsilon = meta.network.batch_norm_epsilon();
    if header.batch_norm_epsilon.is_some_and(|e| Some(e) != epsilon) {
        return Err(WeightsError::Mismatch {
            network: meta.network.id().into(),
            detail: match epsilon {
                Some(epsilon) => format!("BatchNorm epsilon {} where {epsilon} is used", header.batch_norm_epsilon.unwrap_or_default()),
                None => "it records a BatchNorm epsilon, but the network has no BatchNorm".into(),
            },
        });
    }
    // Pixels are 0-1, so are their mean and (at most half of that) their deviation; a
    // deviation near 0 would blow the inputs up to infinities and the reading to NaN.
    if !((0.0..=1.0).contains(&meta.stats.mean) && (1e-3..=1.0).contains(&meta.stats.std)) {
        return Err(damaged("normalisation statistics are not usable"));
    }
    // A temperature of 0 or below would turn every reading into a certainty or invert it; one
    // near 0 divides the logits into infinities. Fitted ones lie within 0.25-10.
    if meta.temperature.is_some_and(|t| !(0.01..=100.0).contains(&t)) {
        return Err(damaged("its temperature is not a positive number within 0.01-100"));
    }
    // Past any run's length: an epoch count near usize::MAX would wrap when counted on.
    if meta.epoch > MAX_EPOCH {
        return Err(damaged("its epoch count is beyond any run"));
    }
    let fraction = |a: Option<f32>| a.is_none_or(|a| (0.0..=1.0).contains(&a));
    if !(fraction(meta.test_accuracy) && fraction(meta.validation_accuracy)) {
        return Err(damaged("an accuracy outside 0-1"));
    }
    let count = r.u32()? as usize;
    if count > MAX_TENSORS {
        return Err(damaged("too many tensors"));
    }
    let mut tensors = Vec::with_capacity(count);
    let mut total = 0usize;
    let mut precision = Precision::Full;
    for _ in 0..count {
        let path_len = r.u16()? as usize;
        if path_len > MAX_PATH {
            return Err(damaged("tensor name too long"));
        }
        let path = std::str::from_utf8(r.take(path_len)?).map_err(|_| damaged("tensor name is not text"))?.to_owned();
        let rank = r.u8()? as usize;
        if rank == 0 || rank > MAX_RANK {
            return Err(damaged("tensor rank out of range"));
        }
        let mut shape = Vec::with_capacity(rank);
        let mut n = 1usize;
        for _ in 0..rank {
            let d = r.u32()? as usize;
            n = n.checked_mul(d).filter(|&n| n <= MAX_VALUES).ok_or_else(|| damaged("tensor too large"))?;
            shape.push(d);
        }
        total += n;
        if total > MAX_VALUES {
            return Err(damaged("too many values"));
        }
        let storage = match version {
            VERSION => Storage::F32,
            _ => match r.u8()? {
                0 => Storage::F32,
                1 => Storage::F16,
                2 if version == VERSION_QUANTISED => Storage::I8,
                _ => return Err(damaged(&format!("{path} is stored in an unknown way"))),
            },
        };
        precision = precision.max(match storage {
            Storage::F32 => Precision::Full,
            Storage::F16 if version == VERSION_QUANTISED => Precision::Int8,
            Storage::F16 => Precision::Half,
            Storage::I8 => Precision::Int8,
        });
        let values: Vec<f32> = match storage {
            Storage::F32 => r.take(n * 4)?.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect(),
            Storage::F16 => r.take(n * 2)?.chunks_exact(2).map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32()).collect(),
            Storage::I8 => {
                // Rows by the first dimension; `n` is bounded above, so is the row count.
                let rows = shape[0];
                if rank < 2 || rows == 0 {
                    return Err(damaged(&format!("{path} is stored as int8 rows but has none")));
                }
                let scales: Vec<f32> = r.take(rows * 4)?.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
                if scales.iter().any(|s| !(s.is_finite() && *s >= 0.0)) {
                    return Err(damaged(&format!("{path} has a scale that is not a number of zero or more")));
                }
                let row = n / rows;
                r.take(n)?.iter().enumerate().map(|(i, &b)| b as i8 as f32 * scales[i / row]).collect()
            }
        };
        if values.iter().any(|v| !v.is_finite()) {
            return Err(damaged(&format!("{path} holds values that are not finite")));
        }
        // A variance below zero passes every other check and then turns every reading into
        // NaN (the square root of a negative number).
        if path.ends_with("running_var") && values.iter().any(|&v| v < 0.0) {
            return Err(damaged(&format!("{path} holds a negative variance")));
        }
        tensors.push((path, shape, values));
    }
    if !r.bytes.is_empty() {
        return Err(damaged("unexpected bytes after the last tensor"));
    }
    let novelty = match header.novelty_thresholds {
        None => None,
        Some(thresholds) => Some(novelty(&mut tensors, thresholds).ok_or_else(|| damaged("its \"not a digit\" detector is incomplete or malformed"))?),
    };
    if tensors.iter().any(|(path, _, _)| path.starts_with("novelty.")) {
        return Err(damaged("detector tensors without a threshold"));
    }
    Ok(Parsed { meta, tensors, novelty, precision })
}

/// The detector's two tensors, taken off the end of `tensors`, if they are there and fit.
fn novelty(tensors: &mut Tensors, [threshold, unsure_threshold]: [f32; 2]) -> Option<Novelty> {
    let (centres_path, centres_shape, centres) = tensors.pop()?;
    let (whiten_path, whiten_shape, whiten) = tensors.pop()?;
    let dim = *centres_shape.get(1)?;
    // The detector judges the dense layer's features, so it has their size; any other (0
    // included, whose rows the distance cannot even be cut into) is a crafted file.
    let fits = whiten_path == WHITEN
        && centres_path == CENTRES
        && dim == crate::model::sizes::HIDDEN
        && whiten_shape == [crate::train::novelty::packed_len(dim)]
        && centres_shape == [10, dim];
    let usable = threshold.is_finite() && unsure_threshold > 0.0 && unsure_threshold <= threshold;
    (fits && usable).then_some(Novelty { dim, whiten, centres, threshold, unsure_threshold })
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], WeightsError> {
        if n > self.bytes.len() {
            return Err(WeightsError::Damaged("it ends early".into()));
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }
    fn u8(&mut self) -> Result<u8, WeightsError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, WeightsError> {
        Ok(u16::from_le_bytes(self.take(2)?.try_into().expect("2 bytes")))
    }
    fn u32(&mut self) -> Result<u32, WeightsError> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }
}

#[cfg(all(test, feature = "engine"))]
mod tests {
    use futures::executor::block_on;

    use burn::prelude::*;

    use super::*;
    use crate::data::PixelStats;
    use crate::model::{Network, NetworkKind};
    use crate::weights::{decode, decode_for_reading, encode};
    use crate::testing::{cpu, floats};

    const STATS: PixelStats = PixelStats { mean: 0.1307, std: 0.3081 };

    fn file(kind: NetworkKind) -> (Network, Vec<u8>) {
        let device = cpu();
        device.seed(1);
        let net = kind.config().init(&device);
        let meta = WeightsMeta { validation_accuracy: Some(0.99), temperature: Some(1.6), ..WeightsMeta::new(kind, STATS, 3, 0.987) };
        let bytes = block_on(encode(&net, &meta)).unwrap();
        (net, bytes)
    }

    #[test]
    fn a_not_a_digit_detector_travels_with_the_weights_and_is_checked() {
        let device = cpu();
        let (net, bytes) = file(NetworkKind::Vgg);
        let novelty = made_up_novelty(1.0);
        let with = with_novelty(&bytes, &novelty).unwrap();
        let (loaded, meta, found) = decode_for_reading(&with, &device).unwrap();
        assert_eq!(found, Some(novelty.clone()));
        assert_eq!(meta, read_meta(&bytes).unwrap());
        let x = Tensor::<4>::ones([1, 1, 28, 28], &device);
        assert_eq!(floats(net.forward(x.clone())), floats(loaded.forward(x)));
        // The network's own tensors are what export and the plain decode see.
        assert_eq!(parse_file(&with).unwrap().1, parse_file(&bytes).unwrap().1);
        assert!(decode_for_reading(&bytes, &device).unwrap().2.is_none());
        // A threshold whose tensors do not fit is a damaged file, not a silent "no detector":
        // too few centres, or a detector of another size than the features it judges (none
        // at all, whose rows cannot be cut; two; the whole file's checksum made good).
        for (dim, centres) in [(2, 9), (0, 10), (2, 10), (40, 10)] {
            let (meta, mut tensors) = parse_file(&with).unwrap();
            let whiten = crate::train::novelty::packed_len(dim);
            tensors.push((WHITEN.into(), vec![whiten], vec![1.0; whiten]));
            tensors.push((CENTRES.into(), vec![centres, dim], vec![1.0; centres * dim]));
            let header = Header { meta, batch_norm_epsilon: None, novelty_thresholds: Some([1.0, 1.0]) };
            let mut forged = MAGIC.to_vec();
            forged.extend_from_slice(&VERSION.to_le_bytes());
            let json = serde_json::to_vec(&header).unwrap();
            forged.extend_from_slice(&(json.len() as u32).to_le_bytes());
            forged.extend_from_slice(&json);
            let body = write(&read_meta(&bytes).unwrap(), &tensors, None, Precision::Full);
            // Splice: the forged header, then the tensor section of a file with the bad tensors.
            let old_header = u32::from_le_bytes(body[12..16].try_into().unwrap()) as usize;
            forged.extend_from_slice(&body[16 + old_header..body.len() - 4]);
            let crc = crc32fast::hash(&forged);
            forged.extend_from_slice(&crc.to_le_bytes());
            assert!(matches!(decode_for_reading(&forged, &device), Err(WeightsError::Damaged(_))), "a detector of {dim} with {centres} centres");
        }
    }

    #[test]
    fn weights_round_trip_with_their_metadata() {
        let device = cpu();
        for kind in [NetworkKind::Linear, NetworkKind::VggBnDropout] {
            let (net, bytes) = file(kind);
            let (loaded, meta) = decode(&bytes, Some(kind), &device).unwrap();
            let expected = WeightsMeta { validation_accuracy: Some(0.99), temperature: Some(1.6), ..WeightsMeta::new(kind, STATS, 3, 0.987) };
            assert_eq!(meta, expected);
            let x = Tensor::<4>::ones([2, 1, 28, 28], &device);
            assert_eq!(floats(net.forward(x.clone())), floats(loaded.forward(x)), "{kind:?}");
        }
    }

    #[test]
    fn a_file_for_another_network_is_refused() {
        let (_, bytes) = file(NetworkKind::Linear);
        let err = decode(&bytes, Some(NetworkKind::Vgg), &cpu()).unwrap_err();
        assert_eq!(err, WeightsError::WrongNetwork { expected: "vgg".into(), found: "linear".into() });
    }

    #[test]
    fn truncated_altered_or_foreign_files_are_refused() {
        let device = cpu();
        let (_, bytes) = file(NetworkKind::Linear);
        for cut in [0, 5, 8, 12, 100, bytes.len() / 2, bytes.len() - 1] {
            assert!(decode(&bytes[..cut], None, &device).is_err(), "cut at {cut}");
        }
        let mut altered = bytes.clone();
        altered[bytes.len() / 2] ^= 1;
        assert!(matches!(decode(&altered, None, &device), Err(WeightsError::Damaged(_))));
        assert_eq!(decode(b"PK\x03\x04 a zip file", None, &device).unwrap_err(), WeightsError::NotWeights);
        let mut rng = crate::rng::Rng::new(3);
        let random: Vec<u8> = (0..5000).map(|_| rng.below(256) as u8).collect();
        assert!(decode(&random, None, &device).is_err());
    }

    #[test]
    fn a_file_whose_shapes_do_not_fit_its_network_is_refused() {
        // A well-formed file (valid checksum) claiming to be VGG but holding linear weights.
        let (_, bytes) = file(NetworkKind::Linear);
        let (mut meta, tensors) = parse_file(&bytes).unwrap();
        meta.network = NetworkKind::Vgg;
        let forged = write(&meta, &tensors, None, Precision::Full);
        let err = decode(&forged, None, &cpu()).unwrap_err();
        assert!(matches!(err, WeightsError::Mismatch { .. }), "{err:?}");
    }

    /// The file with its JSON header replaced by `edit(header)`, checksum recomputed.
    fn with_header(bytes: &[u8], mut edit: impl FnMut(&mut serde_json::Value)) -> Vec<u8> {
        let len = u32::from_le_bytes(bytes[12..16].try_into().unwrap()) as usize;
        let mut header: serde_json::Value = serde_json::from_slice(&bytes[16..16 + len]).unwrap();
        edit(&mut header);
        let header = serde_json::to_vec(&header).unwrap();
        let mut out = bytes[..12].to_vec();
        out.extend_from_slice(&(header.len() as u32).to_le_bytes());
        out.extend_from_slice(&header);
        out.extend_from_slice(&bytes[16 + len..bytes.len() - 4]);
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    #[test]
    fn the_header_names_the_network_by_its_id_and_old_files_with_the_variant_name_still_read() {
        let (_, bytes) = file(NetworkKind::VggBnDropout);
        let mut header = serde_json::Value::Null;
        let _ = with_header(&bytes, |h| header = h.clone());
        assert_eq!(header["network"], "bn-dropout");
        assert_eq!(header["batch_norm_epsilon"], 0.001);
        let old = with_header(&bytes, |h| {
            h["network"] = "VggBnDropout".into();
            h.as_object_mut().unwrap().remove("batch_norm_epsilon");
        });
        assert_eq!(read_meta(&old).unwrap().network, NetworkKind::VggBnDropout);
        let unknown = with_header(&bytes, |h| h["network"] = "resnet".into());
        assert!(matches!(read_meta(&unknown), Err(WeightsError::Damaged(d)) if d.contains("unknown network")));
        let (_, linear) = file(NetworkKind::Linear);
        let mut header = serde_json::Value::Null;
        let _ = with_header(&linear, |h| header = h.clone());
        assert!(header.get("batch_norm_epsilon").is_none(), "no BatchNorm, no epsilon: {header}");
    }

    #[test]
    fn a_batch_norm_epsilon_other_than_the_networks_is_refused() {
        let (_, bytes) = file(NetworkKind::VggBnDropout);
        let other = with_header(&bytes, |h| h["batch_norm_epsilon"] = 1e-5.into());
        assert!(matches!(read_meta(&other), Err(WeightsError::Mismatch { detail, .. }) if detail.contains("epsilon")));
        let (_, linear) = file(NetworkKind::Linear);
        let claimed = with_header(&linear, |h| h["batch_norm_epsilon"] = 1e-3.into());
        assert!(matches!(read_meta(&claimed), Err(WeightsError::Mismatch { .. })));
    }

    /// The calibration and accuracies in the header: a temperature of zero or below, or an
    /// accuracy outside 0-1, is damage; a file without them (written before) still reads.
    #[test]
    fn a_temperature_or_accuracy_that_cannot_be_is_refused_and_files_without_them_read() {
        let (_, bytes) = file(NetworkKind::Linear);
        // 1e-40 and 0.005 are positive, but divide the logits into infinities (NaN readings).
        for t in [0.0, -1.2, 1e9, 1e-40, 0.005] {
            let bad = with_header(&bytes, |h| h["temperature"] = t.into());
            assert!(matches!(read_meta(&bad), Err(WeightsError::Damaged(d)) if d.contains("temperature")), "{t}");
        }
        // Pixel statistics no 0-1 pixels have, or a deviation that makes every input infinite.
        for (mean, std) in [(0.13, 1e-38), (0.13, 0.0), (1.5, 0.3), (-0.1, 0.3), (0.13, 2.0)] {
            let bad = with_header(&bytes, |h| h["stats"] = serde_json::json!({ "mean": mean, "std": std }));
            assert!(matches!(read_meta(&bad), Err(WeightsError::Damaged(d)) if d.contains("statistics")), "{mean} {std}");
        }
        // An epoch count that would wrap when the page counts on from it.
        let bad = with_header(&bytes, |h| h["epoch"] = (u32::MAX as u64).into());
        assert!(matches!(read_meta(&bad), Err(WeightsError::Damaged(d)) if d.contains("epoch")));
        let bad = with_header(&bytes, |h| h["validation_accuracy"] = 1.5.into());
        assert!(matches!(read_meta(&bad), Err(WeightsError::Damaged(d)) if d.contains("accuracy")));
        let old = with_header(&bytes, |h| {
            let h = h.as_object_mut().unwrap();
            h.remove("temperature");
            h.remove("validation_accuracy");
        });
        let meta = read_meta(&old).unwrap();
        assert_eq!((meta.temperature, meta.validation_accuracy, meta.temperature()), (None, None, 1.0));
    }

    #[test]
    fn a_negative_running_variance_is_refused() {
        let (_, bytes) = file(NetworkKind::VggBnDropout);
        let (meta, mut tensors) = parse_file(&bytes).unwrap();
        let (path, _, values) = tensors.iter_mut().find(|(p, _, _)| p.ends_with("running_var")).expect("a BatchNorm layer");
        values[0] = -0.5;
        let path = path.clone();
        let err = read_meta(&write(&meta, &tensors, None, Precision::Full)).unwrap_err();
        assert_eq!(err, WeightsError::Damaged(format!("{path} holds a negative variance")));
    }

    #[test]
    fn a_damaged_version_field_reads_as_damage_and_a_real_newer_version_as_newer() {
        let (_, bytes) = file(NetworkKind::Linear);
        let mut damaged = bytes.clone();
        damaged[8] ^= 0x40;
        assert!(matches!(read_meta(&damaged), Err(WeightsError::Damaged(_))));
        let mut newer = bytes[..bytes.len() - 4].to_vec();
        newer[8..12].copy_from_slice(&4u32.to_le_bytes());
        let crc = crc32fast::hash(&newer);
        newer.extend_from_slice(&crc.to_le_bytes());
        assert_eq!(read_meta(&newer).unwrap_err(), WeightsError::UnknownVersion(4));
    }

    #[test]
    fn a_halved_file_holds_its_large_tensors_at_half_precision_and_reads_back_as_such() {
        let device = cpu();
        let (net, bytes) = file(NetworkKind::VggBnDropout);
        let novelty = made_up_novelty(1.0 / 3.0);
        let bytes = with_novelty(&bytes, &novelty).unwrap();
        let meta = WeightsMeta { test_accuracy: Some(0.9951), ..read_meta(&bytes).unwrap() };
        let halved = halve(&bytes, &meta).unwrap();
        assert_eq!(version(&bytes), VERSION, "an all-f32 file stays version 1");
        assert_eq!(version(&halved), VERSION_MIXED);
        assert!(halved.len() * 10 < bytes.len() * 6, "{} bytes from {}", halved.len(), bytes.len());
        let (loaded, read, found) = decode_for_reading(&halved, &device).unwrap();
        assert_eq!(read, meta, "the header given is the one written");
        assert_eq!(found, Some(novelty), "the detector keeps f32");
        let (before, after) = (parse_file(&bytes).unwrap().1, parse_file(&halved).unwrap().1);
        for ((path, _, a), (_, _, b)) in before.iter().zip(&after) {
            if a.len() >= HALF_MIN {
                // Round to nearest: within half a unit in the last place of f16 (11 bits).
                assert!(a.iter().zip(b).all(|(x, y)| (x - y).abs() <= x.abs() * 2f32.powi(-11) + 1e-7), "{path}");
                assert!(a.iter().zip(b).any(|(x, y)| x != y), "{path} was rounded");
            } else {
                assert_eq!(a, b, "{path} keeps f32");
            }
        }
        rewritten_and_read_alike(&net, &loaded, &halved, &after, 1e-2);
    }

    /// A smaller `file` rewritten (a detector fitted again) keeps its format and values
    /// (`after`), and `loaded` from it reads as the full `net` does, within `tolerance`.
    fn rewritten_and_read_alike(net: &Network, loaded: &Network, file: &[u8], after: &Tensors, tolerance: f32) {
        let again = with_novelty(file, &Novelty { threshold: 9.0, ..found_novelty(file) }).unwrap();
        assert_eq!(version(&again), version(file));
        assert_eq!(&parse_file(&again).unwrap().1, after);
        let x = Tensor::<4>::ones([2, 1, 28, 28], &cpu());
        let (full, small) = (floats(net.forward(x.clone())), floats(loaded.forward(x)));
        assert!(full.iter().zip(&small).all(|(a, b)| (a - b).abs() < tolerance * (1.0 + a.abs())), "{full:?} against {small:?}");
    }

    #[test]
    fn a_quantised_file_holds_its_matrices_as_int8_rows_and_reads_back_within_half_a_scale() {
        let device = cpu();
        let (net, bytes) = file(NetworkKind::VggBnDropout);
        let novelty = made_up_novelty(1.0 / 3.0);
        let bytes = with_novelty(&bytes, &novelty).unwrap();
        let meta = WeightsMeta { test_accuracy: Some(0.9948), ..read_meta(&bytes).unwrap() };
        let small = quantise(&bytes, &meta).unwrap();
        assert_eq!(version(&small), VERSION_QUANTISED);
        let (loaded, read, found) = decode_for_reading(&small, &device).unwrap();
        assert_eq!(read, meta, "the header given is the one written");
        let found = found.unwrap();
        assert_eq!((found.centres.clone(), found.threshold), (novelty.centres.clone(), novelty.threshold), "the centres keep f32");
        // Half a unit in the last place of f16, or of its subnormals near 0 (2^-25).
        assert!(found.whiten.iter().zip(&novelty.whiten).all(|(a, b)| (a - b).abs() <= b.abs() * 2f32.powi(-11) + 2f32.powi(-25)), "whitening at f16");
        let (before, after) = (parse_file(&bytes).unwrap().1, parse_file(&small).unwrap().1);
        let mut quantised = 0;
        for ((path, shape, a), (_, _, b)) in before.iter().zip(&after) {
            if a.len() >= HALF_MIN && shape.len() >= 2 {
                quantised += 1;
                let row = a.len() / shape[0];
                for (ra, rb) in a.chunks(row).zip(b.chunks(row)) {
                    let scale = ra.iter().fold(0f32, |m, v| m.max(v.abs())) / 127.0;
                    assert!(ra.iter().zip(rb).all(|(x, y)| (x - y).abs() <= scale * 0.5001), "{path}");
                    // The row's largest magnitude is kept (it is 127 scales).
                    assert!(ra.iter().zip(rb).any(|(x, y)| (x - y).abs() <= scale * 1e-5), "{path}");
                }
            } else {
                assert_eq!(a, b, "{path} keeps f32");
            }
        }
        assert_eq!(quantised, 5, "three convolutions (the first has 288 weights) and two dense layers");
        assert!(small.len() * 10 < bytes.len() * 4, "{} bytes from {}", small.len(), bytes.len());
        rewritten_and_read_alike(&net, &loaded, &small, &after, 5e-2);
    }

    #[test]
    fn an_int8_scale_that_is_not_a_number_or_int8_in_an_older_format_is_refused() {
        let (meta, tensors) = parse_file(&file(NetworkKind::Linear).1).unwrap();
        let small = write(&meta, &tensors, None, Precision::Int8);
        assert_eq!(version(&small), VERSION_QUANTISED);
        // The first tensor's first scale follows its storage byte.
        let at = first_storage_byte(&small);
        assert_eq!(small[at], Storage::I8 as u8);
        let forge = |edit: &dyn Fn(&mut Vec<u8>)| {
            let mut forged = small[..small.len() - 4].to_vec();
            edit(&mut forged);
            let crc = crc32fast::hash(&forged);
            forged.extend_from_slice(&crc.to_le_bytes());
            read_meta(&forged)
        };
        for bad in [f32::NAN, -0.5, f32::INFINITY] {
            let err = forge(&|f| f[at + 1..at + 5].copy_from_slice(&bad.to_le_bytes())).unwrap_err();
            assert!(matches!(&err, WeightsError::Damaged(m) if m.contains("scale")), "{bad}: {err:?}");
        }
        // Int8 in a format 2 file is not something format 2 has.
        let err = forge(&|f| f[8..12].copy_from_slice(&VERSION_MIXED.to_le_bytes())).unwrap_err();
        assert!(matches!(&err, WeightsError::Damaged(m) if m.contains("unknown way")), "{err:?}");
        assert!(read_meta(&small).is_ok());
    }

    /// Where the first tensor's storage byte is: after the header, the tensor count, and
    /// the tensor's name and dims.
    fn first_storage_byte(bytes: &[u8]) -> usize {
        let header = u32::from_le_bytes(bytes[12..16].try_into().unwrap()) as usize;
        let path = u16::from_le_bytes(bytes[20 + header..22 + header].try_into().unwrap()) as usize;
        let rank = bytes[22 + header + path] as usize;
        23 + header + path + 4 * rank
    }

    /// The format version a file says it is.
    fn version(bytes: &[u8]) -> u32 {
        u32::from_le_bytes(bytes[8..12].try_into().unwrap())
    }

    /// A detector of the network's feature size, its values made up.
    fn made_up_novelty(scale: f32) -> Novelty {
        let dim = crate::model::sizes::HIDDEN;
        Novelty {
            dim,
            whiten: (0..crate::train::novelty::packed_len(dim)).map(|i| (i as f32 * 0.37).sin()).collect(),
            centres: (0..10 * dim).map(|i| i as f32 * scale).collect(),
            threshold: 7.5,
            unsure_threshold: 6.0,
        }
    }

    fn found_novelty(bytes: &[u8]) -> Novelty {
        decode_for_reading(bytes, &cpu()).unwrap().2.unwrap()
    }

    #[test]
    fn a_tensor_beyond_half_precisions_range_keeps_f32_and_an_unknown_storage_is_refused() {
        let (meta, mut tensors) = parse_file(&file(NetworkKind::Linear).1).unwrap();
        tensors[0].2[5] = 1e6;
        let halved = write(&meta, &tensors, None, Precision::Half);
        assert_eq!(version(&halved), VERSION, "nothing could be halved");
        assert_eq!(parse_file(&halved).unwrap().1, tensors);
        tensors[0].2[5] = 0.5;
        let halved = write(&meta, &tensors, None, Precision::Half);
        assert_eq!(version(&halved), VERSION_MIXED);
        // Make the first tensor's storage byte 7.
        let at = first_storage_byte(&halved);
        let mut forged = halved[..halved.len() - 4].to_vec();
        assert_eq!(forged[at], Storage::F16 as u8);
        forged[at] = 7;
        let crc = crc32fast::hash(&forged);
        forged.extend_from_slice(&crc.to_le_bytes());
        assert!(matches!(read_meta(&forged), Err(WeightsError::Damaged(m)) if m.contains("unknown way")));
    }
}
