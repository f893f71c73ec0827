//! Learning-rate schedules: the notebook's, or one the user sets.

use serde::{Deserialize, Serialize};

/// A run of epochs at one learning rate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Phase {
    pub epochs: usize,
    pub lr: f64,
}

/// Consecutive phases.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    pub phases: Vec<Phase>,
}

impl Schedule {
    /// The notebook's schedule: 1 epoch at 0.01 (a gentle start), 5 at 0.1, 5 at 0.01, and
    /// optionally 5 more at 0.001.
    pub fn notebook(extended: bool) -> Self {
        let mut phases = vec![
            Phase { epochs: 1, lr: 0.01 },
            Phase { epochs: 5, lr: 0.1 },
            Phase { epochs: 5, lr: 0.01 },
        ];
        if extended {
            phases.push(Phase { epochs: 5, lr: 0.001 });
        }
        Self { phases }
    }

    /// A constant learning rate for `epochs` epochs.
    pub fn constant(epochs: usize, lr: f64) -> Self {
        Self { phases: vec![Phase { epochs, lr }] }
    }

    pub fn epochs(&self) -> usize {
        self.phases.iter().map(|p| p.epochs).sum()
    }

    /// Learning rate of epoch `epoch` (0-based); the last phase's past the end.
    pub fn lr(&self, epoch: usize) -> f64 {
        let mut end = 0;
        for phase in &self.phases {
            end += phase.epochs;
            if epoch < end {
                return phase.lr;
            }
        }
        self.phases.last().map_or(0.0, |p| p.lr)
    }

    /// This schedule with every epoch from `epoch` (0-based) on at `factor` times its rate: how
    /// a run that diverged resumes more gently ("at a tenth of the learning rate").
    pub fn scaled_from(&self, epoch: usize, factor: f64) -> Self {
        let mut phases = Vec::with_capacity(self.phases.len() + 1);
        let mut start = 0;
        for phase in &self.phases {
            let end = start + phase.epochs;
            let before = epoch.clamp(start, end) - start;
            if before > 0 {
                phases.push(Phase { epochs: before, lr: phase.lr });
            }
            if phase.epochs > before {
                phases.push(Phase { epochs: phase.epochs - before, lr: phase.lr * factor });
            }
            start = end;
        }
        Self { phases }
    }

    /// "1 @ 0.01, 5 @ 0.1, 5 @ 0.01": epochs at each learning rate, as the page writes it.
    pub fn describe(&self) -> String {
        self.phases.iter().map(|p| format!("{} @ {}", p.epochs, crate::format::lr(p.lr))).collect::<Vec<_>>().join(", ")
    }

    /// Every phase must train at a positive, finite rate.
    pub fn validate(&self) -> Result<(), String> {
        if self.epochs() == 0 {
            return Err("the schedule has no epochs".into());
        }
        match self.phases.iter().find(|p| !(p.lr.is_finite() && p.lr > 0.0)) {
            Some(p) => Err(format!("learning rate {} is not a positive number", p.lr)),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schedule_describes_itself_as_epochs_at_each_rate() {
        assert_eq!(Schedule::notebook(false).describe(), "1 @ 0.01, 5 @ 0.1, 5 @ 0.01");
        assert_eq!(Schedule::constant(3, 0.05).describe(), "3 @ 0.05");
    }

    #[test]
    fn the_notebook_schedule_has_eleven_or_sixteen_epochs() {
        let s = Schedule::notebook(false);
        assert_eq!(s.epochs(), 11);
        let lrs: Vec<f64> = (0..11).map(|e| s.lr(e)).collect();
        assert_eq!(lrs, [0.01, 0.1, 0.1, 0.1, 0.1, 0.1, 0.01, 0.01, 0.01, 0.01, 0.01]);
        let long = Schedule::notebook(true);
        assert_eq!((long.epochs(), long.lr(15)), (16, 0.001));
    }

    #[test]
    fn a_schedule_scaled_from_an_epoch_keeps_the_epochs_before_it() {
        let s = Schedule::notebook(false);
        let gentle = s.scaled_from(1, 0.1);
        assert_eq!(gentle.epochs(), 11);
        let lrs: Vec<f64> = (0..11).map(|e| gentle.lr(e)).collect();
        let expected = [0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.001, 0.001, 0.001, 0.001, 0.001];
        assert!(lrs.iter().zip(expected).all(|(a, b)| (a - b).abs() < 1e-12), "{lrs:?}");
        // From inside a phase: the phase is split.
        let mid = s.scaled_from(3, 0.1);
        assert_eq!(mid.phases.len(), 4);
        assert_eq!((mid.lr(2), mid.epochs()), (0.1, 11));
        assert!((mid.lr(3) - 0.01).abs() < 1e-12 && (mid.lr(10) - 0.001).abs() < 1e-12);
        // From the start, or past the end.
        assert_eq!(s.scaled_from(0, 1.0), s);
        assert_eq!(s.scaled_from(11, 0.1), s);
    }

    #[test]
    fn bad_schedules_are_refused() {
        assert!(Schedule::constant(0, 0.1).validate().is_err());
        assert!(Schedule::constant(2, f64::NAN).validate().is_err());
        assert!(Schedule::constant(2, -1.0).validate().is_err());
        assert!(Schedule::constant(2, 0.05).validate().is_ok());
    }
}
