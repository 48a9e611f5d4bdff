//! Private set intersection cardinality by Diffie–Hellman on ristretto255
//! (docs/federation.md, "How a figure is computed").
//!
//! The node that counts, A, holds elements X; its partner B holds Y.
//!
//! 1. A draws a fresh scalar `a` and sends `a·H(x)` for every x in X.
//! 2. B draws a fresh scalar `b` and answers with `b·(a·H(x))` for every
//!    point A sent, **sorted** (so their order no longer says which x each
//!    came from), and `b·H(y)` for every y in Y.
//! 3. A computes `a·(b·H(y))` and counts how many of those are among the
//!    points of step 2: |X ∩ Y|, and nothing about which.
//!
//! `H` hashes to the group with [`RistrettoPoint::from_uniform_bytes`] over
//! SHA-512 (two Elligator maps, so nobody knows the discrete logarithm of
//! `H(x)`), never a scalar times the base point. The scalars live only for
//! one exchange and are zeroed when dropped. The work runs on a pool of
//! low-priority threads ([`pool`]) so that collection keeps its pace.

use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use rayon::prelude::*;
use sha2::{Digest, Sha512};
use std::sync::OnceLock;
use zeroize::Zeroize;

/// Bytes of one point on the wire (a compressed ristretto255 element).
pub const POINT_BYTES: usize = 32;

/// Why points from the other node were refused.
#[derive(Debug, thiserror::Error)]
pub enum PsiError {
    /// The bytes are not a whole number of points.
    #[error("{0} bytes are not a whole number of {POINT_BYTES}-byte points")]
    Length(usize),
    /// A point does not decode, or is the identity (which would say
    /// nothing is hidden).
    #[error("element {0} is not a valid ristretto255 point")]
    Point(usize),
    /// The same point twice: a set has each element once.
    #[error("the set has a repeated element")]
    Repeated,
}

/// A secret scalar for one exchange; zeroed when dropped.
pub struct Blinder(Scalar);

impl Blinder {
    /// A fresh, uniformly random non-zero scalar.
    pub fn fresh() -> Blinder {
        loop {
            let s = Scalar::random(&mut rand::rngs::OsRng);
            if s != Scalar::ZERO {
                return Blinder(s);
            }
        }
    }

    /// `self·H(e)` for each element, compressed and sorted; `domain`
    /// separates figures and days, so one exchange's points say nothing
    /// about another's.
    pub fn blind(&self, domain: &[u8], elements: &[Vec<u8>]) -> Vec<[u8; POINT_BYTES]> {
        let mut out: Vec<[u8; POINT_BYTES]> = pool().install(|| {
            elements
                .par_iter()
                .map(|e| (self.0 * hash_to_group(domain, e)).compress().to_bytes())
                .collect()
        });
        out.sort_unstable();
        out.dedup();
        out
    }

    /// `self·P` for each point `P` the other node sent, sorted so that the
    /// answer's order says nothing of the order it came in.
    pub fn reblind(&self, points: &[u8]) -> Result<Vec<[u8; POINT_BYTES]>, PsiError> {
        let decoded = decode(points)?;
        let mut out: Vec<[u8; POINT_BYTES]> = pool().install(|| {
            decoded
                .par_iter()
                .map(|p| (self.0 * p).compress().to_bytes())
                .collect()
        });
        out.sort_unstable();
        Ok(out)
    }
}

