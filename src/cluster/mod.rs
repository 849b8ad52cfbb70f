//! Pure planning: tokens, names, placement, hostfiles. Nothing here does I/O.

pub mod token;
