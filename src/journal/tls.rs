//! TLS to the PostgreSQL journal, as libpq reads the URL's `sslmode` and `sslrootcert`, on rustls
//! (the same crypto provider as the HTTP client; no OpenSSL in the wheel).
//!
//! | sslmode | TLS | certificate checked |
//! |---|---|---|
//! | `disable` | never | - |
//! | `allow`, `prefer` (the default) | when the server offers it | only when `sslrootcert` is given (chain) |
//! | `require` | always | only when `sslrootcert` is given (chain), as libpq does |
//! | `verify-ca` | always | the chain, to `sslrootcert` |
//! | `verify-full` | always | the chain and the host name |
//!
//! `sslrootcert` is a PEM file of the certificates to trust, or `system` (the system's roots, and
//! then at least verify-full, as libpq 16 does). Without it, verify-ca and verify-full trust
//! `~/.postgresql/root.crt` when there is one, else the system's roots.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::errors::{Error, Result};

/// What the URL asks of TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TlsWish {
    pub mode: String,
    pub root_cert: Option<String>,
}

/// Splits `sslmode` and `sslrootcert` off `url`: the URL as tokio-postgres reads it (which knows
/// only disable, prefer and require, and no `sslrootcert`), and what was asked.
pub(crate) fn split_tls(url: &str) -> Result<(String, TlsWish)> {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, q),
        None => (url, ""),
    };
    let mut wish = TlsWish { mode: "prefer".into(), root_cert: None };
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "sslmode" => wish.mode = crate::util::percent_decode(v),
            "sslrootcert" => wish.root_cert = Some(crate::util::percent_decode(v)),
            _ => kept.push(pair),
        }
    }
    let lib_mode = match wish.mode.as_str() {
        "disable" => "disable",
        "allow" | "prefer" => "prefer",
        "require" | "verify-ca" | "verify-full" => "require",
        other => {
            return Err(Error::Journal(format!(
                "task journal: sslmode={other} is not one of disable, allow, prefer, require, verify-ca, verify-full"
            )))
        }
    };
    if wish.root_cert.as_deref() == Some("system") && wish.mode != "verify-full" {
        // libpq: the system's roots only make sense with the host name checked.
        wish.mode = "verify-full".into();
    }
    kept.push(match lib_mode {
        "disable" => "sslmode=disable",
        "prefer" => "sslmode=prefer",
        _ => "sslmode=require",
    });
    Ok((format!("{base}?{}", kept.join("&")), wish))
}

/// The connector for `wish`.
pub(crate) fn connector(wish: &TlsWish) -> Result<MakeRustlsConnect> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier: Arc<dyn ServerCertVerifier> = match (wish.mode.as_str(), wish.root_cert.as_deref()) {
        ("verify-full", root) => webpki(&provider, roots(root)?)?,
        ("verify-ca", root) => Arc::new(ChainOnly(webpki(&provider, roots(root)?)?)),
        (_, Some(root)) => Arc::new(ChainOnly(webpki(&provider, roots(Some(root))?)?)),
        (_, None) => Arc::new(Unchecked(provider.clone())),
    };
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Journal(format!("task journal: TLS: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

fn webpki(provider: &Arc<CryptoProvider>, roots: RootCertStore) -> Result<Arc<WebPkiServerVerifier>> {
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| Error::Journal(format!("task journal: TLS: {e}")))
}

fn roots(root_cert: Option<&str>) -> Result<RootCertStore> {
    let mut store = RootCertStore::empty();
    let home_root = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".postgresql/root.crt"));
    let file = match root_cert {
        Some("system") => None,
        Some(path) => Some(PathBuf::from(path)),
        None => home_root.filter(|p| p.is_file()),
    };
    match file {
        Some(path) => {
            let bad = |e: &dyn std::fmt::Display| {
                Error::Journal(format!("task journal: sslrootcert {}: {e}", path.display()))
            };
            for cert in CertificateDer::pem_file_iter(&path).map_err(|e| bad(&e))? {
                store.add(cert.map_err(|e| bad(&e))?).map_err(|e| bad(&e))?;
            }
            if store.is_empty() {
                return Err(bad(&"no certificate in it"));
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            for cert in found.certs {
                let _ = store.add(cert); // one the system has but rustls cannot read: left out
            }
            if store.is_empty() {
                return Err(Error::Journal(
                    "task journal: no root certificates on this system to check the server's with; \
                     give sslrootcert=<PEM file>"
                        .into(),
                ));
            }
        }
    }
    Ok(store)
}

/// The chain to a trusted root, not the host name (verify-ca, and require with a root file).
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        // The chain is checked before the name: a name error means the chain was good.
        match self.0.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// Encryption without checking whose certificate it is (prefer and require without a root file,
/// as libpq does); the handshake's signatures are still checked.
#[derive(Debug)]
struct Unchecked(Arc<CryptoProvider>);

impl ServerCertVerifier for Unchecked {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_keeps_what_tokio_postgres_reads_and_gives_up_the_rest() {
        let (url, w) = split_tls(
            "postgresql://u@db.example:5432/j?application_name=x&sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem",
        )
        .unwrap();
        assert_eq!(url, "postgresql://u@db.example:5432/j?application_name=x&sslmode=require");
        assert_eq!(w, TlsWish { mode: "verify-full".into(), root_cert: Some("/etc/ca.pem".into()) });
        let (url, w) = split_tls("postgresql://u@h/j").unwrap();
        assert_eq!((url.as_str(), w.mode.as_str(), w.root_cert), ("postgresql://u@h/j?sslmode=prefer", "prefer", None));
        assert_eq!(split_tls("postgresql://h/j?sslmode=allow").unwrap().0, "postgresql://h/j?sslmode=prefer");
        assert_eq!(split_tls("postgresql://h/j?sslmode=disable").unwrap().0, "postgresql://h/j?sslmode=disable");
        assert_eq!(split_tls("postgresql://h/j?sslrootcert=system").unwrap().1.mode, "verify-full");
        let e = split_tls("postgresql://h/j?sslmode=verify_full").unwrap_err().to_string();
        assert!(e.contains("sslmode=verify_full is not one of"), "{e}");
    }

    #[test]
    fn a_root_file_without_certificates_is_refused_by_name() {
        let p = std::env::temp_dir().join(format!("rmcp-empty-root-{}.pem", std::process::id()));
        std::fs::write(&p, "not a certificate\n").unwrap();
        let w = TlsWish { mode: "verify-full".into(), root_cert: Some(p.display().to_string()) };
        let e = connector(&w).err().unwrap().to_string();
        assert!(e.contains("sslrootcert") && e.contains(&p.display().to_string()), "{e}");
        std::fs::remove_file(p).ok();
        let w = TlsWish { mode: "verify-ca".into(), root_cert: Some("/nonexistent/ca.pem".into()) };
        assert!(connector(&w).err().unwrap().to_string().contains("/nonexistent/ca.pem"));
    }
}
