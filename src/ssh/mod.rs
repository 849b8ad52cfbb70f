//! Everything that talks SSH (through russh): keys, sessions, remote commands.

pub mod keys;
pub mod session;
