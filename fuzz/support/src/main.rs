//! Writes the seed corpus of the fuzz targets into `fuzz/corpus/<target>/`, from the
//! repository's fixtures: NCA test keys, CMS and XML signatures made with them (at a
//! fixed signing time; RSA signatures come out the same each run, GOST ones do not),
//! and JSON requests from the protocol spec (§14), tests/wire.rs and tests/robustness.rs.
//!
//! `cargo run --manifest-path fuzz/support/Cargo.toml --bin make-corpus` from the repository root.
//! Needs `openssl` (PKCS#12 re-exports and a local RFC 3161 TSA on 127.0.0.1).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use qoltanba::cms::tsp::{TsaConfig, add_timestamps};
use qoltanba::cms::{Content, cosign, sign_cades_bes};
use qoltanba::keys::SigningKey;
use qoltanba::keys::certificate::pem_armor;
use qoltanba::keys::file::load_key_bytes;
use qoltanba::protocol::data::encode_base64;
use qoltanba::xmldsig::{Layout, sign_xml};
use serde_json::{Value, json};

const DOCUMENT: &[u8] = b"11\n";
const RSA: &str = "tests/fixtures/nca-test/keys/rsa_sign_individual.p12";
const GOST2004: &str = "tests/fixtures/nca-test/keys/gost2004_ceo.p12";
const GOST2015: &str = "tests/fixtures/nca-test/keys/gost2015_individual.p12";
const GOST2026: &str = "tests/fixtures/nca-test/keys2026/individual.p12";

fn key(path: &str, password: &str) -> Box<dyn SigningKey> {
    load_key_bytes(&std::fs::read(path).unwrap(), password).unwrap().remove(0)
}

struct Out(PathBuf);

impl Out {
    fn put(&self, target: &str, name: &str, bytes: impl AsRef<[u8]>) {
        let dir = self.0.join(target);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}

fn main() {
    std::env::set_current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).unwrap();
    let out = Out(PathBuf::from("fuzz/corpus"));
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let rsa = key(RSA, "Qwerty12");
    let gost2004 = key(GOST2004, "Qwerty12");
    let gost2015 = key(GOST2015, "Aa123456");
    let gost2026 = key(GOST2026, "Qwerty12");

