//! Anticipated outcomes of epics and initiatives: the measurable results work is expected
//! to produce, and the rules that judge them. (The pages arrive with the epics issue.)

pub mod model;
