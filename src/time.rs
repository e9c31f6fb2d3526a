//! Time as an input: the host hands the core a monotonic timestamp on every call; the
//! core never reads a clock.

use std::fmt;

/// A point on the host's monotonic clock, in milliseconds from an epoch of its choice.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Time(u64);

impl Time {
    /// A time `ms` milliseconds after the host's epoch.
    pub const fn from_millis(ms: u64) -> Self {
        Time(ms)
    }

    /// A time `s` seconds after the host's epoch.
    pub const fn from_secs(s: u64) -> Self {
        Time(s.saturating_mul(1000))
    }

    /// Milliseconds since the host's epoch.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// This time plus `s` seconds (saturating).
    pub const fn plus_secs(self, s: u64) -> Self {
        Time(self.0.saturating_add(s.saturating_mul(1000)))
    }

    /// This time plus `ms` milliseconds (saturating).
    pub const fn plus_millis(self, ms: u64) -> Self {
        Time(self.0.saturating_add(ms))
    }

    /// Whole seconds from `self` until `later`, rounded up; 0 if `later` is not after `self`.
    pub const fn secs_until(self, later: Time) -> u64 {
        later.0.saturating_sub(self.0).div_ceil(1000)
    }
}

impl fmt::Debug for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "t+{}.{:03}s", self.0 / 1000, self.0 % 1000)
    }
}
