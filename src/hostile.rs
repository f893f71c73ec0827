//! Property tests: every parser of outside bytes (IDX files, gzip, Brotli, parts files,
//! weights files) returns a typed error or a value on any input, and never panics or
//! over-allocates. The budget is fixed (a number of cases per property) so CI time is bounded.

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use proptest::prelude::*;

    use crate::data::encoding::{decode, Streaming};
    use crate::data::idx::{parse_images, parse_labels, IMAGES_MAGIC, LABELS_MAGIC};
    use crate::data::IMAGE_PIXELS;
    use crate::data::PixelStats;
    use crate::model::NetworkKind;
    use crate::weights;

    const CASES: u32 = 2000;

    fn header(magic: u32, words: &[u32]) -> Vec<u8> {
        std::iter::once(magic).chain(words.iter().copied()).flat_map(u32::to_be_bytes).collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(CASES))]

        #[test]
        fn arbitrary_bytes_never_panic_any_parser(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
            let _ = parse_images(bytes.clone());
            let _ = parse_labels(bytes.clone());
            let _ = decode(bytes.clone());
            let _ = weights::read_meta(&bytes);
        }

        #[test]
        fn arbitrary_bytes_decoded_while_they_arrive_give_what_the_whole_file_gives(
            bytes in proptest::collection::vec(any::<u8>(), 0..4096), size in 1usize..600,
        ) {
            let mut streaming = Streaming::default();
            bytes.chunks(size).for_each(|c| streaming.push(c));
            prop_assert_eq!(streaming.finish(), decode(bytes));
        }

        #[test]
        fn arbitrary_parts_decoded_while_they_arrive_on_several_threads_give_what_the_whole_file_gives(
            lengths in proptest::collection::vec(0usize..300, 0..5), body in proptest::collection::vec(any::<u8>(), 0..1200),
            size in 1usize..600, threads in 1usize..4,
        ) {
            let bytes = [crate::data::parts::header(&lengths), body].concat();
            let mut streaming = Streaming::on_threads(threads);
            bytes.chunks(size).for_each(|c| streaming.push(c));
            prop_assert_eq!(streaming.finish(), decode(bytes));
        }

        #[test]
        fn packed_image_files_round_trip_and_packed_garbage_never_panics(
            pixels in proptest::collection::vec(prop_oneof![3 => Just(0u8), 1 => any::<u8>()], 0..3 * IMAGE_PIXELS),
            garbage in proptest::collection::vec(any::<u8>(), 0..4096),
        ) {
            use crate::data::packed::{pack, unpack, MAGIC};
            let whole = pixels.len() / IMAGE_PIXELS * IMAGE_PIXELS;
            let idx = crate::data::idx::encode::images((whole / IMAGE_PIXELS) as u32, 28, 28, &pixels[..whole]);
            prop_assert_eq!(unpack(&pack(&idx)).unwrap(), idx);
            let _ = unpack(&[&MAGIC[..], &header(IMAGES_MAGIC, &[(garbage.len() / 120) as u32, 28, 28]), &garbage].concat());
        }

        #[test]
        fn image_headers_with_any_counts_are_checked_against_the_bytes_present(
            count in any::<u32>(), rows in any::<u32>(), cols in any::<u32>(), body in 0usize..3 * IMAGE_PIXELS + 3,
        ) {
            let mut bytes = header(IMAGES_MAGIC, &[count, rows, cols]);
            bytes.resize(16 + body, 7);
            let parsed = parse_images(bytes);
            let exact = rows == 28 && cols == 28 && count as usize * IMAGE_PIXELS == body;
            prop_assert_eq!(parsed.is_ok(), exact);
        }

        #[test]
        fn label_headers_with_any_counts_are_checked_against_the_bytes_present(
            count in any::<u32>(), labels in proptest::collection::vec(0u8..12, 0..200),
        ) {
            let mut bytes = header(LABELS_MAGIC, &[count]);
            bytes.extend_from_slice(&labels);
            let parsed = parse_labels(bytes);
            let valid = count as usize == labels.len() && labels.iter().all(|&l| l < 10);
            prop_assert_eq!(parsed.is_ok(), valid);
        }

        #[test]
        fn gzip_streams_that_are_cut_or_altered_fail_cleanly(
            data in proptest::collection::vec(any::<u8>(), 1..2000), cut in any::<prop::sample::Index>(), flip in any::<prop::sample::Index>(),
        ) {
            use std::io::Write;
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            enc.write_all(&data).unwrap();
            let gz = enc.finish().unwrap();
            prop_assert_eq!(decode(gz.clone()).unwrap(), data.clone());
            let _ = decode(gz[..cut.index(gz.len())].to_vec());
            let mut altered = gz;
            let i = flip.index(altered.len());
            altered[i] ^= 0x5a;
            let _ = decode(altered);
        }
    }

    /// A valid weights file for the linear network (small, so many cases run quickly).
    fn linear_file() -> Vec<u8> {
        let device = burn::prelude::Device::flex();
        let net = NetworkKind::Linear.config().init(&device);
        let stats = PixelStats { mean: 0.13, std: 0.31 };
        futures::executor::block_on(weights::encode(&net, &weights::WeightsMeta::new(NetworkKind::Linear, stats, 0, 0.9))).unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(CASES))]

        #[test]
        fn weights_files_cut_or_altered_anywhere_are_refused(cut in any::<prop::sample::Index>(), flip in any::<prop::sample::Index>(), bit in 0u8..8) {
            thread_local!(static FILE: Vec<u8> = linear_file());
            FILE.with(|file| {
                let device = burn::prelude::Device::flex();
                let n = cut.index(file.len());
                prop_assert!(weights::decode(&file[..n], None, &device).is_err());
                let mut altered = file.clone();
                altered[flip.index(file.len())] ^= 1 << bit;
                prop_assert!(weights::decode(&altered, None, &device).is_err());
                Ok(())
            })?;
        }
    }
}

