//! Sender-ID allocation at the key server (RFC 9838 §2.5.1).
//!
//! One counter per group starts at 0; each allocation returns the current value and
//! increments it. Every registration gets fresh IDs, so the key server never needs to know
//! which member holds which ID. When the counter space (2^GWP_SENDER_ID_BITS values) is
//! used up, the caller must exclude every member and rekey before allocating again.

/// The counter of one group.
#[derive(Clone, Debug)]
pub struct SenderIdCounter {
    bits: u16,
    next: u64,
}

/// The outcome of an allocation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Allocation {
    /// Consecutive IDs `first..first + count`.
    Ids {
        /// First ID.
        first: u32,
        /// How many.
        count: u32,
    },
    /// No ID is left: exclude all members, rekey, then [`SenderIdCounter::reset`].
    Exhausted,
}

impl SenderIdCounter {
    /// A counter for IDs of `bits` bits (1 to 32).
    pub fn new(bits: u16) -> Self {
        SenderIdCounter {
            bits: bits.clamp(1, 32),
            next: 0,
        }
    }

    /// How many IDs the space holds.
    pub fn capacity(&self) -> u64 {
        1u64 << self.bits
    }

    /// IDs handed out so far.
    pub fn used(&self) -> u64 {
        self.next
    }

    /// What an allocation of `wanted` IDs (at most `cap` per request) would return,
    /// without changing the counter. `wanted` 0 counts as 1: a sender always gets one.
    pub fn peek(&self, wanted: u32, cap: u32) -> Allocation {
        let n = u64::from(wanted.clamp(1, cap.max(1)));
        let left = self.capacity() - self.next;
        if left == 0 {
            return Allocation::Exhausted;
        }
        Allocation::Ids {
            // `next` is below the capacity, which is at most 2^32.
            first: self.next as u32,
            count: n.min(left) as u32,
        }
    }

    /// Commits an allocation returned by [`peek`](Self::peek).
    pub fn commit(&mut self, a: &Allocation) {
        if let Allocation::Ids { count, .. } = a {
            self.next += u64::from(*count);
        }
    }

    /// Starts again from 0 (after every member was excluded and the SAs replaced).
    pub fn reset(&mut self) {
        self.next = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_from_zero_and_caps() {
        let mut c = SenderIdCounter::new(2);
        let a = c.peek(3, 2);
        assert_eq!(a, Allocation::Ids { first: 0, count: 2 });
        c.commit(&a);
        let b = c.peek(0, 2);
        assert_eq!(b, Allocation::Ids { first: 2, count: 1 });
        c.commit(&b);
        let d = c.peek(5, 5);
        assert_eq!(d, Allocation::Ids { first: 3, count: 1 });
        c.commit(&d);
        assert_eq!(c.peek(1, 1), Allocation::Exhausted);
        c.reset();
        assert_eq!(c.peek(1, 1), Allocation::Ids { first: 0, count: 1 });
    }

    #[test]
    fn thirty_two_bits() {
        let c = SenderIdCounter::new(32);
        assert_eq!(c.capacity(), 1 << 32);
    }
}
