//! What every simulator's fault injection shares, so `GET|PUT /_sim/faults` has one
//! shape everywhere (see docs/simulators.md): latency distributions and the seeded
//! random source that makes a fault run replayable.
//!
//! Every random choice a simulator makes about faults (whether a rule with a
//! probability below 1 fires, how long a random latency is) is drawn from one
//! [`Draws`] in request order, so the same seed and the same request sequence give the
//! same faults.

use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// A latency distribution, in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dist", rename_all = "snake_case")]
pub enum Latency {
    /// Always `ms` milliseconds.
    Fixed { ms: u64 },
    /// Uniform in `[min_ms, max_ms]`.
    Uniform { min_ms: u64, max_ms: u64 },
    /// Normal with the given mean and standard deviation, clamped at 0.
    Normal { mean_ms: f64, stddev_ms: f64 },
}

/// The random source of one simulator's faults: ChaCha8, whose output for a seed is
/// fixed across platforms and releases, so a seed written down replays anywhere.
#[derive(Debug, Clone)]
pub struct Draws {
    seed: u64,
    rng: ChaCha8Rng,
}

impl Draws {
    /// Starts the sequence of `seed`, or of a fresh random seed when `None`; either
    /// way [`Draws::seed`] tells which, so any run can be replayed.
    pub fn new(seed: Option<u64>) -> Self {
        let seed = seed.unwrap_or_else(|| rand::rng().random());
        Draws {
            seed,
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// The seed this sequence started from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// True for a share `probability` of calls. A certainty (>= 1) or an impossibility
    /// (<= 0) draws nothing, so adding such a rule does not shift later draws.
    pub fn chance(&mut self, probability: f64) -> bool {
        if probability >= 1.0 {
            return true;
        }
        if probability <= 0.0 || probability.is_nan() {
            return false;
        }
        self.rng.random::<f64>() < probability
    }

    /// One delay of `latency`; a fixed latency draws nothing.
    pub fn delay(&mut self, latency: &Latency) -> Duration {
        let ms = match *latency {
            Latency::Fixed { ms } => ms as f64,
            Latency::Uniform { min_ms, max_ms } => {
                if max_ms <= min_ms {
                    min_ms as f64
                } else {
                    self.rng.random_range(min_ms..=max_ms) as f64
                }
            }
            Latency::Normal { mean_ms, stddev_ms } => {
                // Box-Muller.
                let u1: f64 = self.rng.random::<f64>().max(f64::MIN_POSITIVE);
                let u2: f64 = self.rng.random::<f64>();
                let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
                mean_ms + z * stddev_ms
            }
        };
        if ms.is_finite() && ms > 0.0 {
            Duration::from_micros((ms * 1000.0) as u64)
        } else {
            Duration::ZERO
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(d: &mut Draws) -> Vec<(bool, Duration)> {
        let normal = Latency::Normal {
            mean_ms: 50.0,
            stddev_ms: 20.0,
        };
        (0..200)
            .map(|_| (d.chance(0.3), d.delay(&normal)))
            .collect()
    }

    #[test]
    fn the_same_seed_gives_the_same_sequence() {
        let a = run(&mut Draws::new(Some(7)));
        assert_eq!(a, run(&mut Draws::new(Some(7))));
        assert_ne!(
            a,
            run(&mut Draws::new(Some(8))),
            "another seed, other draws"
        );
        let hits = a.iter().filter(|(hit, _)| *hit).count();
        assert!((30..=90).contains(&hits), "about 30% of 200: {hits}");
    }

    #[test]
    fn an_unseeded_source_reports_its_seed_for_replay() {
        let mut first = Draws::new(None);
        let mut replay = Draws::new(Some(first.seed()));
        assert_eq!(run(&mut first), run(&mut replay));
    }

    #[test]
    fn certainties_draw_nothing() {
        let mut a = Draws::new(Some(1));
        let mut b = Draws::new(Some(1));
        assert!(a.chance(1.0));
        assert!(!a.chance(0.0));
        assert_eq!(a.delay(&Latency::Fixed { ms: 5 }), Duration::from_millis(5));
        assert_eq!(run(&mut a), run(&mut b));
    }

    #[test]
    fn normal_latency_is_nonnegative() {
        let l = Latency::Normal {
            mean_ms: 1.0,
            stddev_ms: 10.0,
        };
        let mut d = Draws::new(Some(3));
        for _ in 0..100 {
            assert!(d.delay(&l) <= Duration::from_secs(1));
        }
    }

    #[test]
    fn latency_json_shape() {
        let v = serde_json::to_value(Latency::Uniform {
            min_ms: 1,
            max_ms: 9,
        })
        .unwrap_or_default();
        assert_eq!(v["dist"], "uniform");
        assert_eq!(v["max_ms"], 9);
    }
}
