//! Optional native TLS (`--tls-cert`/`--tls-key`), so `wss://` works without
//! a proxy. The files are re-read when they change, so a renewed certificate
//! (certbot, acme.sh) takes effect without a restart.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio_rustls::TlsAcceptor;

/// How often a handshake may look at the files' modification times.
const RECHECK: Duration = Duration::from_secs(5);

/// Why the certificate or key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read or held no usable PEM block.
    #[error("cannot read {path}: {reason}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The key does not suit rustls or does not match the certificate.
    #[error("unusable TLS key {path}: {reason}")]
    Key {
        /// The key file.
        path: PathBuf,
        /// What rustls said.
        reason: String,
    },
}

/// A TLS acceptor over the configured certificate and key.
pub fn acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, TlsError> {
    let resolver = Reloading::new(cert, key)?;
    let mut config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(resolver));
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

fn load(cert: &Path, key: &Path) -> Result<Arc<CertifiedKey>, TlsError> {
    let read_err = |path: &Path, e: &dyn fmt::Display| TlsError::Read {
        path: path.to_owned(),
        reason: e.to_string(),
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| read_err(cert, &e))?
        .collect::<Result<_, _>>()
        .map_err(|e| read_err(cert, &e))?;
    if chain.is_empty() {
        return Err(read_err(cert, &"no CERTIFICATE block"));
    }
    let private = PrivateKeyDer::from_pem_file(key).map_err(|e| read_err(key, &e))?;
    let key_err = |e: rustls::Error| TlsError::Key {
        path: key.to_owned(),
        reason: e.to_string(),
    };
    let provider = rustls::crypto::ring::default_provider();
    let signing = provider
        .key_provider
        .load_private_key(private)
        .map_err(key_err)?;
    let certified = CertifiedKey::new(chain, signing);
    certified.keys_match().map_err(key_err)?;
    Ok(Arc::new(certified))
}

fn mtimes(cert: &Path, key: &Path) -> Option<(SystemTime, SystemTime)> {
    let m = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    Some((m(cert)?, m(key)?))
}

struct Current {
    key: Arc<CertifiedKey>,
    mtimes: Option<(SystemTime, SystemTime)>,
    checked: Instant,
}

/// Serves the current certificate; reloads it when either file changes.
/// A reload that fails keeps the old certificate and logs why.
struct Reloading {
    cert: PathBuf,
    key: PathBuf,
    current: Mutex<Current>,
}

impl Reloading {
    fn new(cert: &Path, key: &Path) -> Result<Self, TlsError> {
        Ok(Reloading {
            current: Mutex::new(Current {
                key: load(cert, key)?,
                mtimes: mtimes(cert, key),
                checked: Instant::now(),
            }),
            cert: cert.to_owned(),
            key: key.to_owned(),
        })
    }
}

impl fmt::Debug for Reloading {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reloading")
            .field("cert", &self.cert)
            .finish()
    }
}

impl ResolvesServerCert for Reloading {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let mut cur = self.current.lock().unwrap_or_else(|p| p.into_inner());
        if cur.checked.elapsed() >= RECHECK {
            cur.checked = Instant::now();
            let now = mtimes(&self.cert, &self.key);
            if now.is_some() && now != cur.mtimes {
                match load(&self.cert, &self.key) {
                    Ok(key) => {
                        tracing::info!(cert = %self.cert.display(), "reloaded TLS certificate");
                        cur.key = key;
                        cur.mtimes = now;
                    }
                    // Likely caught mid-write; the next check retries.
                    Err(e) => tracing::warn!(error = %e, "keeping the old TLS certificate"),
                }
            }
        }
        Some(cur.key.clone())
    }
}
