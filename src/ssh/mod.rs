//! Everything that talks SSH (through russh): the cluster key, sessions to
//! the gateway and the containers, remote commands.

mod channel;
pub mod keys;
pub mod session;

pub use keys::{ClusterKey, KeyType};
pub use session::{Gateway, Node, Output};
