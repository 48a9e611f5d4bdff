//! Independent statements of one answer, run side by side.
//!
//! A served answer is often several statements that do not depend on each
//! other: today's raw events, the roll-ups' sums, their corrections, or a
//! breakdown's counts and its engagement. Each is too small for the
//! database to spread over every core, so running them at once, each on a
//! connection of its own, is what shortens the answer.

use crate::StoreError;

/// Runs `aside` (when there is one) on a thread of its own while this
/// thread runs `here`; a panic in `aside` is raised again here.
pub fn beside<A: Send, H>(
    aside: Option<impl FnOnce() -> Result<A, StoreError> + Send>,
    here: impl FnOnce() -> Result<H, StoreError>,
) -> Result<(Option<A>, H), StoreError> {
    std::thread::scope(|scope| {
        let handle = aside.map(|f| scope.spawn(f));
        let here = here();
        let aside = handle
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .transpose()?;
        Ok((aside, here?))
    })
}
