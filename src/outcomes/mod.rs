//! Anticipated outcomes of epics and initiatives: the measurable results work is expected
//! to produce, the guided form that defines them, and the rules that judge them.

pub mod model;
pub mod pages;
pub mod parent;
