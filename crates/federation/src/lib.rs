//! Federation: each organisation runs its own node, holding only its own
//! sites' events, and nodes compute the cross-government journey figures
//! their signed agreements declare by private set intersection
//! cardinality, so no node ever receives another's events or visitor ids
//! (docs/federation.md).

#![warn(missing_docs)]

pub mod linkkey;
pub mod marks;
pub mod message;
pub mod node;
pub mod psi;
pub mod state;

pub use node::{Logged, Node, Refused};
