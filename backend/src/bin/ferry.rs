//! `ferry`: the local stack (`ferry serve`).

fn main() {}
