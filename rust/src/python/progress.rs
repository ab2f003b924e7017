//! Long native work with the GIL released, watched from the calling thread: every 100 ms it
//! calls `progress(bytes_done, files_done)` and checks for signals. A callback that raises (or
//! a Ctrl-C) sets the cancel flag, the workers stop, and the exception propagates.

use std::sync::atomic::Ordering;
use std::sync::mpsc::{channel, RecvTimeoutError};
use std::time::Duration;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::digest::Progress;

/// How often the calling thread wakes while native threads work.
const POLL: Duration = Duration::from_millis(100);

/// Runs `work` on a native thread (inside a rayon pool of `threads`, default one per core)
/// while this thread reports progress; returns what `work` returned.
pub fn run_detached<T: Send>(
    py: Python<'_>,
    threads: Option<usize>,
    progress: Option<&Py<PyAny>>,
    work: impl FnOnce(&Progress) -> T + Send,
) -> PyResult<T> {
    if threads == Some(0) {
        return Err(PyValueError::new_err("threads must be at least 1"));
    }
    let pool = match threads {
        Some(n) => Some(
            rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .map_err(|e| PyValueError::new_err(e.to_string()))?,
        ),
        None => None,
    };
    let state = Progress::default();
    let report = |py: Python<'_>, state: &Progress| -> PyResult<()> {
        if let Some(cb) = progress {
            let done = (
                state.bytes.load(Ordering::Relaxed),
                state.files.load(Ordering::Relaxed),
            );
            cb.call1(py, done)?;
        }
        Ok(())
    };
    let mut callback_error: Option<PyErr> = None;
    let result = py.detach(|| {
        std::thread::scope(|scope| {
            let (done_tx, done_rx) = channel();
            let state = &state;
            let pool = &pool;
            scope.spawn(move || {
                let result = match pool {
                    Some(pool) => pool.install(|| work(state)),
                    None => work(state),
                };
                let _ = done_tx.send(result);
            });
            loop {
                match done_rx.recv_timeout(POLL) {
                    Ok(result) => return result,
                    Err(RecvTimeoutError::Disconnected) => unreachable!("the worker always sends"),
                    Err(RecvTimeoutError::Timeout) => {
                        if callback_error.is_some() {
                            continue;
                        }
                        let outcome = Python::attach(|py| {
                            py.check_signals()?;
                            report(py, state)
                        });
                        if let Err(e) = outcome {
                            state.cancel.store(true, Ordering::Relaxed);
                            callback_error = Some(e);
                        }
                    }
                }
            }
        })
    });
    if let Some(err) = callback_error {
        return Err(err);
    }
    report(py, &state)?;
    Ok(result)
}
