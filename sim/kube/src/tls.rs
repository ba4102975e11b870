//! Optional HTTPS: a fresh CA and a loopback server certificate per start.
//! kubectl (client-go) sends bearer tokens only over TLS, so RBAC checks
//! through kubectl need it.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;

/// CA certificate (PEM and DER) plus the server's acceptor.
pub struct TlsMaterial {
    /// CA certificate, PEM (for kubeconfig `certificate-authority-data`).
    pub ca_pem: String,
    /// CA certificate, DER (for kube::Config::root_cert).
    pub ca_der: Vec<u8>,
    /// Acceptor for the server certificate.
    pub acceptor: TlsAcceptor,
}

fn io_err(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

/// Generate a CA and a server certificate for 127.0.0.1, ::1 and localhost.
pub fn generate() -> std::io::Result<TlsMaterial> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    let ca_key = KeyPair::generate().map_err(io_err)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(io_err)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "sipcred-sim-ca");
    let ca = ca_params.self_signed(&ca_key).map_err(io_err)?;
    let key = KeyPair::generate().map_err(io_err)?;
    let mut params = CertificateParams::new(vec![
        "127.0.0.1".to_string(),
        "::1".to_string(),
        "localhost".to_string(),
    ])
    .map_err(io_err)?;
    params
        .distinguished_name
        .push(DnType::CommonName, "sipcred-sim");
    let cert = params.signed_by(&key, &ca, &ca_key).map_err(io_err)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(io_err)?
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone(), ca.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .map_err(io_err)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsMaterial {
        ca_pem: ca.pem(),
        ca_der: ca.der().to_vec(),
        acceptor: TlsAcceptor::from(Arc::new(config)),
    })
}

/// A TLS listener for `axum::serve`.
pub struct TlsListener {
    /// Plain listener.
    pub tcp: TcpListener,
    /// Acceptor.
    pub acceptor: TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let (tcp, addr) = match self.tcp.accept().await {
                Ok(x) => x,
                Err(_) => {
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                }
            };
            let handshake =
                tokio::time::timeout(std::time::Duration::from_secs(5), self.acceptor.accept(tcp))
                    .await;
            if let Ok(Ok(stream)) = handshake {
                return (stream, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}
