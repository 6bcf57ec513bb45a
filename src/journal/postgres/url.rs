//! The connection URL: telling it from a SQLite path, naming its target without the password, and
//! the password libpq would find when the URL has none.

use std::str::FromStr;
use std::time::Duration;

use tokio_postgres::Config;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::errors::{Error, Result};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Whether `spec` names a PostgreSQL journal rather than a SQLite file.
pub fn is_pg_url(spec: &str) -> bool {
    let s = spec.trim_start().to_ascii_lowercase();
    s.starts_with("postgresql://") || s.starts_with("postgres://")
}

/// The driver's configuration for `url` (a connect timeout, the application's name, the password
/// from the environment when the URL has none), its TLS as `sslmode` and `sslrootcert` say, and
/// the target without the password, for messages.
pub(super) fn configure(url: &str) -> Result<(Config, MakeRustlsConnect, String)> {
    let (url, wish) = crate::journal::tls::split_tls(url.trim())?;
    let tls = crate::journal::tls::connector(&wish)?;
    let mut config = Config::from_str(&url).map_err(|_| {
        // The parser's message may quote the string, password and all.
        Error::Journal(
            "task journal: not a valid PostgreSQL URL (expected postgresql://user[:password]@host[:port]/database)"
                .into(),
        )
    })?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    if config.get_application_name().is_none() {
        config.application_name("runway-mcp-server");
    }
    if config.get_password().is_none() {
        if let Some(p) = password_from_env(&config, |k| std::env::var_os(k)) {
            config.password(p);
        }
    }
    let target = describe(&config);
    Ok((config, tls, target))
}

/// The connection target without its password, for messages.
pub(super) fn describe(cfg: &Config) -> String {
    use tokio_postgres::config::Host;
    let hosts: Vec<String> = cfg
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let host = match h {
                Host::Tcp(s) => s.clone(),
                #[cfg(unix)]
                Host::Unix(p) => p.display().to_string(),
            };
            match cfg.get_ports().get(i).or(cfg.get_ports().first()) {
                Some(p) => format!("{host}:{p}"),
                None => host,
            }
        })
        .collect();
    let user = cfg.get_user().map(|u| format!("{u}@")).unwrap_or_default();
    format!("postgresql://{user}{}/{}", hosts.join(","), cfg.get_dbname().unwrap_or(""))
}

/// The password libpq would use when the URL has none: `PGPASSWORD`, else the first matching line
/// of the password file (`PGPASSFILE`, else `~/.pgpass`: `host:port:database:user:password`, `*`
/// for any, `\:` and `\\` escaped; libpq skips a file others can read, and so does this).
pub(super) fn password_from_env(cfg: &Config, env: impl Fn(&str) -> Option<std::ffi::OsString>) -> Option<String> {
    use tokio_postgres::config::Host;
    if let Some(p) = env("PGPASSWORD").and_then(|p| p.into_string().ok()).filter(|p| !p.is_empty()) {
        return Some(p);
    }
    let file = env("PGPASSFILE")
        .map(std::path::PathBuf::from)
        .or_else(|| env("HOME").map(|h| std::path::PathBuf::from(h).join(".pgpass")))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if std::fs::metadata(&file).ok()?.permissions().mode() & 0o077 != 0 {
            return None;
        }
    }
    let text = std::fs::read_to_string(&file).ok()?;
    let host = match cfg.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(Host::Unix(_)) | None => "localhost".into(),
        #[cfg(not(unix))]
        None => "localhost".into(),
    };
    let port = cfg.get_ports().first().copied().unwrap_or(5432).to_string();
    let user = cfg.get_user().unwrap_or_default().to_string();
    let db = cfg.get_dbname().map(str::to_string).unwrap_or_else(|| user.clone());
    text.lines().filter(|l| !l.trim_start().starts_with('#')).find_map(|line| {
        let fields = pgpass_fields(line);
        let [h, p, d, u, pw] = <[String; 5]>::try_from(fields).ok()?;
        let ok = |pat: &str, v: &str| pat == "*" || pat == v;
        (ok(&h, &host) && ok(&p, &port) && ok(&d, &db) && ok(&u, &user)).then_some(pw)
    })
}

/// A password-file line's fields, `\:` and `\\` unescaped.
fn pgpass_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => fields.last_mut().unwrap().extend(chars.next()),
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => fields.last_mut().unwrap().push(c),
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::str::FromStr;

    use super::*;
    use crate::journal::PgJournal;

    #[test]
    fn urls_are_told_apart_from_paths_and_never_shown_with_their_password() {
        assert!(is_pg_url("postgresql://u@h/db") && is_pg_url("postgres://h/db") && is_pg_url("  POSTGRES://h"));
        assert!(!is_pg_url("/var/lib/journal.sqlite3") && !is_pg_url("postgres.sqlite3"));
        let cfg = Config::from_str("postgresql://alice:s3cret@db.internal:6543/journal").unwrap();
        assert_eq!(describe(&cfg), "postgresql://alice@db.internal:6543/journal");
        let err = PgJournal::open("postgresql://alice:s3cret@127.0.0.1:1/journal?connect_timeout=2").unwrap_err();
        let msg = err.to_string();
        assert!(!msg.contains("s3cret") && msg.contains("127.0.0.1:1"), "{msg}");
        let bad = PgJournal::open("postgresql://alice:s3cret@host:notaport/db").unwrap_err().to_string();
        assert!(!bad.contains("s3cret"), "{bad}");
    }

    #[test]
    fn the_password_comes_from_pgpassword_or_a_private_password_file() {
        use std::ffi::OsString;
        let dir = std::env::temp_dir().join(format!("rmcp-pgpass-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("pass");
        std::fs::write(
            &file,
            "# comment\nother:5432:*:runway:nope\ndb.internal:6543:journal:runway:p\\:w\\\\1\n*:*:*:runway:any\n",
        )
        .unwrap();
        let env = |extra: Vec<(&'static str, OsString)>| {
            let mut m: HashMap<&'static str, OsString> = extra.into_iter().collect();
            m.entry("PGPASSFILE").or_insert_with(|| file.clone().into());
            move |k: &str| m.get(k).cloned()
        };
        let cfg = |u: &str| Config::from_str(u).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
            let open = cfg("postgresql://runway@db.internal:6543/journal");
            assert_eq!(password_from_env(&open, env(vec![])), None, "a file others can read is skipped");
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let c = cfg("postgresql://runway@db.internal:6543/journal");
        assert_eq!(password_from_env(&c, env(vec![])).as_deref(), Some(r"p:w\1"));
        assert_eq!(password_from_env(&cfg("postgresql://runway@elsewhere/j"), env(vec![])).as_deref(), Some("any"));
        assert_eq!(password_from_env(&cfg("postgresql://bob@elsewhere/j"), env(vec![])), None);
        let from_env = env(vec![("PGPASSWORD", "envpw".into())]);
        assert_eq!(password_from_env(&c, from_env).as_deref(), Some("envpw"));
        std::fs::remove_dir_all(dir).ok();
    }
}
