//! What the page says a drawing reads as: the most likely digit, "not sure" when the network
//! is not, and the runner-up too when the network nearly chose it, so an ambiguous drawing is
//! not shown as a certainty. The probabilities are calibrated (the weights' temperature,
//! `train::calibrate`), so "80%" means right about four times in five.

/// The runner-up is named when its probability is at least this share of the top one's.
pub const CLOSE: f32 = 1.0 / 3.0;

/// Below this calibrated probability the answer says "not sure": wrong one time in five or
/// more often.
pub const SURE: f32 = 0.8;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    pub digit: usize,
    pub probability: f32,
    /// The second most likely digit and its probability, when close to the first.
    pub or: Option<(usize, f32)>,
}

impl Reading {
    /// Whether the network is sure enough to say "reads as" rather than "perhaps".
    pub fn sure(&self) -> bool {
        self.probability >= SURE
    }
}

/// `None` for an empty or non-finite set of probabilities.
pub fn read(probabilities: &[f32]) -> Option<Reading> {
    let mut ranked: Vec<(usize, f32)> = probabilities.iter().copied().enumerate().filter(|(_, p)| p.is_finite()).collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    let &(digit, probability) = ranked.first()?;
    let or = ranked.get(1).copied().filter(|&(_, p)| p > 0.0 && p >= CLOSE * probability);
    Some(Reading { digit, probability, or })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probabilities(pairs: &[(usize, f32)]) -> Vec<f32> {
        let mut p = vec![0.0; 10];
        pairs.iter().for_each(|&(d, v)| p[d] = v);
        p
    }

    #[test]
    fn a_clear_reading_names_one_digit() {
        assert_eq!(read(&probabilities(&[(3, 0.9), (5, 0.08), (8, 0.02)])), Some(Reading { digit: 3, probability: 0.9, or: None }));
    }

    #[test]
    fn a_close_runner_up_is_named_too() {
        assert_eq!(read(&probabilities(&[(5, 0.55), (3, 0.4), (8, 0.05)])), Some(Reading { digit: 5, probability: 0.55, or: Some((3, 0.4)) }));
        // A third of the top one's probability is the line.
        assert!(read(&probabilities(&[(1, 0.6), (7, 0.21)])).unwrap().or.is_some());
        assert!(read(&probabilities(&[(1, 0.6), (7, 0.19)])).unwrap().or.is_none());
    }

    #[test]
    fn under_four_in_five_is_not_sure() {
        assert!(read(&probabilities(&[(4, 0.8), (9, 0.2)])).unwrap().sure());
        assert!(!read(&probabilities(&[(4, 0.79), (9, 0.21)])).unwrap().sure());
        // A sure reading never has a close runner-up: 0.8 leaves at most 0.2 < 0.8 / 3.
        assert!(read(&probabilities(&[(4, 0.8), (9, 0.2)])).unwrap().or.is_none());
    }

    #[test]
    fn nothing_to_read_gives_nothing() {
        assert_eq!(read(&[]), None);
        assert_eq!(read(&[f32::NAN; 10]), None);
    }
}
