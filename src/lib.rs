//! qoltanba: an NCALayer-compatible signing daemon.
//!
//! Web pages talk to `wss://127.0.0.1:13579` in NCALayer's JSON protocol; this crate
//! answers them. Layers, from the wire inwards:
//! - [`server`]: TLS, WebSocket, connection limits, shutdown; knows no method names.
//! - [`protocol`]: the NCALayer modules (commonUtils, basics, accessory, legacy), each
//!   turning JSON into typed requests and replies into NCALayer's exact shapes.
//! - [`signing`]: the signing core; asks the [`ui::Prompter`] for a key, a password and
//!   the user's consent, then signs.
//! - [`keys`], [`crypto`], [`cms`]: key files, algorithms and signature formats,
//!   testable without a socket.
//! - [`journal`]: the hash-chained record of every signing request.
// No unsafe code, but for the calls into a vendor's PKCS#11 library that `cryptoki`
// cannot make (`keys::pkcs11::raw`, run in the helper process only).
#![deny(unsafe_code)]

pub mod activity;
pub mod audit;
pub mod cli;
pub mod cms;
pub mod commands;
pub mod compute;
pub mod crypto;
pub mod doctor;
pub mod i18n;
pub mod journal;
pub mod keys;
pub mod oid;
pub mod platform;
pub mod protocol;
pub mod server;
pub mod settings;
pub mod signing;
pub mod sites;
pub mod trust;
pub mod ui;
pub mod validation;
pub mod xmldsig;
