//! MNIST's image files with their zero pixels packed apart: how the page's Brotli copies of
//! the two image files hold them (`scripts/pack-images.mjs` writes them at setup).
//!
//! About 81% of MNIST's pixels are zero. Brotli spends much of its effort, and of its output,
//! on where the zeros are; told apart, the two are smaller: the training images are 7.80 MB
//! as Brotli of the IDX file and about 7.42 MB as Brotli of this form, and the decoder has a
//! third of the bytes to produce (15.5 MB instead of 47), so it finishes sooner too.
//!
//! The form, all of it inside one Brotli stream:
//!
//! | bytes | what |
//! |---|---|
//! | 4 | [`MAGIC`]: `MNZ` and version 1 |
//! | 16 | the IDX file's header, as it is: magic 0x00000803, count, 28, 28 |
//! | count x 28 x 4 | a mask: for each image, for each row, 32 bits (big-endian), bit 31 - j set when pixel j of the row is not zero; the last 4 bits are always clear |
//! | the rest | the pixels that are not zero, in the file's order, one byte each (1-255) |
//!
//! [`unpack`] gives back the IDX file, byte for byte, and checks as it goes: the header as the
//! IDX parser does (the same errors, so a bad header reads alike in either form), the mask's
//! length, its padding, and exactly one non-zero byte per set bit. The page never takes this
//! form from anywhere but a decompressed file ([`super::encoding`]), whose first bytes tell.

use super::encoding::INFLATED_LIMIT;
use super::error::FileProblem;
use super::idx::{image_count, IMAGES_HEADER, IMAGE_PIXELS, IMAGE_SIDE};

/// What a packed file starts with. An IDX file starts with two zero bytes, so the two
/// cannot be confused.
pub const MAGIC: [u8; 4] = *b"MNZ\x01";

/// Bytes of mask per image row: 28 bits, padded to 32.
const ROW_BYTES: usize = 4;
/// The 4 bits after a row's 28 pixels, always clear.
const PADDING: u32 = (1 << (32 - IMAGE_SIDE)) - 1;

/// Whether these (decompressed) bytes are a packed image file.
pub fn is_packed(bytes: &[u8]) -> bool {
    bytes.starts_with(&MAGIC)
}

/// The IDX image file a packed file holds, or what is wrong with it. Nothing is allocated
/// before the header's count is checked against the bytes present.
pub fn unpack(bytes: &[u8]) -> Result<Vec<u8>, FileProblem> {
    let whole = |len: usize| (MAGIC.len() + IMAGES_HEADER + len) as u64;
    let idx = bytes.strip_prefix(&MAGIC[..]).ok_or(FileProblem::BadPacking { reason: "it does not start with the packed form's magic".into() })?;
    let count = image_count(idx).map_err(|e| match e {
        FileProblem::NoHeader { needed, actual } => FileProblem::NoHeader { needed: needed + MAGIC.len(), actual: actual + MAGIC.len() },
        other => other,
    })? as usize;
    let pixels = count as u64 * IMAGE_PIXELS as u64;
    if pixels > INFLATED_LIMIT {
        return Err(FileProblem::TooLarge { limit: INFLATED_LIMIT });
    }
    let body = &idx[IMAGES_HEADER..];
    let mask_len = count * IMAGE_SIDE * ROW_BYTES;
    if body.len() < mask_len {
        return Err(FileProblem::Truncated { expected: whole(mask_len), actual: bytes.len() as u64 });
    }
    let (mask, values) = body.split_at(mask_len);
    let rows = || mask.chunks_exact(ROW_BYTES).map(|r| u32::from_be_bytes([r[0], r[1], r[2], r[3]]));
    let mut marked = 0usize;
    for (row, word) in rows().enumerate() {
        if word & PADDING != 0 {
            return Err(FileProblem::BadPacking { reason: format!("row {row}'s mask has bits set past its 28 pixels") });
        }
        marked += word.count_ones() as usize;
    }
    match values.len().cmp(&marked) {
        std::cmp::Ordering::Less => return Err(FileProblem::Truncated { expected: whole(mask_len + marked), actual: bytes.len() as u64 }),
        std::cmp::Ordering::Greater => return Err(FileProblem::TrailingBytes { extra: (values.len() - marked) as u64 }),
        std::cmp::Ordering::Equal => {}
    }
    if let Some(at) = values.iter().position(|&v| v == 0) {
        return Err(FileProblem::BadPacking { reason: format!("non-zero pixel #{at} is 0") });
    }
    let mut out = vec![0u8; IMAGES_HEADER + pixels as usize];
    out[..IMAGES_HEADER].copy_from_slice(&idx[..IMAGES_HEADER]);
    let image = &mut out[IMAGES_HEADER..];
    let mut next = 0;
    // Runs of set bits are copied whole: strokes are runs of non-zero pixels.
    for (row, mut word) in rows().enumerate() {
        let mut at = row * IMAGE_SIDE;
        while word != 0 {
            let zeros = word.leading_zeros();
            word <<= zeros;
            at += zeros as usize;
            // At most 28 (the padding is clear), so the shift below stays under 32.
            let run = word.leading_ones();
            word <<= run;
            let run = run as usize;
            image[at..at + run].copy_from_slice(&values[next..next + run]);
            at += run;
            next += run;
        }
    }
    Ok(out)
}

