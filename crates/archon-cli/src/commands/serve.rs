//! `archon serve`: the stewards' HTTP API over the governance ledger, until
//! SIGINT or SIGTERM; `archon serve --add-steward` adds a steward and prints
//! its token once.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Result;
use archon_pipeline::Layout;
use archon_serve::{ListenOptions, StewardsFile, TlsFiles, DEFAULT_BODY_LIMIT};
use archon_tasks::io::load_clusters;
use archon_tasks::Ledger;
use clap::Args;

use crate::context::Context;
use crate::outcome::Outcome;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Governance ledger: a SQLite file or a postgres:// URL; default: archon-out/governance.db.
    #[arg(long, value_name = "PATH|URL")]
    pub ledger: Option<PathBuf>,
    /// Address to listen on; off loopback it needs --tls-cert/--tls-key or --insecure-http.
    #[arg(long, default_value = "127.0.0.1:8787", value_name = "ADDR")]
    pub listen: SocketAddr,
    /// Stewards file (token digests); default: stewards.json beside the ledger file
    /// (in archon-out/ for a PostgreSQL ledger).
    #[arg(long, value_name = "FILE")]
    pub stewards: Option<PathBuf>,
    /// Cluster definitions (*.json, cluster-schema format); default: the bundled clusters.
    #[arg(long, value_name = "DIR")]
    pub cluster_dir: Option<PathBuf>,
    /// TLS certificate chain (PEM).
    #[arg(
        long,
        value_name = "FILE",
        requires = "tls_key",
        conflicts_with = "insecure_http"
    )]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Serve plain HTTP on a non-loopback address (tokens cross the network in clear text).
    #[arg(long)]
    pub insecure_http: bool,
    /// Add a steward to the stewards file and print its new token once; does not serve.
    #[arg(long, requires_all = ["cluster", "steward"])]
    pub add_steward: bool,
    /// With --add-steward: the cluster the token acts for.
    #[arg(long, value_name = "ID", requires = "add_steward")]
    pub cluster: Option<String>,
    /// With --add-steward: the cluster's steward id (as its definition names it).
    #[arg(long, value_name = "ID", requires = "add_steward")]
    pub steward: Option<String>,
}

pub fn run(ctx: &Context, args: &ServeArgs) -> Result<Outcome> {
    let ledger_path = args
        .ledger
        .clone()
        .unwrap_or_else(|| Layout::default().ledger());
    let stewards_path = args
        .stewards
        .clone()
        .unwrap_or_else(|| StewardsFile::default_path(&ledger_path, Layout::default().root()));
    let clusters = load_clusters(args.cluster_dir.as_deref())?;
    if let (true, Some(cluster), Some(steward)) = (args.add_steward, &args.cluster, &args.steward) {
        let token = StewardsFile::add(
            &stewards_path,
            &clusters,
            cluster,
            steward,
            &ctx.clock.stamp(),
        )?;
        eprintln!(
            "added steward {steward} of cluster {cluster} to {}; the token is printed once, below",
            stewards_path.display()
        );
        println!("{token}");
        return Ok(Outcome::Complete);
    }
    let stewards = StewardsFile::for_serving(&stewards_path, &clusters)?;
    let options = ListenOptions {
        listen: args.listen,
        tls: args
            .tls_cert
            .clone()
            .zip(args.tls_key.clone())
            .map(|(cert, key)| TlsFiles { cert, key }),
        insecure_http: args.insecure_http,
    };
    // Refused before the ledger is created.
    archon_serve::check_listen(&options)?;
    let ledger = Ledger::open(&ledger_path)?.with_clusters(clusters);
    let count = stewards.stewards.len();
    let app = archon_serve::app(ledger, stewards, ctx.clock, DEFAULT_BODY_LIMIT);
    archon_serve::run_until_stopped(&options, app, |url| {
        println!(
            "listening on {url} (ledger {}, {count} steward(s) from {})",
            ledger_path.display(),
            stewards_path.display()
        );
    })?;
    eprintln!("stopped");
    Ok(Outcome::Complete)
}