/// Weights files that pass the checksum: a valid file altered where its structure lies (the
/// version, the header, each tensor's name, rank, shape and storage, an int8 tensor's
/// scales) or in its values, with the checksum then made to match, as a crafted file would.
/// The checksum no longer stops them, so they reach every structural check, the reader's
/// network and a reading.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod crafted {
    use std::ops::Range;

    use proptest::prelude::*;

    use crate::reader::look::look;
    use crate::reader::network::Network;
    use crate::weights;

    /// Fewer cases than the properties above: each decodes a whole network twice (the
    /// reader's and burn's) and reads with it.
    const CASES: u32 = 300;

    /// The shipped default network: the richest file there is (BatchNorm, int8 rows, half
    /// precision, a "not a digit" detector).
    const DEFAULT: &[u8] = include_bytes!("../www/models/default.weights");

    /// Where a weights file's structure lies, and where its values do (`weights::file`'s
    /// layout): byte ranges, the CRC left out.
    struct Layout {
        structure: Vec<Range<usize>>,
        values: Vec<Range<usize>>,
        header: Range<usize>,
    }

    fn layout(bytes: &[u8]) -> Layout {
        let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        let version = u32_at(8);
        let header_len = u32_at(12);
        let header = 16..16 + header_len;
        let mut structure = vec![8..16, header.clone()];
        let mut at = header.end;
        structure.push(at..at + 4);
        let count = u32_at(at);
        at += 4;
        let mut values = Vec::new();
        for _ in 0..count {
            let path_len = u16::from_le_bytes([bytes[at], bytes[at + 1]]) as usize;
            let rank = bytes[at + 2 + path_len] as usize;
            let dims: Vec<usize> = (0..rank).map(|d| u32_at(at + 3 + path_len + 4 * d)).collect();
            let meta_end = at + 3 + path_len + 4 * rank + usize::from(version != 1);
            let storage = if version == 1 { 0 } else { bytes[meta_end - 1] };
            structure.push(at..meta_end);
            let n: usize = dims.iter().product();
            at = meta_end;
            if storage == 2 {
                structure.push(at..at + 4 * dims[0]);
                at += 4 * dims[0];
            }
            let len = n * [4, 2, 1][storage as usize];
            values.push(at..at + len);
            at += len;
        }
        assert_eq!(at + 4, bytes.len(), "the layout should account for every byte");
        Layout { structure, values, header }
    }

    fn with_crc(mut body: Vec<u8>) -> Vec<u8> {
        let crc = crc32fast::hash(&body);
        body.extend_from_slice(&crc.to_le_bytes());
        body
    }

    fn pick(ranges: &[Range<usize>], at: prop::sample::Index) -> usize {
        let total: usize = ranges.iter().map(|r| r.len()).sum();
        let mut i = at.index(total);
        for r in ranges {
            if i < r.len() {
                return r.start + i;
            }
            i -= r.len();
        }
        unreachable!("within the ranges' total")
    }

    /// What a drawing goes through with the file, on both sides: the reader's network and a
    /// reading with its inside view, and the trainer's (burn's) network, which must accept
    /// and refuse the same files. Any panic fails the property.
    fn check(bytes: &[u8]) -> Result<(), TestCaseError> {
        let reader = Network::from_file(bytes);
        let trainer = weights::decode(bytes, None, &burn::prelude::Device::flex());
        prop_assert_eq!(reader.is_ok(), trainer.is_ok(), "reader: {:?}, trainer: {:?}", reader.as_ref().err(), trainer.as_ref().err());
        if let Ok(network) = reader {
            let stroke: Vec<f32> = (0..784).map(|i| if (6..22).contains(&(i / 28)) && (12..16).contains(&(i % 28)) { 1.0 } else { 0.0 }).collect();
            for pixels in [vec![0.0; 784], stroke] {
                let (probabilities, strangeness) = network.read(&pixels);
                prop_assert_eq!(probabilities.len(), 10);
                // Finite weights can still overflow a sum; the worker then says the network
                // gives no numbers. Finite readings are probabilities.
                if probabilities.iter().all(|p| p.is_finite()) {
                    prop_assert!(probabilities.iter().all(|p| (0.0..=1.0).contains(p)), "{:?}", probabilities);
                    prop_assert!(strangeness.is_none_or(|s| !s.is_nan()), "strangeness {:?}", strangeness);
                }
                let _ = look(&network.net, 1, &pixels, network.meta.stats);
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(CASES))]

        #[test]
        fn crafted_weights_files_with_a_matching_checksum_are_refused_or_read(
            at in any::<prop::sample::Index>(), bit in 0u8..8, value in prop_oneof![
                Just(None), Just(Some(0u32)), Just(Some(1)), Just(Some(u32::MAX)), Just(Some(0x7fc0_0000)),
                Just(Some(0x7f80_0000)), Just(Some(0x7f7f_ffff)), Just(Some(0x0000_0001)), any::<u32>().prop_map(Some),
            ], in_values in prop::bool::weighted(0.2),
        ) {
            let body = &DEFAULT[..DEFAULT.len() - 4];
            let layout = layout(DEFAULT);
            let mut altered = body.to_vec();
            let i = pick(if in_values { &layout.values } else { &layout.structure }, at);
            match value {
                // A bit flipped where it falls.
                None => altered[i] ^= 1 << bit,
                // Four bytes (a length, a dimension, a scale or a value) set to a value
                // that breaks things, where they fit.
                Some(v) => {
                    let i = i.min(altered.len() - 4);
                    altered[i..i + 4].copy_from_slice(&v.to_le_bytes());
                }
            }
            check(&with_crc(altered))?;
        }

        #[test]
        fn crafted_headers_with_a_matching_checksum_are_refused_or_read(
            field in 0usize..8, number in prop_oneof![
                Just(0.0f64), Just(-1.0), Just(1e-9), Just(1e9), Just(f64::MAX), Just(0.5), Just(2.0), Just(1e-3), Just(100.0),
                -1e3f64..1e3,
            ], text in "[a-z_-]{0,12}",
        ) {
            let layout = layout(DEFAULT);
            let mut header: serde_json::Value = serde_json::from_slice(&DEFAULT[layout.header.clone()]).unwrap();
            let number = serde_json::json!(number);
            match field {
                0 => header["network"] = serde_json::json!(text),
                1 => header["stats"]["mean"] = number,
                2 => header["stats"]["std"] = number,
                3 => header["temperature"] = number,
                4 => header["epoch"] = number,
                5 => header["batch_norm_epsilon"] = number,
                6 => header["novelty_thresholds"][0] = number,
                _ => header["novelty_thresholds"][1] = number,
            }
            let json = serde_json::to_vec(&header).unwrap();
            let body = &DEFAULT[..DEFAULT.len() - 4];
            let altered = [&body[..12], &(json.len() as u32).to_le_bytes()[..], &json, &body[layout.header.end..]].concat();
            check(&with_crc(altered))?;
        }
    }

    #[test]
    fn the_default_network_passes_the_check_unaltered() {
        assert!(Network::from_file(DEFAULT).is_ok());
        assert!(Network::from_file(DEFAULT).unwrap().reads_numbers().is_ok());
        check(DEFAULT).unwrap();
    }

    /// Every value finite, so the file passes its checks, but so large that the network's sums
    /// overflow: the reader refuses it rather than take it and lose it at the first stroke.
    #[test]
    fn a_network_whose_sums_overflow_is_refused_by_a_trial_reading() {
        let mut body = DEFAULT[..DEFAULT.len() - 4].to_vec();
        for range in layout(DEFAULT).values {
            for (i, byte) in body[range].iter_mut().enumerate() {
                *byte = 1e30f32.to_le_bytes()[i % 4];
            }
        }
        let network = Network::from_file(&with_crc(body)).expect("every value is finite: the file's checks pass");
        let refused = network.reads_numbers().expect_err("its readings are not numbers");
        assert!(refused.contains("not numbers"), "{refused}");
    }
}
