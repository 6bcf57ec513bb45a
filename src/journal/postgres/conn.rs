//! One connection of the pool: its prepared statements, transactions and advisory locks, and the
//! driver's errors made into the journal's.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;

use sha2::{Digest, Sha256};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Config, Row, Statement};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::rows::from_row;
use crate::errors::{Error, Result};
use crate::journal::Entry;

/// A statement that runs longer is cancelled by the server (a lock wait included): a journal call
/// never hangs a tool call for good.
const STATEMENT_TIMEOUT: &str = "30s";

/// A connection and its prepared statements.
pub(super) struct Conn {
    pub(super) client: Client,
    statements: Mutex<HashMap<String, Statement>>,
}

pub(super) type PgResult<T> = std::result::Result<T, tokio_postgres::Error>;
pub(super) type Params<'a> = [&'a (dyn ToSql + Sync)];

impl Conn {
    pub(super) async fn connect(cfg: Config, tls: MakeRustlsConnect) -> PgResult<Conn> {
        let (client, connection) = cfg.connect(tls).await?;
        // Drives the socket until the client is dropped or the server goes away.
        tokio::spawn(async move {
            let _ = connection.await;
        });
        client.batch_execute(&format!("SET statement_timeout = '{STATEMENT_TIMEOUT}'")).await?;
        Ok(Conn { client, statements: Mutex::new(HashMap::new()) })
    }

    /// `sql` prepared once per connection: later calls are one round trip.
    async fn prepared(&self, sql: &str) -> PgResult<Statement> {
        if let Some(s) = self.statements.lock().unwrap().get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql).await?;
        self.statements.lock().unwrap().insert(sql.to_string(), s.clone());
        Ok(s)
    }

    pub(super) async fn query(&self, sql: &str, params: &Params<'_>) -> PgResult<Vec<Row>> {
        let s = self.prepared(sql).await?;
        self.client.query(&s, params).await
    }

    pub(super) async fn execute(&self, sql: &str, params: &Params<'_>) -> PgResult<u64> {
        let s = self.prepared(sql).await?;
        self.client.execute(&s, params).await
    }

    pub(super) async fn entries(&self, sql: &str, params: &Params<'_>) -> Result<Vec<Entry>> {
        self.query(sql, params).await.map_err(pg_err)?.iter().map(from_row).collect()
    }

    pub(super) async fn exists(&self, sql: &str, params: &Params<'_>) -> PgResult<bool> {
        Ok(!self.query(sql, params).await?.is_empty())
    }

    /// Runs `body` in a transaction: committed if it succeeds, rolled back if not.
    pub(super) async fn in_tx<T>(&self, body: impl Future<Output = Result<T>>) -> Result<T> {
        self.client.batch_execute("BEGIN").await.map_err(pg_err)?;
        match body.await {
            Ok(v) => {
                self.client.batch_execute("COMMIT").await.map_err(pg_err)?;
                Ok(v)
            }
            Err(e) => {
                let _ = self.client.batch_execute("ROLLBACK").await;
                Err(e)
            }
        }
    }

    /// Holds the transaction-level advisory lock of `parts` until the transaction ends.
    pub(super) async fn lock(&self, parts: &[&str]) -> Result<()> {
        self.execute("SELECT pg_advisory_xact_lock($1::bigint)", &[&lock_id(parts)]).await.map_err(pg_err)?;
        Ok(())
    }
}

/// A 64-bit advisory lock id for a tuple of strings (collisions only make two callers wait in turn).
fn lock_id(parts: &[&str]) -> i64 {
    let mut h = Sha256::new();
    h.update(b"runway-journal");
    for p in parts {
        h.update([0u8]);
        h.update(p.as_bytes());
    }
    i64::from_be_bytes(h.finalize()[..8].try_into().unwrap())
}

pub(super) fn pg_err(e: tokio_postgres::Error) -> Error {
    // The driver's messages name neither the password nor the connection string; the reason is in
    // the causes ("error performing TLS handshake: invalid peer certificate: UnknownIssuer").
    let mut message = format!("task journal (PostgreSQL): {e}");
    let mut cause = std::error::Error::source(&e);
    while let Some(c) = cause {
        let text = c.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        cause = c.source();
    }
    Error::Journal(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_ids_differ_by_part_boundaries() {
        assert_ne!(lock_id(&["ab", "c"]), lock_id(&["a", "bc"]));
        assert_eq!(lock_id(&["a"]), lock_id(&["a"]));
    }
}
