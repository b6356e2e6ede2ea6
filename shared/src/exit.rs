//! How every binary ends: a clear one-line error (with its causes) and exit code 1, never a
//! backtrace dump for a user's mistake.

use std::process::ExitCode;

/// Turns `main`'s outcome into an exit code, printing `error: <message>: <cause>: …` on failure.
pub fn report(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
