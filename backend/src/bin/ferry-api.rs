//! Lambda entry point (being written).
fn main() {}
