//! A CA made by `openssl` at test time, for revocation tests: its RSA key and
//! certificate, user certificates it issues, and CRLs from `openssl ca -gencrl` over
//! an `index.txt` the test writes itself (a line per revoked serial: fast even for
//! NCA RK's 422 000 entries, then one `openssl ca -gencrl` call).
//!
//! CRL extensions go through `-crlexts` sections of the CA's configuration, e.g. a
//! delta CRL (`2.5.29.27=critical,DER:02:01:05`, openssl 3.0 has no name for
//! deltaCRLIndicator), an indirect CRL (`issuingDistributionPoint=critical,@idp` with
//! `indirectCRL=TRUE`) or an unknown critical extension (`1.2.3.4=critical,DER:05:00`).
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Run `openssl args…` in `dir`; panics with its message if it fails.
pub fn openssl_in(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl").current_dir(dir).args(args).output().expect("openssl is installed");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// NCA RK's production GOST CRL has about this many entries.
pub const ENTRIES: u64 = 422_000;

/// Serial `i` of a big CRL: 20 octets, as NCA RK's.
pub fn serial_hex(i: u64) -> String {
    format!("4A0E1F{:034X}", u128::from(i) * 7919 + 12_345)
}

/// The `i`-th entry of a big CRL: revoked on 2025-01-(1 + i mod 28), every tenth for
/// keyCompromise.
pub fn revoked(i: u64) -> Revoked {
    Revoked {
        serial_hex: serial_hex(i),
        date: format!("2501{:02}000000Z", 1 + i % 28),
        reason: i.is_multiple_of(10).then_some("keyCompromise"),
    }
}

/// A fresh 2048-bit RSA key in `key` and a self-signed certificate for it in `cert`
/// (files in `dir`), valid 30 days, for `subject` (UTF-8), with the `extensions`
/// (openssl `-addext` values).
pub fn self_signed(dir: &Path, key: &str, cert: &str, subject: &str, extensions: &[&str]) {
    let mut args = vec!["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert];
    args.extend_from_slice(&["-days", "30", "-utf8", "-subj", subject]);
    for ext in extensions {
        args.extend_from_slice(&["-addext", ext]);
    }
    openssl_in(dir, &args);
}

/// A CA in its own directory.
pub struct OpensslCa {
    pub dir: PathBuf,
}

/// One revoked serial for `index.txt`.
pub struct Revoked {
    /// Upper-case hex, as openssl writes serials.
    pub serial_hex: String,
    /// `YYMMDDHHMMSSZ`.
    pub date: String,
    /// An openssl reason name (`keyCompromise`, `removeFromCRL`, …).
    pub reason: Option<&'static str>,
}

impl OpensslCa {
    /// A new CA named `cn` in `dir` (created), with a fresh 2048-bit RSA key.
    /// `extra_config` is appended to its configuration (sections for `-crlexts`).
    pub fn new(dir: &Path, cn: &str, extra_config: &str) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        let ca_usage = ["basicConstraints=critical,CA:true", "keyUsage=critical,keyCertSign,cRLSign"];
        self_signed(dir, "ca.key", "ca.pem", &format!("/CN={cn}"), &ca_usage);
        Self::with_database(dir, extra_config)
    }

    /// A CA named `cn` in `dir` (created) whose certificate this CA issues.
    pub fn intermediate(&self, dir: &Path, cn: &str) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        openssl_in(
            dir,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.csr",
                "-subj",
                &format!("/CN={cn}"),
            ],
        );
        std::fs::write(
            dir.join("ca.ext"),
            "basicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign,cRLSign\n",
        )
        .unwrap();
        let (csr, ext, out) = (dir.join("ca.csr"), dir.join("ca.ext"), dir.join("ca.pem"));
        let paths = [csr.to_str().unwrap(), ext.to_str().unwrap(), out.to_str().unwrap()];
        self.sign_request(paths[0], "7f01", paths[1], &["-out", paths[2]]);
        Self::with_database(dir, "")
    }

    /// The CA's configuration and an empty database.
    fn with_database(dir: &Path, extra_config: &str) -> Self {
        std::fs::write(
            dir.join("ca.cnf"),
            format!(
                "[ca]\ndefault_ca=d\n[d]\ndatabase=index.txt\ncrlnumber=crlnumber\ndefault_md=sha256\n\
                 default_crl_days=7\nunique_subject=no\n{extra_config}"
            ),
        )
        .unwrap();
        std::fs::write(dir.join("index.txt.attr"), "unique_subject = no\n").unwrap();
        std::fs::write(dir.join("index.txt"), "").unwrap();
        std::fs::write(dir.join("crlnumber"), "01\n").unwrap();
        Self { dir: dir.to_owned() }
    }

    pub fn cert_pem(&self) -> String {
        std::fs::read_to_string(self.dir.join("ca.pem")).unwrap()
    }

    /// The CA certificate, parsed.
    pub fn cert(&self) -> x509_cert::Certificate {
        use der::DecodePem;
        x509_cert::Certificate::from_pem(self.cert_pem()).unwrap()
    }

    /// A user certificate (DER) with `serial_hex`, naming `crl_url` as its CRL
    /// distribution point, with `extra_ext` (openssl extension lines) added. All users
    /// share one key (made on first use).
    pub fn issue(&self, serial_hex: &str, crl_url: &str, extra_ext: &str) -> Vec<u8> {
        if !self.dir.join("user.key").exists() {
            openssl_in(&self.dir, &["genrsa", "-out", "user.key", "2048"]);
        }
        let name = format!("user-{serial_hex}");
        std::fs::write(
            self.dir.join(format!("{name}.ext")),
            format!(
                "keyUsage=critical,digitalSignature,nonRepudiation\ncrlDistributionPoints=URI:{crl_url}\n{extra_ext}"
            ),
        )
        .unwrap();
        let (csr, ext, der) = (format!("{name}.csr"), format!("{name}.ext"), format!("{name}.der"));
        openssl_in(&self.dir, &["req", "-new", "-key", "user.key", "-out", &csr, "-subj", &format!("/CN={name}")]);
        self.sign_request(&csr, serial_hex, &ext, &["-outform", "DER", "-out", &der]);
        std::fs::read(self.dir.join(der)).unwrap()
    }

    /// Certify the request `csr` (a file in the CA's directory) with `serial_hex` and the
    /// extensions in the file `ext`, for 10 days; `output` says where to (`-out …`).
    fn sign_request(&self, csr: &str, serial_hex: &str, ext: &str, output: &[&str]) {
        let serial = format!("0x{serial_hex}");
        let mut args = vec!["x509", "-req", "-in", csr, "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial", &serial];
        args.extend_from_slice(&["-days", "10", "-extfile", ext]);
        args.extend_from_slice(output);
        openssl_in(&self.dir, &args);
    }

    /// A user key of its own in `<name>.p12` (protected by `password`), its certificate
    /// in `<name>.pem`: serial `serial_hex`, subject `subject` (`/CN=…/serialNumber=…`),
    /// the extensions `ext` (openssl lines). The certificate is entered in the CA's
    /// database as valid, so that `openssl ocsp` answers for it. Returns the .p12 path.
    pub fn issue_p12(&self, name: &str, serial_hex: &str, subject: &str, ext: &str, password: &str) -> PathBuf {
        let (key, csr, ext_file, pem, p12) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.ext"),
            format!("{name}.pem"),
            format!("{name}.p12"),
        );
        std::fs::write(self.dir.join(&ext_file), ext).unwrap();
        openssl_in(
            &self.dir,
            &["req", "-newkey", "rsa:2048", "-nodes", "-keyout", &key, "-out", &csr, "-subj", subject],
        );
        self.sign_request(&csr, serial_hex, &ext_file, &["-out", &pem]);
        let pass = format!("pass:{password}");
        openssl_in(&self.dir, &["pkcs12", "-export", "-inkey", &key, "-in", &pem, "-out", &p12, "-passout", &pass]);
        openssl_in(&self.dir, &["ca", "-config", "ca.cnf", "-keyfile", "ca.key", "-cert", "ca.pem", "-valid", &pem]);
        self.dir.join(p12)
    }

    /// `name`'s key (of [`OpensslCa::issue_p12`]) in `<name>-chain.p12`, this CA's
    /// certificate carried with it.
    pub fn p12_with_chain(&self, name: &str, password: &str) -> PathBuf {
        let (key, pem, p12) = (format!("{name}.key"), format!("{name}.pem"), format!("{name}-chain.p12"));
        let pass = format!("pass:{password}");
        let args =
            ["pkcs12", "-export", "-inkey", &key, "-in", &pem, "-certfile", "ca.pem", "-out", &p12, "-passout", &pass];
        openssl_in(&self.dir, &args);
        self.dir.join(p12)
    }

    /// Mark the certificate of [`OpensslCa::issue_p12`]'s `name` revoked (now) in the database.
    pub fn revoke(&self, name: &str) {
        let pem = format!("{name}.pem");
        openssl_in(&self.dir, &["ca", "-config", "ca.cnf", "-keyfile", "ca.key", "-cert", "ca.pem", "-revoke", &pem]);
    }

    /// An OCSP request (DER, no nonce) for `name`'s certificate, made by openssl.
    pub fn ocsp_request(&self, name: &str) -> Vec<u8> {
        let out = format!("{name}.ocsp-request");
        let cert = format!("{name}.pem");
        openssl_in(&self.dir, &["ocsp", "-issuer", "ca.pem", "-cert", &cert, "-no_nonce", "-reqout", &out]);
        std::fs::read(self.dir.join(out)).unwrap()
    }

    /// `openssl ocsp`'s answer to `request` from the CA's database, signed by the CA,
    /// valid for `days`. Safe to call from several threads (a responder on loopback).
    pub fn ocsp_answer(&self, request: &[u8], days: &str) -> Vec<u8> {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let (req, resp) = (format!("ocsp-{n}.req"), format!("ocsp-{n}.resp"));
        std::fs::write(self.dir.join(&req), request).unwrap();
        let mut args = vec!["ocsp", "-index", "index.txt", "-CA", "ca.pem", "-rsigner", "ca.pem", "-rkey", "ca.key"];
        args.extend_from_slice(&["-ndays", days, "-reqin", &req, "-respout", &resp]);
        openssl_in(&self.dir, &args);
        std::fs::read(self.dir.join(resp)).unwrap()
    }

    /// Replace the CA's database with these revoked serials.
    pub fn set_revoked(&self, revoked: impl IntoIterator<Item = Revoked>) {
        let mut index = std::io::BufWriter::new(std::fs::File::create(self.dir.join("index.txt")).unwrap());
        for (i, r) in revoked.into_iter().enumerate() {
            let date = match r.reason {
                Some(reason) => format!("{},{reason}", r.date),
                None => r.date,
            };
            writeln!(index, "R\t300101000000Z\t{date}\t{}\tunknown\t/CN=user {i}", r.serial_hex).unwrap();
        }
        index.flush().unwrap();
    }

    /// `openssl ca -gencrl` with `options` (e.g. `-crlexts`, `-crl_lastupdate`): the
    /// CRL in DER, also left in the CA's directory as `<name>`.
    pub fn gencrl(&self, name: &str, options: &[&str]) -> Vec<u8> {
        let pem = format!("{name}.pem");
        let mut args =
            vec!["ca", "-config", "ca.cnf", "-keyfile", "ca.key", "-cert", "ca.pem", "-gencrl", "-out", &pem];
        args.extend_from_slice(options);
        openssl_in(&self.dir, &args);
        openssl_in(&self.dir, &["crl", "-in", &pem, "-outform", "DER", "-out", name]);
        std::fs::read(self.dir.join(name)).unwrap()
    }
}
