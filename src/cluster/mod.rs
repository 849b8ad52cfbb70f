//! Pure planning: tokens, names, placement, the files each container gets.
//! Nothing here does I/O.

pub mod archive;
pub mod hostkey;
pub mod members;
pub mod names;
pub mod plan;
pub mod program;
pub mod token;
