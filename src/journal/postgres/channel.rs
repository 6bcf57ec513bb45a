//! Events between replicas on the journal's database: `NOTIFY` a payload on a channel, and a
//! `LISTEN` stream of what every replica notifies there. No other service: the replicas already
//! share this database.
//!
//! Sending uses a connection of its own, made when first needed and remade when lost. Listening
//! uses another, held by a background task that connects again and re-issues `LISTEN` whenever
//! the connection drops (backing off up to `MAX_PAUSE`); what was notified while it was away is
//! not replayed (PostgreSQL keeps nothing for a session that is gone). TLS and the password as the
//! journal's own connections (url.rs, journal/tls.rs); the password never appears in an error.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot, watch, Mutex};
use tokio::task::{AbortHandle, JoinHandle};
use tokio_postgres::{AsyncMessage, Client, Config, Connection};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::conn::pg_err;
use super::url::configure;
use crate::errors::{Error, Result};

/// The longest payload `NOTIFY` takes: PostgreSQL refuses 8000 bytes or more.
pub const MAX_PAYLOAD: usize = 7999;
/// Payloads received and not yet read, per listener, before the listening connection waits.
const BACKLOG: usize = 1024;
const FIRST_PAUSE: Duration = Duration::from_millis(200);
const MAX_PAUSE: Duration = Duration::from_secs(5);

/// One channel of one database, for notifying and listening.
pub struct PgChannel {
    config: Config,
    tls: MakeRustlsConnect,
    channel: String,
    target: String,
    sender: Mutex<Option<Client>>,
}

impl std::fmt::Debug for PgChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgChannel").field("target", &self.target).field("channel", &self.channel).finish()
    }
}

impl PgChannel {
    /// The channel `channel` (a lower-case SQL name) of the database at `url`. Connects nothing yet.
    pub fn new(url: &str, channel: &str) -> Result<PgChannel> {
        let plain = channel.len() < 64
            && channel.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
            && channel.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !plain {
            return Err(Error::Journal(format!(
                "event channel {channel:?}: a lower-case name of letters, digits and _, under 64 bytes"
            )));
        }
        let (mut config, tls, target) = configure(url)?;
        // A connection that died without a word (a dropped network path) is noticed in about a
        // minute, not after the system's two hours: the listener then connects again.
        config.keepalives(true).keepalives_idle(Duration::from_secs(30)).keepalives_interval(Duration::from_secs(10));
        config.keepalives_retries(3);
        Ok(PgChannel { config, tls, channel: channel.to_string(), target, sender: Mutex::new(None) })
    }

    /// Where the database is, without the password.
    pub fn target(&self) -> &str {
        &self.target
    }

    fn context(&self, e: Error) -> Error {
        Error::Journal(format!("{e} ({}, events)", self.target))
    }

    /// Sends `payload` to every listener of the channel (this process's included). Refused over
    /// `MAX_PAYLOAD` bytes. A new connection is tried once when the held one fails.
    pub async fn notify(&self, payload: &str) -> Result<()> {
        if payload.len() > MAX_PAYLOAD {
            return Err(Error::Journal(format!(
                "an event of {} bytes: NOTIFY takes at most {MAX_PAYLOAD}",
                payload.len()
            )));
        }
        let mut held = self.sender.lock().await;
        let mut tries = 0;
        loop {
            tries += 1;
            if held.as_ref().is_none_or(|c| c.is_closed()) {
                *held = Some(connect(&self.config, &self.tls).await.map_err(|e| self.context(pg_err(e)))?);
            }
            let client = held.as_ref().expect("connected above");
            match client.execute("SELECT pg_notify($1, $2)", &[&self.channel, &payload]).await {
                Ok(_) => return Ok(()),
                Err(e) => {
                    // Most likely the connection was lost (a restart, a terminated backend): once more
                    // on a new one. A repeat is harmless: an event only says "look again".
                    *held = None;
                    if tries == 2 {
                        return Err(self.context(pg_err(e)));
                    }
                }
            }
        }
    }

    /// Starts listening in the background (on the current tokio runtime); `Listener::ready` tells
    /// how the first `LISTEN` went.
    pub fn listen(&self) -> Listener {
        let (tx, rx) = mpsc::channel(BACKLOG);
        let (listens_tx, listens) = watch::channel(0);
        let (first_tx, first) = oneshot::channel();
        let work = Work {
            config: self.config.clone(),
            tls: self.tls.clone(),
            sql: format!("LISTEN {}", self.channel),
            target: self.target.clone(),
            tx,
            listens: listens_tx,
            first: Some(first_tx),
        };
        Listener { rx, listens, first: Some(first), task: tokio::spawn(work.run()) }
    }
}

