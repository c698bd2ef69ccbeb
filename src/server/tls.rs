//! TLS for `sprig serve --tls-cert F --tls-key F`: the certificate chain and key
//! read from PEM files, and a listener that hands axum connections only once their
//! handshake is done.
//!
//! Handshakes run in tasks of their own, so that a client that connects and says
//! nothing holds up no one else; one that takes longer than [`HANDSHAKE_TIMEOUT`]
//! is dropped.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use crate::{Error, Result};

/// How long a client may take to finish its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The server's side of TLS, from a PEM certificate chain and a PEM private key
/// (PKCS#8, PKCS#1 or SEC1). Bad files are usage errors naming the file.
pub fn acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor> {
    let unreadable = |flag: &str, file: &Path, e: &dyn std::fmt::Display| {
        Error::Usage(format!("{flag} {}: {e}", file.display()))
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(|e| unreadable("--tls-cert", cert, &e))?
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| unreadable("--tls-cert", cert, &e))?;
    if chain.is_empty() {
        return Err(unreadable("--tls-cert", cert, &"no PEM certificate in it"));
    }
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| unreadable("--tls-key", key, &e))?;
    // ring has no post-quantum key exchange (so rustls marks it deprecated), but it
    // builds with a C compiler alone, as ureq's client side does; aws-lc needs more.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Usage(format!("TLS: {e}")))?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .map_err(|e| Error::Usage(format!("--tls-cert and --tls-key do not make a pair: {e}")))?;
    let mut config = config;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Accepted connections whose handshake has finished, for `axum::serve`.
pub struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
    accepting: tokio::task::JoinHandle<()>,
}

impl TlsListener {
    pub fn new(listener: TcpListener, acceptor: TlsAcceptor) -> std::io::Result<TlsListener> {
        let local = listener.local_addr()?;
        let (sender, ready) = mpsc::channel(64);
        let accepting = tokio::spawn(accept_and_handshake(listener, acceptor, sender));
        Ok(TlsListener { ready, local, accepting })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

async fn accept_and_handshake(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    ready: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: wait rather than spin.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true); // as for plain HTTP (see `serve`)
        let acceptor = acceptor.clone();
        let ready = ready.clone();
        tokio::spawn(async move {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(stream)) => {
                    let _ = ready.send((stream, peer)).await;
                }
                Ok(Err(e)) => tracing::info!(peer = %peer, error = %e, "TLS handshake failed"),
                Err(_) => tracing::info!(peer = %peer, "TLS handshake timed out"),
            }
        });
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(connection) => connection,
            // The accepting task only ends when this listener is dropped.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.local)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("written");
        path
    }

    #[test]
    fn bad_files_are_usage_errors_that_name_the_file() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("a certificate");
        let cert = write(dir.path(), "cert.pem", &generated.cert.pem());
        let key = write(dir.path(), "key.pem", &generated.signing_key.serialize_pem());
        assert!(acceptor(&cert, &key).is_ok());

        let empty = write(dir.path(), "empty.pem", "");
        let missing = dir.path().join("missing.pem");
        let other = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("a certificate");
        let other_key = write(dir.path(), "other.pem", &other.signing_key.serialize_pem());
        for (c, k, says) in [
            (&empty, &key, "--tls-cert"),
            (&missing, &key, "missing.pem"),
            (&cert, &empty, "--tls-key"),
            (&cert, &cert, "--tls-key"),
            (&cert, &other_key, "do not make a pair"),
        ] {
            match acceptor(c, k) {
                Err(Error::Usage(message)) => assert!(message.contains(says), "{message}"),
                Err(other) => panic!("not a usage error: {other}"),
                Ok(_) => panic!("{} and {} accepted", c.display(), k.display()),
            }
        }
    }
}