impl Drop for Blinder {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// Hashes an element to the group: SHA-512 of a fixed label, the domain's
/// length and bytes, and the element, mapped by `from_uniform_bytes`.
pub fn hash_to_group(domain: &[u8], element: &[u8]) -> RistrettoPoint {
    let mut h = Sha512::new();
    h.update(b"glasshouse psi v1\0");
    h.update((domain.len() as u64).to_be_bytes());
    h.update(domain);
    h.update(element);
    let wide: [u8; 64] = h.finalize().into();
    RistrettoPoint::from_uniform_bytes(&wide)
}

/// Points from bytes: refused if any is malformed, the identity, or repeated.
pub fn decode(bytes: &[u8]) -> Result<Vec<RistrettoPoint>, PsiError> {
    if !bytes.len().is_multiple_of(POINT_BYTES) {
        return Err(PsiError::Length(bytes.len()));
    }
    let chunks: Vec<&[u8]> = bytes.chunks_exact(POINT_BYTES).collect();
    let mut sorted = chunks.clone();
    sorted.sort_unstable();
    if sorted.windows(2).any(|w| w[0] == w[1]) {
        return Err(PsiError::Repeated);
    }
    pool().install(|| {
        chunks
            .par_iter()
            .enumerate()
            .map(|(i, c)| {
                let c = CompressedRistretto::from_slice(c).map_err(|_| PsiError::Point(i))?;
                match c.decompress() {
                    Some(p) if p != RistrettoPoint::default() => Ok(p),
                    _ => Err(PsiError::Point(i)),
                }
            })
            .collect()
    })
}

/// Points as the bytes sent.
pub fn encode(points: &[[u8; POINT_BYTES]]) -> Vec<u8> {
    points.concat()
}

/// How many of `mine` (A's `a·(b·H(y))`) are among `theirs` (B's sorted
/// `b·(a·H(x))`): the cardinality of the intersection.
pub fn count_common(mine: &[[u8; POINT_BYTES]], theirs: &[[u8; POINT_BYTES]]) -> u64 {
    mine.iter()
        .filter(|p| theirs.binary_search(p).is_ok())
        .count() as u64
}

/// The threads set intersections run on: at the lowest priority
/// (`nice 19`), so a run slows collection as little as the machine allows.
pub fn pool() -> &'static rayon::ThreadPool {
    static POOL: OnceLock<rayon::ThreadPool> = OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .thread_name(|i| format!("psi-{i}"))
            .start_handler(|_| lower_priority())
            .build()
            .expect("a thread pool for set intersections")
    })
}

/// Lowers the calling thread's scheduling priority (Linux schedules
/// threads one by one, so this leaves the rest of the process alone).
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: gettid has no preconditions; setpriority only reads its
    // arguments, and a failure leaves the priority as it was.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, 19);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(range: std::ops::Range<u32>) -> Vec<Vec<u8>> {
        range.map(|i| i.to_be_bytes().to_vec()).collect()
    }

    /// The whole protocol, both sides in one process.
    fn cardinality(x: &[Vec<u8>], y: &[Vec<u8>]) -> u64 {
        let (a, b) = (Blinder::fresh(), Blinder::fresh());
        let sent = encode(&a.blind(b"d", x));
        let doubled = b.reblind(&sent).unwrap();
        let theirs = encode(&b.blind(b"d", y));
        let mine = a.reblind(&theirs).unwrap();
        count_common(&mine, &doubled)
    }

    #[test]
    fn counts_the_intersection_exactly() {
        assert_eq!(cardinality(&set(0..1000), &set(600..2500)), 400);
        assert_eq!(cardinality(&set(0..10), &set(10..20)), 0);
        assert_eq!(cardinality(&set(0..50), &set(0..50)), 50);
        assert_eq!(cardinality(&[], &set(0..5)), 0);
    }

    #[test]
    fn another_domain_meets_nothing() {
        let (a, b) = (Blinder::fresh(), Blinder::fresh());
        let doubled = b.reblind(&encode(&a.blind(b"one", &set(0..100)))).unwrap();
        let mine = a.reblind(&encode(&b.blind(b"two", &set(0..100)))).unwrap();
        assert_eq!(count_common(&mine, &doubled), 0);
    }

    #[test]
    fn fresh_scalars_make_unlinkable_points() {
        let x = set(0..20);
        let one = Blinder::fresh().blind(b"d", &x);
        let two = Blinder::fresh().blind(b"d", &x);
        assert!(one.iter().all(|p| two.binary_search(p).is_err()));
    }

    #[test]
    fn bad_points_are_refused() {
        assert!(matches!(
            Blinder::fresh().reblind(&[1u8; 31]),
            Err(PsiError::Length(31))
        ));
        // The identity, and bytes that are not a canonical encoding.
        assert!(matches!(
            Blinder::fresh().reblind(&[0u8; 32]),
            Err(PsiError::Point(0))
        ));
        assert!(matches!(
            Blinder::fresh().reblind(&[0xffu8; 32]),
            Err(PsiError::Point(0))
        ));
        let p = Blinder::fresh().blind(b"d", &set(0..1));
        assert!(matches!(
            Blinder::fresh().reblind(&encode(&[p[0], p[0]])),
            Err(PsiError::Repeated)
        ));
    }
}
