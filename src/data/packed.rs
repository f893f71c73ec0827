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
    unpack_pieces(&[bytes])
}

/// [`unpack`] for a packed file that is `pieces` one after another (a parts file's outputs,
/// [`super::parts`]), read where they lie. The header and mask are read from the first piece
/// (`scripts/compress.mjs` cuts there); were they not all in it, the pieces are joined first.
/// Either way every result, each error included, is the joined file's.
pub fn unpack_pieces(pieces: &[&[u8]]) -> Result<Vec<u8>, FileProblem> {
    let first = pieces.first().copied().unwrap_or_default();
    if pieces.len() > 1 && !holds_mask(first) {
        return unpack(&pieces.concat());
    }
    let total = pieces.iter().map(|p| p.len() as u64).sum::<u64>();
    let whole = |len: usize| (MAGIC.len() + IMAGES_HEADER + len) as u64;
    let idx = first.strip_prefix(&MAGIC[..]).ok_or(FileProblem::BadPacking { reason: "it does not start with the packed form's magic".into() })?;
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
        return Err(FileProblem::Truncated { expected: whole(mask_len), actual: total });
    }
    let (mask, values) = body.split_at(mask_len);
    let values: Vec<&[u8]> = std::iter::once(values).chain(pieces.iter().skip(1).copied()).filter(|p| !p.is_empty()).collect();
    let rows = || mask.chunks_exact(ROW_BYTES).map(|r| u32::from_be_bytes([r[0], r[1], r[2], r[3]]));
    let mut marked = 0usize;
    for (row, word) in rows().enumerate() {
        if word & PADDING != 0 {
            return Err(FileProblem::BadPacking { reason: format!("row {row}'s mask has bits set past its 28 pixels") });
        }
        marked += word.count_ones() as usize;
    }
    let present = values.iter().map(|v| v.len()).sum::<usize>();
    match present.cmp(&marked) {
        std::cmp::Ordering::Less => return Err(FileProblem::Truncated { expected: whole(mask_len + marked), actual: total }),
        std::cmp::Ordering::Greater => return Err(FileProblem::TrailingBytes { extra: (present - marked) as u64 }),
        std::cmp::Ordering::Equal => {}
    }
    let mut before = 0;
    for piece in &values {
        if let Some(at) = piece.iter().position(|&v| v == 0) {
            return Err(FileProblem::BadPacking { reason: format!("non-zero pixel #{} is 0", before + at) });
        }
        before += piece.len();
    }
    let mut out = vec![0u8; IMAGES_HEADER + pixels as usize];
    out[..IMAGES_HEADER].copy_from_slice(&idx[..IMAGES_HEADER]);
    let image = &mut out[IMAGES_HEADER..];
    let mut next = Values { pieces: &values, piece: 0, at: 0 };
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
            next.copy_to(&mut image[at..at + run]);
            at += run;
        }
    }
    Ok(out)
}

/// Whether `first` holds a packed file's magic, header and whole mask (so the rest is pixels).
fn holds_mask(first: &[u8]) -> bool {
    let Some(idx) = first.strip_prefix(&MAGIC[..]) else { return false };
    // In u64: a header's count times a row's mask bytes overflows a 32-bit usize.
    image_count(idx).is_ok_and(|count| (idx.len() as u64).saturating_sub(IMAGES_HEADER as u64) >= count as u64 * (IMAGE_SIDE * ROW_BYTES) as u64)
}

/// The non-zero pixels, read in order across the pieces they lie in (none empty; their
/// total already checked against the mask).
struct Values<'a> {
    pieces: &'a [&'a [u8]],
    piece: usize,
    at: usize,
}

impl Values<'_> {
    /// The next `dest.len()` values into `dest`.
    fn copy_to(&mut self, dest: &mut [u8]) {
        let mut filled = 0;
        while filled < dest.len() {
            let from = &self.pieces[self.piece][self.at..];
            let n = from.len().min(dest.len() - filled);
            dest[filled..filled + n].copy_from_slice(&from[..n]);
            filled += n;
            self.at += n;
            if self.at == self.pieces[self.piece].len() {
                self.piece += 1;
                self.at = 0;
            }
        }
    }
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

    #[test]
    fn pieces_unpack_as_their_join_does_wherever_they_are_cut() {
        let good = pack(&images());
        let mask_end = 20 + 3 * 28 * 4;
        let mut files = vec![good.clone(), good[..good.len() - 1].to_vec(), [&good[..], &[7]].concat(), good[..mask_end + 5].to_vec()];
        let mut zero = good.clone();
        zero[mask_end + 40] = 0;
        files.push(zero);
        let mut padded = good.clone();
        padded[20 + 7] |= 2;
        files.push(padded);
        files.push(good[..10].to_vec());
        for file in &files {
            let joined = unpack(file);
            for cut in 0..=file.len() {
                let (a, b) = file.split_at(cut);
                assert_eq!(unpack_pieces(&[a, b]), joined, "cut at {cut}");
                // The pixels in three more pieces, one of them empty.
                if cut >= mask_end {
                    let third = b.len() / 3;
                    assert_eq!(unpack_pieces(&[a, &b[..third], &[], &b[third..2 * third], &b[2 * third..]]), joined, "cut at {cut}, then in thirds");
                }
            }
        }
        assert_eq!(unpack_pieces(&[&good[..mask_end], &good[mask_end..]]).unwrap(), images());
    }
}