/// What the channel's listeners receive, in order, for as long as it is kept.
pub struct Listener {
    rx: mpsc::Receiver<String>,
    listens: watch::Receiver<u64>,
    first: Option<oneshot::Receiver<Result<()>>>,
    task: JoinHandle<()>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Listener {
    /// Waits for the first attempt: Ok once `LISTEN` took, else why it failed (the listener
    /// keeps trying in the background either way).
    pub async fn ready(&mut self) -> Result<()> {
        match self.first.take() {
            Some(first) => first.await.unwrap_or(Ok(())),
            None => Ok(()),
        }
    }

    /// The next payload; None once the listener is stopped.
    pub async fn recv(&mut self) -> Option<String> {
        self.rx.recv().await
    }

    /// How many times `LISTEN` took: 1 after the first connection, one more for each reconnection.
    pub fn listens(&self) -> u64 {
        *self.listens.borrow()
    }

    /// Waits until `LISTEN` has taken more than `n` times.
    pub async fn listening_after(&mut self, n: u64) {
        let _ = self.listens.wait_for(|&k| k > n).await;
    }

    /// Stops the background work from anywhere (then `recv` gives None).
    pub fn abort_handle(&self) -> AbortHandle {
        self.task.abort_handle()
    }
}

/// The listening task's state.
struct Work {
    config: Config,
    tls: MakeRustlsConnect,
    sql: String,
    target: String,
    tx: mpsc::Sender<String>,
    listens: watch::Sender<u64>,
    first: Option<oneshot::Sender<Result<()>>>,
}

impl Work {
    async fn run(mut self) {
        let mut pause = FIRST_PAUSE;
        loop {
            match self.session().await {
                None => return, // nobody receives any more
                Some(Ok(())) => pause = FIRST_PAUSE,
                Some(Err(e)) => {
                    if let Some(first) = self.first.take() {
                        let _ = first.send(Err(Error::Journal(format!("{e} ({}, events)", self.target))));
                    }
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = self.tx.closed() => return,
            }
            pause = (pause * 2).min(MAX_PAUSE);
        }
    }

    /// One connection's life: connect, LISTEN, forward notifications until it ends. None: the
    /// receiver is gone; Some(Ok): it listened, then the connection was lost; Some(Err): it could
    /// not listen.
    async fn session(&mut self) -> Option<Result<()>> {
        let (client, connection) = match self.config.connect(self.tls.clone()).await {
            Ok(c) => c,
            Err(e) => return Some(Err(pg_err(e))),
        };
        let (note_tx, mut notes) = mpsc::unbounded_channel();
        let pump = tokio::spawn(pump(connection, note_tx));
        let _stop_pump = AbortOnDrop(pump.abort_handle());
        if let Err(e) = client.batch_execute(&self.sql).await {
            return Some(Err(pg_err(e)));
        }
        self.listens.send_modify(|n| *n += 1);
        if let Some(first) = self.first.take() {
            let _ = first.send(Ok(()));
        }
        loop {
            tokio::select! {
                note = notes.recv() => match note {
                    Some(payload) => {
                        if self.tx.send(payload).await.is_err() {
                            return None;
                        }
                    }
                    None => return Some(Ok(())), // the connection ended
                },
                _ = self.tx.closed() => return None,
            }
        }
    }
}

struct AbortOnDrop(AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Drives a listening connection, handing on each notification's payload, until it ends.
async fn pump<S, T>(mut connection: Connection<S, T>, notes: mpsc::UnboundedSender<String>)
where
    S: AsyncRead + AsyncWrite + Unpin,
    T: AsyncRead + AsyncWrite + Unpin,
{
    while let Some(Ok(message)) = std::future::poll_fn(|cx| connection.poll_message(cx)).await {
        if let AsyncMessage::Notification(n) = message {
            if notes.send(n.payload().to_string()).is_err() {
                return;
            }
        }
    }
}

/// A connection for sending, its socket driven in the background until the client is dropped.
async fn connect(config: &Config, tls: &MakeRustlsConnect) -> std::result::Result<Client, tokio_postgres::Error> {
    let (client, connection) = config.connect(tls.clone()).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}
