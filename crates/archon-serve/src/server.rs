//! Listening: the address rule (a non-loopback address needs TLS or an
//! explicit `--insecure-http`), TLS from PEM files (rustls), and a server
//! that stops gracefully when its shutdown future resolves.

use std::future::Future;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::time::Duration;

use axum::Router;
use axum_server::tls_rustls::RustlsConfig;
use axum_server::Handle;

/// Requests in flight get this long to finish once a stop is asked for.
const GRACE: Duration = Duration::from_secs(10);

/// A certificate chain and its private key, PEM files.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

#[derive(Debug, Clone)]
pub struct ListenOptions {
    pub listen: SocketAddr,
    pub tls: Option<TlsFiles>,
    /// Plain HTTP on a non-loopback address, asked for explicitly.
    pub insecure_http: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("--listen {0}: not a loopback address; stewards' tokens would cross the network in clear text: give --tls-cert and --tls-key, or --insecure-http to accept that")]
    NeedsTls(SocketAddr),
    #[error("--listen {addr}: {error}")]
    Bind {
        addr: SocketAddr,
        error: std::io::Error,
    },
    #[error("TLS certificate {} / key {}: {error}", files.cert.display(), files.key.display())]
    Tls {
        files: TlsFiles,
        error: std::io::Error,
    },
    #[error("cannot start the server's runtime: {0}")]
    Runtime(std::io::Error),
    #[error("serving on {addr}: {error}")]
    Serve {
        addr: SocketAddr,
        error: std::io::Error,
    },
}

/// Refuses plain HTTP off loopback unless asked for.
pub fn check_listen(options: &ListenOptions) -> Result<(), ServeError> {
    if options.tls.is_none() && !options.insecure_http && !options.listen.ip().is_loopback() {
        return Err(ServeError::NeedsTls(options.listen));
    }
    Ok(())
}

/// A bound socket, ready to serve.
pub struct Listening {
    listener: TcpListener,
    tls: Option<RustlsConfig>,
    addr: SocketAddr,
}

impl Listening {
    /// Checks the address rule, loads TLS and binds (port 0 picks a free one).
    pub async fn bind(options: &ListenOptions) -> Result<Listening, ServeError> {
        check_listen(options)?;
        let tls = match &options.tls {
            Some(files) => Some(
                RustlsConfig::from_pem_file(&files.cert, &files.key)
                    .await
                    .map_err(|error| ServeError::Tls {
                        files: files.clone(),
                        error,
                    })?,
            ),
            None => None,
        };
        let bind = |error| ServeError::Bind {
            addr: options.listen,
            error,
        };
        let listener = TcpListener::bind(options.listen).map_err(bind)?;
        listener.set_nonblocking(true).map_err(bind)?;
        let addr = listener.local_addr().map_err(bind)?;
        Ok(Listening {
            listener,
            tls,
            addr,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://…` or `https://…` of this socket.
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// Serves `app` until `shutdown` resolves, then lets requests in flight
    /// finish (up to a grace period).
    pub async fn serve(
        self,
        app: Router,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        let addr = self.addr;
        let handle = Handle::new();
        let stopper = handle.clone();
        tokio::spawn(async move {
            shutdown.await;
            stopper.graceful_shutdown(Some(GRACE));
        });
        let service = app.into_make_service();
        let served = match self.tls {
            Some(config) => {
                axum_server::from_tcp_rustls(self.listener, config)
                    .map_err(|error| ServeError::Serve { addr, error })?
                    .handle(handle)
                    .serve(service)
                    .await
            }
            None => {
                axum_server::from_tcp(self.listener)
                    .map_err(|error| ServeError::Serve { addr, error })?
                    .handle(handle)
                    .serve(service)
                    .await
            }
        };
        served.map_err(|error| ServeError::Serve { addr, error })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(listen: &str, tls: bool, insecure_http: bool) -> ListenOptions {
        ListenOptions {
            listen: listen.parse().expect("address"),
            tls: tls.then(|| TlsFiles {
                cert: "cert.pem".into(),
                key: "key.pem".into(),
            }),
            insecure_http,
        }
    }

    #[test]
    fn plain_http_is_for_loopback_unless_asked_for() {
        assert!(check_listen(&options("127.0.0.1:8787", false, false)).is_ok());
        assert!(check_listen(&options("[::1]:8787", false, false)).is_ok());
        for addr in ["0.0.0.0:8787", "192.0.2.7:8787", "[::]:8787"] {
            let err = check_listen(&options(addr, false, false)).expect_err(addr);
            assert!(err.to_string().contains("--tls-cert"), "{err}");
            assert!(check_listen(&options(addr, true, false)).is_ok());
            assert!(check_listen(&options(addr, false, true)).is_ok());
        }
    }
}
