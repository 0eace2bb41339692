//! The embedded DNS server for user-defined networks (Docker's `127.0.0.11`).
