//! A small non-cryptographic 64-bit hash: a multiply-rotate step per input word and a
//! SplitMix64 finish. For hashed features and prefilters, never for anything an attacker must
//! not be able to collide (use an HMAC there).
//!
//! The constants are fixed: the shipped injection model's weights are indexed by these hashes,
//! so changing either function changes what every trained weight means.

/// One multiply-rotate step: folds `value` into `hash`.
pub fn mix(hash: u64, value: u64) -> u64 {
    (hash.rotate_left(5) ^ value).wrapping_mul(0x517c_c1b7_2722_0a95)
}

/// The final avalanche (SplitMix64), so that every output bit depends on every input bit.
pub fn finish(mut hash: u64) -> u64 {
    hash ^= hash >> 30;
    hash = hash.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    hash ^= hash >> 27;
    hash = hash.wrapping_mul(0x94d0_49bb_1331_11eb);
    hash ^ (hash >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pins the values: the shipped model was trained on exactly these hashes.
    #[test]
    fn the_hash_is_stable_across_builds() {
        let ab = finish(mix(
            mix(0x243f_6a88_85a3_08d3, u64::from(b'a')),
            u64::from(b'b'),
        ));
        assert_eq!(ab, 0x3374_f268_14f8_370e);
        assert_eq!(finish(1), 0x5692_161d_100b_05e5);
    }
}
