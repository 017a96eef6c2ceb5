//! Generates the interop test PKI in `interop/certs/`: a test CA and a
//! server certificate it issued, for `*.test.google.fr` (the name interop
//! clients claim with `--server_host_override`), `localhost` and
//! `127.0.0.1`, plus a client certificate for mTLS experiments.
//!
//! ```text
//! cargo run -p examples --bin interop-certs [-- OUT_DIR]
//! ```
//!
//! The files are committed test fixtures, not secrets: run this again only
//! to replace them (for example when they expire, 20 years after
//! generation).

use std::path::PathBuf;

use clap::Parser;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};

/// The command line of `interop-certs`.
#[derive(Debug, Parser)]
#[command(about = "Generates the interop test PKI (test CA, server and client certificates).")]
struct Args {
    /// Where to write the files [default: interop/certs of this repository]
    out_dir: Option<PathBuf>,
}

fn name(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "grpc-stack interop tests");
    dn.push(DnType::CommonName, common_name);
    dn
}

fn validity(params: &mut CertificateParams) {
    params.not_before = rcgen::date_time_ymd(2024, 1, 1);
    params.not_after = rcgen::date_time_ymd(2045, 1, 1);
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = Args::parse()
        .out_dir
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../interop/certs"));
    std::fs::create_dir_all(&out)?;

    let ca_key = KeyPair::generate()?;
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name = name("grpc-stack interop test CA");
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    validity(&mut ca);
    let ca_cert = ca.self_signed(&ca_key)?;

    let server_key = KeyPair::generate()?;
    let mut server = CertificateParams::new(vec![
        "*.test.google.fr".to_owned(),
        "waterzooi.test.google.be".to_owned(),
        "*.test.youtube.com".to_owned(),
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ])?;
    server.distinguished_name = name("*.test.google.com");
    server.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    validity(&mut server);
    let server_cert = server.signed_by(&server_key, &ca_cert, &ca_key)?;

    let client_key = KeyPair::generate()?;
    let mut client = CertificateParams::new(vec!["client.test.google.fr".to_owned()])?;
    client.distinguished_name = name("interop test client");
    client.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    validity(&mut client);
    let client_cert = client.signed_by(&client_key, &ca_cert, &ca_key)?;

    let files = [
        ("ca.pem", ca_cert.pem()),
        ("server1.pem", server_cert.pem()),
        ("server1.key", server_key.serialize_pem()),
        ("client.pem", client_cert.pem()),
        ("client.key", client_key.serialize_pem()),
    ];
    for (file, pem) in files {
        std::fs::write(out.join(file), pem)?;
        println!("wrote {}", out.join(file).display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_output_directory_is_an_optional_positional() {
        Args::command().debug_assert();
        assert_eq!(
            Args::try_parse_from(["interop-certs"]).unwrap().out_dir,
            None
        );
        let args = Args::try_parse_from(["interop-certs", "out"]).unwrap();
        assert_eq!(args.out_dir, Some(PathBuf::from("out")));
        assert!(Args::try_parse_from(["interop-certs", "a", "b"]).is_err());
    }
}
