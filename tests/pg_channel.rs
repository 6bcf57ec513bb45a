//! Events between replicas through PostgreSQL (journal/postgres/channel.rs): a payload notified by
//! one handle reaches another's listener; the size limit; listening and sending resume after their
//! connections are dropped by the server. A throwaway server from tests/pg.

use std::time::Duration;

use runway_core::journal::{PgChannel, MAX_PAYLOAD};
use tokio::time::timeout;

mod pg;

/// A bound on waits that should end at once, so that a broken build fails instead of hanging.
const HANG: Duration = Duration::from_secs(60);

/// Terminates the database's other sessions whose current or last query starts with `query`.
async fn terminate(url: &str, query: &str) -> i64 {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    let rows = client
        .query(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE $1",
            &[&format!("{query}%")],
        )
        .await
        .unwrap();
    rows[0].get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notified_payload_reaches_the_listener_and_both_sides_survive_a_dropped_connection() {
    let url = pg::database("channel");
    let sender = PgChannel::new(&url, "runway_test").unwrap();
    let other = PgChannel::new(&url, "runway_test").unwrap();
    let mut heard = other.listen();
    heard.ready().await.unwrap();
    assert_eq!(heard.listens(), 1);

    sender.notify(r#"{"uri":"runway://task/1"}"#).await.unwrap();
    assert_eq!(timeout(HANG, heard.recv()).await.unwrap().as_deref(), Some(r#"{"uri":"runway://task/1"}"#));

    // PostgreSQL's limit, checked before anything is sent; the largest allowed goes through.
    let err = sender.notify(&"x".repeat(MAX_PAYLOAD + 1)).await.unwrap_err().to_string();
    assert!(err.contains("at most"), "{err}");
    let largest = "y".repeat(MAX_PAYLOAD);
    sender.notify(&largest).await.unwrap();
    assert_eq!(timeout(HANG, heard.recv()).await.unwrap(), Some(largest));

    // The server drops the listening connection: the listener connects and LISTENs again by itself.
    assert_eq!(terminate(&url, "LISTEN").await, 1);
    timeout(HANG, heard.listening_after(1)).await.unwrap();
    assert_eq!(heard.listens(), 2);
    sender.notify("after").await.unwrap();
    assert_eq!(timeout(HANG, heard.recv()).await.unwrap().as_deref(), Some("after"));

    // The sending connection dropped: the next notify is sent on a new one.
    assert_eq!(terminate(&url, "SELECT pg_notify").await, 1);
    sender.notify("again").await.unwrap();
    assert_eq!(timeout(HANG, heard.recv()).await.unwrap().as_deref(), Some("again"));

    // Another channel's payloads are not heard.
    PgChannel::new(&url, "runway_other").unwrap().notify("elsewhere").await.unwrap();
    sender.notify("last").await.unwrap();
    assert_eq!(timeout(HANG, heard.recv()).await.unwrap().as_deref(), Some("last"));
}

#[tokio::test]
async fn a_channel_name_must_be_plain_and_errors_never_show_the_password() {
    for bad in ["", "Upper", "1st", "semi;colon", &"x".repeat(64)] {
        assert!(PgChannel::new("postgresql://u@127.0.0.1/db", bad).is_err(), "{bad:?}");
    }
    let ch = PgChannel::new("postgresql://alice:s3cret@127.0.0.1:1/db?connect_timeout=2", "runway_test").unwrap();
    assert_eq!(ch.target(), "postgresql://alice@127.0.0.1:1/db");
    let err = ch.notify("x").await.unwrap_err().to_string();
    assert!(!err.contains("s3cret") && err.contains("127.0.0.1:1"), "{err}");
    let mut l = ch.listen();
    let err = l.ready().await.unwrap_err().to_string();
    assert!(!err.contains("s3cret") && err.contains("127.0.0.1:1"), "{err}");
}
