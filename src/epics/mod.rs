//! Initiatives and epics: the work, each piece starting from a measurable anticipated
//! outcome with one accountable owner. (The pages arrive with the rest of the epics issue.)

pub mod model;
