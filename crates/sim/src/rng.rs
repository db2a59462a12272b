//! The seeded generator the simulator draws from: [`forbear_core::rng`], re-exported so the
//! simulator's streams and everyone else's are the same algorithm.

pub use forbear_core::rng::Rng;
