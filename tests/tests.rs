//! swarmpi's integration tests: one binary driving the real CLI against real
//! Docker daemons on the lab's simulated servers (see `harness`).

mod bench;
mod deploy;
mod doctor;
mod files;
mod foundation;
mod harness;
mod hostile;
mod input;
mod install;
mod jobs;
mod network;
mod run;
mod shape;