    // ---- pkcs12: the real files, OpenSSL 3 re-exports, PEM bundles.
    for f in [RSA, GOST2004, GOST2015, GOST2026, "tests/fixtures/nca-test/keys/rsa_auth_individual.p12"] {
        let name = Path::new(f).file_name().unwrap().to_str().unwrap();
        out.put("pkcs12", name, std::fs::read(f).unwrap());
    }
    let tmp = std::env::temp_dir().join(format!("qoltanba-corpus-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let pem = tmp.join("rsa.pem");
    openssl(&["pkcs12", "-legacy", "-nodes", "-passin", "pass:Qwerty12", "-in", RSA, "-out", pem.to_str().unwrap()]);
    for (name, extra) in [
        ("rsa_openssl3_pbes2.p12", &[][..]),
        ("rsa_unencrypted_nomac.p12", &["-keypbe", "NONE", "-certpbe", "NONE", "-nomac"][..]),
    ] {
        let p12 = tmp.join(name);
        let mut args = vec!["pkcs12", "-export", "-passout", "pass:Qwerty12", "-in", pem.to_str().unwrap()];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["-out", p12.to_str().unwrap()]);
        openssl(&args);
        out.put("pkcs12", name, std::fs::read(&p12).unwrap());
    }
    let key_pem = tmp.join("rsa.key");
    openssl(&["pkey", "-in", pem.to_str().unwrap(), "-out", key_pem.to_str().unwrap()]);
    let bundle = format!(
        "qoltanba test key (PEM bundle)\n{}{}",
        std::fs::read_to_string(&key_pem).unwrap(),
        pem_armor("CERTIFICATE", rsa.certificate().der())
    );
    out.put("pkcs12", "rsa_bundle.pem", bundle);
    let gost_pkcs8 = qoltanba::keys::pkcs12::open(&std::fs::read(GOST2026).unwrap(), "Qwerty12").unwrap();
    out.put(
        "pkcs12",
        "gost2015_bundle.pem",
        format!(
            "{}{}",
            pem_armor("PRIVATE KEY", &gost_pkcs8.keys[0].pkcs8),
            pem_armor("CERTIFICATE", &gost_pkcs8.certs[0].der)
        ),
    );

    // ---- cms: ours (RSA, GOST 2004, GOST 2015), attached, detached, co-signed,
    // CAdES-T from a local TSA, a Kalkan-made token, armoured forms.
    let rsa_detached = sign_cades_bes(rsa.as_ref(), Content::Data { bytes: DOCUMENT, attach: false }, at).unwrap();
    let rsa_attached = sign_cades_bes(rsa.as_ref(), Content::Data { bytes: DOCUMENT, attach: true }, at).unwrap();
    let gost2004_attached =
        sign_cades_bes(gost2004.as_ref(), Content::Data { bytes: DOCUMENT, attach: true }, at).unwrap();
    let gost2015_detached =
        sign_cades_bes(gost2026.as_ref(), Content::Data { bytes: DOCUMENT, attach: false }, at).unwrap();
    let cosigned = cosign(gost2015.as_ref(), &rsa_attached, at).unwrap();
    let tsa = LocalTsa::start(&tmp);
    let cades_t =
        add_timestamps(&rsa_detached, &TsaConfig { url: tsa.url.clone(), timeout: Duration::from_secs(30) }).unwrap();
    let kalkan_token = std::fs::read("tests/fixtures/nca-test/tsp/tsp_token.bin").unwrap();
    out.put("cms", "rsa_detached.der", &rsa_detached);
    out.put("cms", "rsa_attached.der", &rsa_attached);
    out.put("cms", "gost2004_attached.der", &gost2004_attached);
    out.put("cms", "gost2015_detached.der", &gost2015_detached);
    out.put("cms", "cosigned_rsa_gost2015.der", &cosigned);
    out.put("cms", "rsa_cades_t.der", &cades_t);
    out.put("cms", "kalkan_tsp_token.der", &kalkan_token);
    out.put("cms", "rsa_detached.pem", pem_armor("CMS", &rsa_detached));
    out.put("cms", "rsa_attached.b64", encode_base64(&rsa_attached));

    // ---- xml: documents from the tests, signed ones, and the XPath header form.
    let plain = [
        ("tag.xml", "<tag>data</tag>".to_string()),
        ("cyrillic.xml", "<root><a>1</a><b attr=\"x\">текст</b></root>".into()),
        (
            "declaration_ns.xml",
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ns1:doc xmlns:ns1=\"urn:test\" id=\"d1\"><ns1:item>  spaced  </ns1:item><empty/></ns1:doc>".into(),
        ),
        (
            "tricky.xml",
            "<d:doc xmlns:d=\"urn:d\" xmlns=\"urn:default\" xml:lang=\"kk\">\r\n <d:x a=\"1\" b='&#x49;'>&#1178;азақ &amp; &lt;</d:x><!-- note -->\r\n<?pi x?><![CDATA[<raw>]]></d:doc>".into(),
        ),
        ("attlist.xml", r#"<!DOCTYPE doc [<!ATTLIST item key ID #IMPLIED other CDATA #IMPLIED>]><doc><item key="k1"/></doc>"#.into()),
        ("entity_refused.xml", r#"<!DOCTYPE r [<!ENTITY a "aaaa">]><r>&a;</r>"#.into()),
        (
            "soap.xml",
            r#"<soap:Envelope xmlns:soap="urn:s"><soap:Header/><soap:Body><data Id="d1"><item n="1"/><item n="2"/></data></soap:Body></soap:Envelope>"#.into(),
        ),
    ];
    for (name, xml) in &plain {
        out.put("xml", name, xml);
    }
    let by_id = r#"<root><a Id="part"><x>1</x></a><b/></root>"#;
    let env = r#"<env><body Id="b1"><v>2</v></body><sig place="here"/></env>"#;
    out.put("xml", "xpath_by_id.txt", format!("/root/a\0/root\0{by_id}"));
    out.put("xml", "xpath_self_closing_parent.txt", format!("//body\0/env/sig[@place='here']\0{env}"));
    out.put("xml", "xpath_soap.txt", format!("//data[@Id='d1']\0/soap:Envelope/soap:Header\0{}", plain[6].1));
    let rsa_whole = sign_xml(rsa.as_ref(), "<tag>data</tag>", "", "", Layout::Santuario).unwrap();
    let gost_whole = sign_xml(gost2026.as_ref(), &plain[1].1, "", "", Layout::Compact).unwrap();
    let rsa_part = sign_xml(rsa.as_ref(), by_id, "/root/a", "/root", Layout::Santuario).unwrap();
    let two = sign_xml(gost2015.as_ref(), &rsa_whole, "", "", Layout::Santuario).unwrap();
    out.put("xml", "signed_rsa_whole.xml", &rsa_whole);
    out.put("xml", "signed_gost2015_whole.xml", &gost_whole);
    out.put("xml", "signed_rsa_by_id.xml", &rsa_part);
    out.put("xml", "signed_twice.xml", &two);

    // ---- dispatch: JSON frames.
    const CU: &str = "kz.gov.pki.knca.commonUtils";
    const BASICS: &str = "kz.gov.pki.knca.basics";
    const ACC: &str = "kz.gov.pki.ncalayerservices.accessory";
    let base_args = json!({"allowedStorages":null,"format":"cms","data":"MTEK",
        "signingParams":{"decode":true,"encapsulate":false,"digested":false},
        "signerParams":{"extKeyUsageOids":[]},"locale":"ru"});
    let basics = |patch: Value| {
        let mut args = base_args.clone();
        for (k, v) in patch.as_object().unwrap() {
            args[k] = v.clone();
        }
        json!({"module":BASICS,"method":"sign","args":args})
    };
    let digest = encode_base64(&qoltanba::crypto::sha256(b"x"));
    let rsa_sig = encode_base64(&rsa.sign(b"hello").unwrap());
    let frames: Vec<(&str, Value)> = vec![
        ("d01_sigex_probe", json!({"module":"kz.digiflow.mobile.extensions","method":"getVersion"})),
        ("d03_no_such_method", json!({"module":CU,"method":"noSuch","args":[]})),
        ("d05_type_mismatch", json!({"module":CU,"method":"getKeyInfo","args":[null]})),
        ("d07_type_mismatch", json!({"module":CU,"method":"createCAdESFromBase64","args":["PKCS12",123,"MTEK",false]})),
        (
            "d10_signxmls_mismatch",
            json!({"module":CU,"method":"signXmls","args":["PKCS12","123","<tag>data</tag>","",""]}),
        ),
        ("d12_change_locale", json!({"module":CU,"method":"changeLocale","args":["kk"]})),
        ("d14_tokens_uuid", json!({"module":CU,"method":"getActiveTokens","uuid":"abc"})),
        (
            "d15_bad_xml",
            json!({"module":CU,"method":"signXml","args":["PKCS12","SIGNATURE","<this>is not a valid XML","",""]}),
        ),
        (
            "d16_signing_params_555",
            json!({"module":BASICS,"method":"sign","args":{"format":"cms","data":"MTEK","signingParams":555}}),
        ),
        ("d17_basics_nope", json!({"module":BASICS,"method":"nope","args":{}})),
        ("d19_api_version", json!({"module":BASICS,"method":"sign","apiVersion":1,"args":{}})),
        ("d21_bundles", json!({"module":ACC,"method":"getBundles"})),
        ("d22_services", json!({"module":ACC,"method":"getServices"})),
        ("d24_set_locale", json!({"method":"setLocale","args":["ru"]})),
        ("c01_key_info", json!({"module":CU,"method":"getKeyInfo","args":["PKCS12"],"uuid":"1"})),
        ("c03_cades", json!({"module":CU,"method":"createCAdESFromBase64","args":["PKCS12","SIGNATURE","MTEK",false]})),
        (
            "c07_cosign",
            json!({"module":CU,"method":"createCAdESFromBase64","args":["PKCS12","SIGNATURE",encode_base64(&rsa_attached),true]}),
        ),
        ("c08_hash", json!({"module":CU,"method":"createCAdESFromBase64Hash","args":["PKCS12","SIGNATURE",digest]})),
        (
            "c09_cms_tsp",
            json!({"module":CU,"method":"createCMSSignatureFromBase64","args":["PKCS12","AUTHENTICATION","MTEK",true]}),
        ),
        (
            "c10_apply_cades_t",
            json!({"module":CU,"method":"applyCAdEST","args":["PKCS12","SIGNATURE",encode_base64(&rsa_detached)]}),
        ),
        (
            "c13_sign_xml_by_id",
            json!({"module":CU,"method":"signXml","args":["PKCS12","SIGNATURE",by_id,"/root/a","/root"]}),
        ),
        (
            "c14_sign_xmls",
            json!({"module":CU,"method":"signXmls","args":["PKCS12","SIGNATURE",["<a>1</a>","<b>2</b>"],"",""]}),
        ),
        ("c15_file_chooser", json!({"module":CU,"method":"showFileChooser","args":["ALL",""]})),
        (
            "c16_from_file",
            json!({"module":CU,"method":"createCAdESFromFile","args":["PKCS12","SIGNATURE","/no/such/file",false]}),
        ),
        ("c17_token_storage", json!({"module":CU,"method":"getKeyInfo","args":["AKKaztokenStore"]})),
        ("b01_base", basics(json!({}))),
        ("b05_string_flags", basics(json!({"signingParams":{"decode":"true","encapsulate":"false","tsaProfile":{}}}))),
        ("b07_batch", basics(json!({"data":["MTEK","MTIK","MTMK"]}))),
        ("b08_digested", basics(json!({"data":digest,"signingParams":{"decode":true,"digested":true}}))),
        ("b09_xml", basics(json!({"format":"xml","data":"<tag>data</tag>","signingParams":{}}))),
        (
            "b11_signer_params",
            basics(
                json!({"signerParams":{"extKeyUsageOids":["1.3.6.1.5.5.7.3.2"],"iin":"000000000000","bin":"","serialNumber":"","chain":[pem_armor("CERTIFICATE", rsa.certificate().der())]}}),
            ),
        ),
        ("b13_storages", basics(json!({"allowedStorages":["AKKaztokenStore","PKCS12"]}))),
        ("b15_raw", basics(json!({"format":"raw","signingParams":{"outputCert":true,"decode":true}}))),
        ("l01_get_keys", json!({"method":"getKeys","args":["PKCS12",RSA,"Qwerty12","ALL"]})),
        ("l02_wrong_password", json!({"method":"getKeys","args":["PKCS12",GOST2004,"wrong","SIGN"]})),
        ("l04_not_after", json!({"method":"getNotAfter","args":["PKCS12",GOST2026,"","Qwerty12"]})),
        ("l05_subject", json!({"method":"getSubjectDN","args":["PKCS12",GOST2015,"","Aa123456"]})),
        ("l06_rdn", json!({"method":"getRdnByOid","args":["PKCS12",RSA,"","Qwerty12","2.5.4.5",0]})),
        (
            "l07_sign_xml",
            json!({"method":"signXmlByElementId","args":["PKCS12",RSA,"","Qwerty12",by_id,"a","Id","root"]}),
        ),
        ("l08_verify_plain", json!({"method":"verifyPlainData","args":["PKCS12",RSA,"","Qwerty12","hello",rsa_sig]})),
        (
            "l09_create_cms",
            json!({"method":"createCMSSignature","args":["PKCS12",RSA,"","Qwerty12","MTEK",true],"uuid":"u"}),
        ),
        ("l10_verify_xml", json!({"method":"verifyXml","args":[rsa_part]})),
        ("l11_get_hash", json!({"method":"getHash","args":["data","GOST34112015_512"]})),
        ("l12_unknown", json!({"method":"browseKeyStore","args":["PKCS12","P12",""]})),
        ("w01_module_number", json!({"module":5})),
        ("w02_args_object", json!({"module":CU,"method":"getKeyInfo","args":{"a":1}})),
        ("w03_uuid_object", json!({"module":CU,"method":"getActiveTokens","uuid":{"x":1}})),
        ("w04_data_numbers", json!({"module":BASICS,"method":"sign","args":{"format":"cms","data":[1,2]}})),
        ("w05_legacy_types", json!({"method":1,"args":"x"})),
    ];
    for (name, frame) in frames {
        out.put("dispatch", &format!("{name}.json"), frame.to_string());
    }
    out.put("dispatch", "m01_not_an_object.json", "[1,2,3]");
    out.put("dispatch", "m02_truncated.json", r#"{"module":"kz.gov.pki.knca.basics","method":"si"#);
    out.put("dispatch", "m03_heartbeat.txt", "--heartbeat--");
    out.put("dispatch", "m04_binary.bin", [0xff, 0xfe, 0x00, 0x7b]);
    let _ = std::fs::remove_dir_all(&tmp);
    drop(tsa);
    eprintln!("corpus written to fuzz/corpus/");
}

fn openssl(args: &[&str]) {
    let out = Command::new("openssl").args(args).output().expect("openssl");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// An RFC 3161 TSA on 127.0.0.1 answering with `openssl ts -reply` (as tests/common does).
struct LocalTsa {
    url: String,
}

impl LocalTsa {
    fn start(dir: &Path) -> Self {
        let d = dir.to_path_buf();
        let p = |n: &str| d.join(n).to_str().unwrap().to_owned();
        let (key, cert) = (p("tsa.key"), p("tsa.crt"));
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "30",
            "-subj",
            "/CN=qoltanba fuzz TSA",
            "-addext",
            "extendedKeyUsage=critical,timeStamping",
            "-keyout",
            &key,
            "-out",
            &cert,
        ]);
        std::fs::write(d.join("serial"), "01\n").unwrap();
        std::fs::write(
            d.join("tsa.cnf"),
            format!(
                "[ tsa ]\ndefault_tsa = tsa1\n[ tsa1 ]\ndir = {}\nserial = $dir/serial\nsigner_cert = $dir/tsa.crt\n\
                 signer_key = $dir/tsa.key\nsigner_digest = sha256\ndefault_policy = 1.2.398.3.3.2.6.2\n\
                 other_policies = 1.2.398.3.3.2.6.4, 1.2.398.3.3.2.6.1\ndigests = sha256, sha1\naccuracy = secs:1\n\
                 ordering = no\ntsa_name = no\ness_cert_id_chain = no\ness_cert_id_alg = sha256\ncrypto_device = builtin\n",
                d.display()
            ),
        )
        .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some((k, v)) = line.split_once(':')
                        && k.eq_ignore_ascii_case("content-length")
                    {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut query = vec![0; length];
                reader.read_exact(&mut query).unwrap();
                std::fs::write(d.join("q.tsq"), &query).unwrap();
                let cnf = d.join("tsa.cnf");
                let (q, r) = (d.join("q.tsq"), d.join("r.tsr"));
                openssl(&[
                    "ts",
                    "-reply",
                    "-config",
                    cnf.to_str().unwrap(),
                    "-queryfile",
                    q.to_str().unwrap(),
                    "-out",
                    r.to_str().unwrap(),
                ]);
                let body = std::fs::read(&r).unwrap();
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/timestamp-reply\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&body);
            }
        });
        Self { url }
    }
}
