//! The engine end to end on the in-memory store: escalation, scope, reversal, holds, order
//! independence and the contact rules as properties.

mod cases;
mod helpers;
mod lifecycle;
mod properties;
