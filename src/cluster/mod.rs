//! Pure planning and interpretation: tokens, names, placement, what Docker's
//! reports mean, the files each container gets. Nothing here does I/O.

pub mod archive;
pub mod diagnosis;
pub mod digest;
pub mod endpoint;
pub mod fetched;
pub mod hostkey;
pub mod image;
pub mod job_record;
pub mod layout;
pub mod members;
pub mod names;
pub mod observe;
pub mod pairs;
pub mod placement;
pub mod plan;
pub mod ports;
pub mod program;
pub mod remote;
pub mod resources;
pub mod servers;
pub mod ssh_client;
pub mod sync;
pub mod token;
