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