/// The packed form of a valid IDX image file (what `scripts/pack-images.mjs` writes; here
/// for tests). The header is copied, not checked.
#[cfg(test)]
pub fn pack(idx: &[u8]) -> Vec<u8> {
    let (header, pixels) = idx.split_at(IMAGES_HEADER);
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(header);
    for row in pixels.chunks(IMAGE_SIDE) {
        let word = row.iter().enumerate().fold(0u32, |w, (j, &p)| if p != 0 { w | 1 << (31 - j) } else { w });
        out.extend_from_slice(&word.to_be_bytes());
    }
    out.extend(pixels.iter().filter(|&&p| p != 0));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::idx::encode;

    /// Three images with runs at both edges of rows, isolated pixels, an empty image and a
    /// full one.
    fn images() -> Vec<u8> {
        let mut pixels = vec![0u8; 3 * IMAGE_PIXELS];
        for (i, p) in pixels[..IMAGE_PIXELS].iter_mut().enumerate() {
            if (i % 28) < 3 || (i % 28) > 24 || i % 5 == 0 {
                *p = (i % 255 + 1) as u8;
            }
        }
        pixels[2 * IMAGE_PIXELS..].fill(255);
        encode::images(3, 28, 28, &pixels)
    }

    #[test]
    fn a_packed_file_unpacks_to_the_idx_file_byte_for_byte() {
        let idx = images();
        let packed = pack(&idx);
        assert!(is_packed(&packed));
        assert!(packed.len() < idx.len());
        assert_eq!(unpack(&packed).unwrap(), idx);
    }

    #[test]
    fn a_bad_header_reads_as_it_does_in_an_idx_file() {
        let mut packed = pack(&images());
        packed[4 + 11] = 32;
        packed[4 + 15] = 32;
        assert_eq!(unpack(&packed), Err(FileProblem::WrongDimensions { rows: 32, cols: 32 }));
        let mut packed = pack(&images());
        packed[4 + 3] = 1;
        assert!(matches!(unpack(&packed), Err(FileProblem::BadMagic { found: 0x801, .. })));
        assert_eq!(unpack(&MAGIC), Err(FileProblem::NoHeader { needed: 20, actual: 4 }));
    }

    #[test]
    fn a_cut_file_is_truncated_and_an_extra_byte_is_trailing() {
        let packed = pack(&images());
        for cut in [30, 20 + 3 * 28 * 4 - 1, 20 + 3 * 28 * 4 + 1, packed.len() - 1] {
            assert!(matches!(unpack(&packed[..cut]), Err(FileProblem::Truncated { .. })), "cut at {cut}");
        }
        let mut longer = packed;
        longer.push(9);
        assert_eq!(unpack(&longer), Err(FileProblem::TrailingBytes { extra: 1 }));
    }

    #[test]
    fn padding_bits_and_zero_values_are_damage() {
        let mut packed = pack(&images());
        packed[20 + 3] |= 1;
        assert!(matches!(unpack(&packed), Err(FileProblem::BadPacking { .. })));
        let mut packed = pack(&images());
        let last = packed.len() - 1;
        packed[last] = 0;
        assert!(matches!(unpack(&packed), Err(FileProblem::BadPacking { .. })));
    }

    #[test]
    fn a_huge_count_is_refused_before_anything_is_allocated() {
        let packed = pack(&encode::images(u32::MAX, 28, 28, &[]));
        assert_eq!(unpack(&packed), Err(FileProblem::TooLarge { limit: INFLATED_LIMIT }));
        let packed = pack(&encode::images(80_000, 28, 28, &[]));
        assert!(matches!(unpack(&packed), Err(FileProblem::Truncated { .. })));
    }
}
