//! How finished Rust calls reach their asyncio futures: through a mailbox per event loop.
//!
//! A mailbox is a queue and a socket pair whose read end the loop watches (`loop.add_reader`).
//! A Rust thread that finishes a call pushes it and writes one byte, only when the queue was
//! empty; the loop's own thread then drains the queue, makes the Python values and resolves the
//! futures. So no Rust thread takes the GIL to deliver a result (it used to wait for it while the
//! loop ran Python), and calls that finish together wake the loop once.

use std::cell::RefCell;
use std::io::{ErrorKind, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex};

use pyo3::prelude::*;

/// Makes a finished call's Python value on the loop's thread: (succeeded, result or exception).
pub type Outcome = Box<dyn for<'py> FnOnce(Python<'py>) -> (bool, Bound<'py, PyAny>) + Send>;

struct Delivery {
    fut: Py<PyAny>,
    // The future's done callback that stops the Rust side on cancel: taken off before the result
    // is set, so that setting it schedules no callback of ours.
    on_cancel: Py<PyAny>,
    outcome: Outcome,
}

struct Queue {
    items: Vec<Delivery>,
    // A byte is on its way to the loop: later pushes need not write another.
    signalled: bool,
}

/// The Rust side of one loop's mailbox: cheap to clone into a spawned task.
#[derive(Clone)]
pub struct Sender {
    shared: Arc<Shared>,
}

struct Shared {
    queue: Mutex<Queue>,
    wake: UnixStream,
    read: UnixStream,
}

impl Sender {
    /// Hands a finished call to the loop (from any thread, without the GIL).
    pub fn send(&self, fut: Py<PyAny>, on_cancel: Py<PyAny>, outcome: Outcome) {
        let wake = {
            let mut q = self.shared.queue.lock().unwrap_or_else(|e| e.into_inner());
            q.items.push(Delivery { fut, on_cancel, outcome });
            !std::mem::replace(&mut q.signalled, true)
        };
        if wake {
            // A full socket buffer means a wake-up is pending already.
            let _ = (&self.shared.wake).write(&[1]);
        }
    }
}

/// The loop's side: `loop.add_reader(fd, mailbox)` calls it when bytes arrive.
#[pyclass]
struct Drain {
    shared: Arc<Shared>,
}

#[pymethods]
impl Drain {
    fn __call__(&self, py: Python<'_>) {
        let mut buf = [0u8; 256];
        loop {
            match (&self.shared.read).read(&mut buf) {
                Ok(n) if n == buf.len() => continue,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                _ => break, // drained (WouldBlock), or closed
            }
        }
        // After the bytes: a push from now on writes a new one, so none is missed.
        let items = {
            let mut q = self.shared.queue.lock().unwrap_or_else(|e| e.into_inner());
            q.signalled = false;
            std::mem::take(&mut q.items)
        };
        let (remove, set_result, set_exception) = (
            pyo3::intern!(py, "remove_done_callback"),
            pyo3::intern!(py, "set_result"),
            pyo3::intern!(py, "set_exception"),
        );
        for d in items {
            let fut = d.fut.bind(py);
            let _ = fut.call_method1(remove, (d.on_cancel,));
            let (ok, value) = (d.outcome)(py);
            // A future cancelled meanwhile refuses its result (InvalidStateError), and keeps no
            // other waiting.
            let _ = fut.call_method1(if ok { set_result } else { set_exception }, (value,));
        }
    }
}

thread_local! {
    /// The mailboxes of the loops this thread has run, with a reference to each loop (so a new
    /// loop can never be taken for a dead one at the same address). Usually one.
    static MAILBOXES: RefCell<Vec<(Py<PyAny>, Sender)>> = const { RefCell::new(Vec::new()) };
}

/// The mailbox of `event_loop`, made and registered on its first use. Called on the loop's
/// thread, where the loop runs.
pub fn for_loop(event_loop: &Bound<'_, PyAny>) -> PyResult<Sender> {
    MAILBOXES.with(|boxes| {
        let mut boxes = boxes.borrow_mut();
        if let Some((_, s)) = boxes.iter().find(|(l, _)| l.as_ptr() == event_loop.as_ptr()) {
            return Ok(s.clone());
        }
        // A closed loop's futures have nobody waiting on them: its mailbox goes (and its sockets close).
        let py = event_loop.py();
        boxes.retain(|(l, _)| !l.bind(py).call_method0("is_closed").and_then(|c| c.is_truthy()).unwrap_or(true));
        let (read, wake) = UnixStream::pair()?;
        read.set_nonblocking(true)?;
        wake.set_nonblocking(true)?;
        let fd = read.as_raw_fd();
        let shared = Arc::new(Shared { queue: Mutex::new(Queue { items: Vec::new(), signalled: false }), wake, read });
        event_loop.call_method1("add_reader", (fd, Drain { shared: shared.clone() }))?;
        let sender = Sender { shared };
        boxes.push((event_loop.clone().unbind(), sender.clone()));
        Ok(sender)
    })
}
