//! Everything that talks to the Docker API (through bollard).

pub mod client;
pub mod cluster;
pub mod image;
pub mod membership;

pub use client::Engine;
