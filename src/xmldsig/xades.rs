//! XAdES (ETSI EN 319 132-1, namespace `http://uri.etsi.org/01903/v1.3.2#`) on top of
//! the enveloped whole-document signature of [`super::sign_xml`]: XAdES-BES (signed
//! SigningTime and SigningCertificateV2) and XAdES-T (a SignatureTimeStamp over the
//! signature value). NCALayer makes no XAdES; its commonUtils `signXml` stays plain
//! XMLDSig, byte for byte.
//!
//! The signature is Kalkan's (same algorithm URIs, one `Reference URI=""` with the
//! enveloped-signature and `c14n#WithComments` transforms, the certificate in KeyInfo),
//! with exclusive C14N for SignedInfo (Kalkan's whole-document signatures use
//! inclusive C14N, which renders the `xml:*` attributes SignedInfo inherits from the
//! document element; verifiers that canonicalize a copy of the signature, signxml
//! among them, lose those and reject the signature: exclusive C14N does not depend on
//! where the signature stands), plus:
//! - `ds:Signature Id`, and a second Reference (`Type="…#SignedProperties"`, exclusive
//!   C14N) to `xades:SignedProperties Id`, inside `ds:Object/xades:QualifyingProperties
//!   Target="#<signature Id>"`;
//! - SignedSignatureProperties: SigningTime (UTC, `Z`) and SigningCertificateV2 (the
//!   certificate's digest with the key's hash, and IssuerSerialV2). V2 rather than the
//!   v1 SigningCertificate: EN 319 132-1 deprecates v1 and its baseline profile asks for
//!   V2; signxml and EU DSS read both; v1's X509IssuerName is a DN string that
//!   verifiers compare in incompatible ways, V2's IssuerSerialV2 is DER;
//! - SignedDataObjectProperties: a DataObjectFormat (`text/xml`) for the document
//!   Reference, which the baseline profile requires;
//! - XAdES-T: UnsignedProperties/UnsignedSignatureProperties/SignatureTimeStamp with
//!   exclusive C14N and the TSA's token over the canonical `ds:SignatureValue` element.
//!
//! Ids are random, and checked against the document's own, so a document can be
//! signed any number of times (co-signatures); each signature verifies on its own.
//! The timestamp is asked for only after the signature is made ([`XadesBes::timestamp`]),
//! so the signing core can do it off the compute pool and off the screen.
//!
//! Verification of the qualifying properties (in `verify.rs`) reads them with the
//! helpers below: [`qualifying_properties`], [`check_signing_certificate`],
//! [`parse_date_time`] and [`check_timestamp_token`].

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use bergshamra_c14n::C14nMode;
use der::{Decode, Encode};
use uppsala::{Document, NodeId};
use x509_cert::ext::pkix::name::GeneralName;

use super::parse::{self, XmlError};
use super::verify::b64;
use super::{
    C14N, C14N_WITH_COMMENTS, ENVELOPED, EXC_C14N, NS_DSIG, VALUE_MARK, XmlDsigError, algorithm_uris, c14n_err,
    canonical_in_place, first_child, sign_signed_info, splice, strip_declaration,
};
use crate::cms::tsp::TsaConfig;
use crate::keys::{Certificate, KeyAlgorithm, SigningKey};

/// The XAdES 1.3.2 namespace (also that of EN 319 132-1's V2 elements).
pub const NS_XADES: &str = "http://uri.etsi.org/01903/v1.3.2#";
/// The Type of the Reference to SignedProperties.
const SIGNED_PROPERTIES_TYPE: &str = "http://uri.etsi.org/01903#SignedProperties";
/// Stands in for the SignedProperties digest until it is computed.
const PROPERTIES_MARK: &str = "QOLTANBA-SIGNED-PROPERTIES-DIGEST-PLACEHOLDER";
/// Most SignatureTimeStamp elements read in one signature (real ones have one).
pub const MAX_TIMESTAMPS: usize = 4;
/// Longest X509SerialNumber read, in decimal digits (a 20-byte serial has 49).
const MAX_SERIAL_DIGITS: usize = 100;

/// A XAdES-BES signature made; a timestamp can still be added ([`Self::timestamp`]).
#[derive(Debug)]
pub struct XadesBes {
    xml: String,
    /// Where UnsignedProperties go: the end tag of our QualifyingProperties.
    stamp_at: usize,
    /// The exclusive canonical form of our `ds:SignatureValue`: what the timestamp covers.
    signature_value: Vec<u8>,
    algorithm: KeyAlgorithm,
    signature_id: String,
}

impl XadesBes {
    /// The signed document (XAdES-BES).
    pub fn into_xml(self) -> String {
        self.xml
    }

    /// Ask `tsa` for a timestamp over the signature value and add it (XAdES-T). The
    /// signature itself is unchanged: the timestamp is an unsigned property. Any
    /// failure of the TSA is an error: no document is returned without the timestamp.
    pub fn timestamp(self, tsa: &TsaConfig) -> Result<String, XmlDsigError> {
        let token = crate::cms::tsp::request_token(tsa, self.algorithm, &self.signature_value)
            .map_err(XmlDsigError::Timestamp)?;
        let unsigned = format!(
            r#"<xades:UnsignedProperties><xades:UnsignedSignatureProperties><xades:SignatureTimeStamp Id="{}-ts"><ds:CanonicalizationMethod Algorithm="{EXC_C14N}"/><xades:EncapsulatedTimeStamp>{}</xades:EncapsulatedTimeStamp></xades:SignatureTimeStamp></xades:UnsignedSignatureProperties></xades:UnsignedProperties>"#,
            self.signature_id,
            base64::engine::general_purpose::STANDARD.encode(&token)
        );
        let mut xml = self.xml;
        if !xml.is_char_boundary(self.stamp_at) {
            return Err(XmlError("internal: no place for the timestamp".into()).into());
        }
        xml.insert_str(self.stamp_at, &unsigned);
        Ok(xml)
    }
}

/// Sign the whole of `xml` as XAdES-BES, or XAdES-T when `tsa` is given (see the
/// module documentation). `signing_time` becomes the signed SigningTime.
pub fn sign_xades(
    xml: &str,
    key: &dyn SigningKey,
    signing_time: SystemTime,
    tsa: Option<&TsaConfig>,
) -> Result<String, XmlDsigError> {
    let signed = sign_xades_bes(xml, key, signing_time)?;
    match tsa {
        Some(tsa) => signed.timestamp(tsa),
        None => Ok(signed.into_xml()),
    }
}

/// Sign the whole of `xml` as XAdES-BES; the timestamp, if wanted, comes after.
pub fn sign_xades_bes(xml: &str, key: &dyn SigningKey, signing_time: SystemTime) -> Result<XadesBes, XmlDsigError> {
    let body = strip_declaration(xml);
    let doc = parse::parse(body)?;
    let root = doc.document_element().ok_or_else(|| XmlError("the XML document has no root element".into()))?;
    let algorithm = key.algorithm();
    let document = bergshamra_c14n::canonicalize_doc::<&str>(&doc, C14nMode::Inclusive, None, &[]).map_err(c14n_err)?;
    let existing = parse::id_index(&doc, &parse::id_attribute_names(&doc));
    let signature_id = fresh_id(&existing)?;
    let cert = key.certificate();
    let template = Template {
        algorithm,
        signature_id: &signature_id,
        document_digest: &algorithm.digest(&document)?,
        signing_time: &date_time(signing_time)?,
        cert_digest: &algorithm.digest(cert.der())?,
        issuer_serial: &issuer_serial(cert)?,
        cert: cert.der(),
    }
    .render();
    let (mut out, signature_start) = splice(&doc, body, root, &template)?;

    // SignedProperties as they stand in the output, digested into their Reference.
    let properties = canonical_in_place(&out, signature_start, C14nMode::Exclusive, signed_properties)?;
    let properties_digest = base64::engine::general_purpose::STANDARD.encode(algorithm.digest(&properties)?);
    let mark = out[signature_start..]
        .find(PROPERTIES_MARK)
        .map(|i| i + signature_start)
        .ok_or_else(|| XmlError("internal: no properties mark".into()))?;
    out.replace_range(mark..mark + PROPERTIES_MARK.len(), &properties_digest);

    let value = sign_signed_info(&mut out, signature_start, C14nMode::Exclusive, key, super::Layout::Compact)?;
    let end_tag = "</xades:QualifyingProperties>";
    let stamp_at = out[signature_start..]
        .find(end_tag)
        .map(|i| i + signature_start)
        .ok_or_else(|| XmlError("internal: no QualifyingProperties".into()))?;
    Ok(XadesBes { signature_value: canonical_signature_value(&value)?, xml: out, stamp_at, algorithm, signature_id })
}

/// The SignedProperties of the signature element `signature` we made.
fn signed_properties(doc: &Document<'_>, signature: NodeId) -> Option<NodeId> {
    let object = first_child(doc, signature, "Object")?;
    let qualifying = xades_child(doc, object, "QualifyingProperties")?;
    xades_child(doc, qualifying, "SignedProperties")
}

/// The exclusive canonical form of `<ds:SignatureValue>` holding `value` as we write it
/// (no attributes, compact base64): it does not depend on where the element stands.
fn canonical_signature_value(value: &[u8]) -> Result<Vec<u8>, XmlError> {
    let b64 = base64::engine::general_purpose::STANDARD.encode(value);
    let element = format!(r#"<ds:SignatureValue xmlns:ds="{NS_DSIG}">{b64}</ds:SignatureValue>"#);
    let doc = parse::parse(&element)?;
    bergshamra_c14n::canonicalize_doc::<&str>(&doc, C14nMode::Exclusive, None, &[]).map_err(c14n_err)
}

/// A random Id not used in the document (`xades-` and 16 hex digits).
fn fresh_id(existing: &HashMap<&str, NodeId>) -> Result<String, XmlError> {
    for _ in 0..8 {
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes).map_err(|e| XmlError(format!("random: {e}")))?;
        let id = format!("xades-{}", crate::keys::certificate::hex(&bytes));
        let taken = [id.as_str(), &format!("{id}-signedprops"), &format!("{id}-ref0"), &format!("{id}-ts")]
            .iter()
            .any(|candidate| existing.contains_key(candidate));
        if !taken {
            return Ok(id);
        }
    }
    Err(XmlError("internal: no free Id for the signature".into()))
}

/// `time` as xs:dateTime in UTC, whole seconds: `2026-05-03T10:11:12Z`.
fn date_time(time: SystemTime) -> Result<String, XmlError> {
    let bad = || XmlError("the signing time cannot be written".into());
    let seconds = time.duration_since(UNIX_EPOCH).map_err(|_| bad())?.as_secs();
    let t = time::OffsetDateTime::from_unix_timestamp(i64::try_from(seconds).map_err(|_| bad())?).map_err(|_| bad())?;
    Ok(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    ))
}

/// Base64 of DER IssuerSerial (RFC 5035) of `cert`: IssuerSerialV2's content.
fn issuer_serial(cert: &Certificate) -> Result<String, XmlDsigError> {
    let tbs = cert.parsed().tbs_certificate();
    let value = crate::cms::IssuerSerial {
        issuer: vec![GeneralName::DirectoryName(tbs.issuer().clone())],
        serial_number: tbs.serial_number().clone(),
    };
    let der = value.to_der().map_err(|e| XmlError(format!("IssuerSerialV2: {e}")))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(der))
}

/// What goes into the `ds:Signature` element.
struct Template<'a> {
    algorithm: KeyAlgorithm,
    signature_id: &'a str,
    document_digest: &'a [u8],
    signing_time: &'a str,
    cert_digest: &'a [u8],
    /// Base64 already.
    issuer_serial: &'a str,
    cert: &'a [u8],
}

impl Template<'_> {
    /// The compact signature element, with [`VALUE_MARK`] and [`PROPERTIES_MARK`] to fill.
    fn render(&self) -> String {
        let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
        let (signature_uri, digest_uri) = algorithm_uris(self.algorithm);
        let id = self.signature_id;
        let digest_method = format!(r#"<ds:DigestMethod Algorithm="{digest_uri}"/>"#);
        let mut s = format!(r#"<ds:Signature xmlns:ds="{NS_DSIG}" Id="{id}"><ds:SignedInfo>"#);
        s.push_str(&format!(r#"<ds:CanonicalizationMethod Algorithm="{EXC_C14N}"/>"#));
        s.push_str(&format!(r#"<ds:SignatureMethod Algorithm="{signature_uri}"/>"#));
        s.push_str(&format!(
            r#"<ds:Reference Id="{id}-ref0" URI=""><ds:Transforms><ds:Transform Algorithm="{ENVELOPED}"/><ds:Transform Algorithm="{C14N_WITH_COMMENTS}"/></ds:Transforms>{digest_method}<ds:DigestValue>{}</ds:DigestValue></ds:Reference>"#,
            b64(self.document_digest)
        ));
        s.push_str(&format!(
            r##"<ds:Reference Type="{SIGNED_PROPERTIES_TYPE}" URI="#{id}-signedprops"><ds:Transforms><ds:Transform Algorithm="{EXC_C14N}"/></ds:Transforms>{digest_method}<ds:DigestValue>{PROPERTIES_MARK}</ds:DigestValue></ds:Reference>"##
        ));
        s.push_str(&format!("</ds:SignedInfo><ds:SignatureValue>{VALUE_MARK}</ds:SignatureValue>"));
        s.push_str(&format!(
            "<ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>",
            b64(self.cert)
        ));
        s.push_str(&format!(
            r##"<ds:Object><xades:QualifyingProperties xmlns:xades="{NS_XADES}" Target="#{id}"><xades:SignedProperties Id="{id}-signedprops"><xades:SignedSignatureProperties>"##
        ));
        s.push_str(&format!("<xades:SigningTime>{}</xades:SigningTime>", self.signing_time));
        s.push_str(&format!(
            "<xades:SigningCertificateV2><xades:Cert><xades:CertDigest>{digest_method}<ds:DigestValue>{}</ds:DigestValue></xades:CertDigest><xades:IssuerSerialV2>{}</xades:IssuerSerialV2></xades:Cert></xades:SigningCertificateV2>",
            b64(self.cert_digest),
            self.issuer_serial
        ));
        s.push_str(&format!(
            r##"</xades:SignedSignatureProperties><xades:SignedDataObjectProperties><xades:DataObjectFormat ObjectReference="#{id}-ref0"><xades:MimeType>text/xml</xades:MimeType></xades:DataObjectFormat></xades:SignedDataObjectProperties></xades:SignedProperties></xades:QualifyingProperties></ds:Object></ds:Signature>"##
        ));
        s
    }
}

// ---------------------------------------------------------------------------------
// Reading the qualifying properties of a signature (for `verify.rs`).

/// The first child of `node` in the XAdES namespace named `local`.
fn xades_child(doc: &Document<'_>, node: NodeId, local: &str) -> Option<NodeId> {
    xades_children(doc, node, local).next()
}

fn xades_children<'d>(doc: &'d Document<'_>, node: NodeId, local: &'d str) -> impl Iterator<Item = NodeId> + 'd {
    doc.children_iter(node).filter(move |c| doc.element(*c).is_some_and(|e| e.name.matches(Some(NS_XADES), local)))
}

/// What a signature's `ds:Object/xades:QualifyingProperties` holds, found without any
/// cryptography. Each element is the first of its name where it is expected.
pub(super) struct Qualifying {
    /// The `Target` attribute.
    pub target: Option<String>,
    pub signed_properties: Option<NodeId>,
    /// SigningTime's text.
    pub signing_time: Option<String>,
    /// `SigningCertificateV2` or `SigningCertificate`.
    pub signing_certificate: Option<NodeId>,
    /// The SignatureTimeStamp elements, at most [`MAX_TIMESTAMPS`] + 1 (one more than
    /// allowed tells the caller there are too many).
    pub timestamps: Vec<NodeId>,
}

/// The qualifying properties of `signature`, or `None` when it is not XAdES.
pub(super) fn qualifying_properties(doc: &Document<'_>, signature: NodeId) -> Option<Qualifying> {
    let qualifying = doc
        .children_iter(signature)
        .filter(|c| doc.element(*c).is_some_and(|e| e.name.matches(Some(NS_DSIG), "Object")))
        .find_map(|object| xades_child(doc, object, "QualifyingProperties"))?;
    let signed_properties = xades_child(doc, qualifying, "SignedProperties");
    let signed_signature = signed_properties.and_then(|p| xades_child(doc, p, "SignedSignatureProperties"));
    let signing_time =
        signed_signature.and_then(|s| xades_child(doc, s, "SigningTime")).map(|t| doc.text_content_deep(t));
    let signing_certificate = signed_signature.and_then(|s| {
        xades_child(doc, s, "SigningCertificateV2").or_else(|| xades_child(doc, s, "SigningCertificate"))
    });
    let timestamps = xades_children(doc, qualifying, "UnsignedProperties")
        .flat_map(|u| xades_children(doc, u, "UnsignedSignatureProperties"))
        .flat_map(|u| xades_children(doc, u, "SignatureTimeStamp"))
        .take(MAX_TIMESTAMPS + 1)
        .collect();
    Some(Qualifying {
        target: doc.element(qualifying).and_then(|e| e.get_attribute("Target")).map(str::to_owned),
        signed_properties,
        signing_time,
        signing_certificate,
        timestamps,
    })
}

/// The text of `node`'s first XMLDSig child `local`.
fn dsig_text(doc: &Document<'_>, node: NodeId, local: &str) -> Option<String> {
    first_child(doc, node, local).map(|n| doc.text_content_deep(n))
}

/// Check that a SigningCertificateV2 / SigningCertificate element names `cert`: the
/// digest of its first `Cert`, and IssuerSerialV2 / IssuerSerial when present.
/// `digest_of` hashes with a DigestMethod URI (`None`: unknown method).
pub(super) fn check_signing_certificate(
    doc: &Document<'_>,
    node: NodeId,
    cert: &Certificate,
    digest_of: impl Fn(&str, &[u8]) -> Option<Vec<u8>>,
) -> Result<(), String> {
    let first = xades_child(doc, node, "Cert").ok_or("XAdES SigningCertificate names no certificate")?;
    let cert_digest = xades_child(doc, first, "CertDigest").ok_or("XAdES SigningCertificate has no CertDigest")?;
    let method = first_child(doc, cert_digest, "DigestMethod")
        .and_then(|m| doc.element(m).and_then(|e| e.get_attribute("Algorithm")))
        .unwrap_or_default();
    let expected = dsig_text(doc, cert_digest, "DigestValue")
        .and_then(|t| b64(&t))
        .ok_or("XAdES SigningCertificate: unreadable DigestValue")?;
    let actual = digest_of(method, cert.der())
        .ok_or_else(|| format!("XAdES SigningCertificate: unsupported DigestMethod {method}"))?;
    if actual != expected {
        return Err("XAdES SigningCertificate: the certificate digest does not match the KeyInfo certificate".into());
    }
    let tbs = cert.parsed().tbs_certificate();
    let mismatch =
        || "XAdES SigningCertificate: the issuer and serial number are not the KeyInfo certificate's".to_owned();
    if let Some(v2) = xades_child(doc, first, "IssuerSerialV2") {
        let der = b64(&doc.text_content_deep(v2)).ok_or_else(mismatch)?;
        let named = crate::cms::IssuerSerial::from_der(&der).map_err(|_| mismatch())?;
        let issuer_ok = named.issuer.iter().any(|g| matches!(g, GeneralName::DirectoryName(n) if n == tbs.issuer()));
        if !issuer_ok || named.serial_number != *tbs.serial_number() {
            return Err(mismatch());
        }
    } else if let Some(v1) = xades_child(doc, first, "IssuerSerial") {
        let serial = dsig_text(doc, v1, "X509SerialNumber").and_then(|t| decimal_to_bytes(t.trim()));
        let issuer = dsig_text(doc, v1, "X509IssuerName").unwrap_or_default();
        let same_serial = serial.is_some_and(|s| s == strip_zeros(tbs.serial_number().as_bytes()));
        let issuer_values = dn_values(&crate::keys::certificate::format_dn(tbs.issuer()));
        if !same_serial || dn_values(&issuer) != issuer_values {
            return Err(mismatch());
        }
    }
    Ok(())
}

fn strip_zeros(bytes: &[u8]) -> Vec<u8> {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    bytes[start..].to_vec()
}

/// A non-negative decimal integer as big-endian bytes without leading zeros; `None`
/// for anything else or more than [`MAX_SERIAL_DIGITS`] digits.
fn decimal_to_bytes(text: &str) -> Option<Vec<u8>> {
    if text.is_empty() || text.len() > MAX_SERIAL_DIGITS || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Little-endian base-256 digits, multiplied by ten and added to per decimal digit.
    let mut value: Vec<u8> = Vec::new();
    for digit in text.bytes().map(|b| u32::from(b - b'0')) {
        let mut carry = digit;
        for byte in value.iter_mut() {
            let v = u32::from(*byte) * 10 + carry;
            *byte = (v & 0xFF) as u8;
            carry = v >> 8;
        }
        while carry > 0 {
            value.push((carry & 0xFF) as u8);
            carry >>= 8;
        }
    }
    value.reverse();
    Some(strip_zeros(&value))
}

/// The attribute values of an RFC 2253/4514 DN string, unescaped, trimmed, lower-cased
/// and sorted: names written with other attribute symbols (`E` or `EMAILADDRESS`,
/// `S` or `ST`) or in another order still compare equal.
fn dn_values(dn: &str) -> Vec<String> {
    let mut values = Vec::new();
    let (mut current, mut in_value, mut escaped) = (String::new(), false, false);
    for c in dn.chars().chain(std::iter::once(',')) {
        match c {
            _ if escaped => {
                escaped = false;
                if in_value {
                    current.push(c);
                }
            }
            '\\' => escaped = true,
            '=' if !in_value => in_value = true,
            ',' | '+' | ';' => {
                if in_value {
                    values.push(current.trim().to_lowercase());
                }
                current.clear();
                in_value = false;
            }
            c if in_value => current.push(c),
            _ => {}
        }
    }
    values.sort();
    values
}

/// An xs:dateTime with a time zone (`2026-05-03T10:11:12Z`, `…12.5+05:00`) as epoch ms.
pub(super) fn parse_date_time(text: &str) -> Option<i64> {
    let text = text.trim();
    let (date, rest) = text.split_once('T')?;
    let mut d = date.split('-');
    let (year, month, day) = (d.next()?, d.next()?, d.next()?);
    if d.next().is_some() || year.len() != 4 || month.len() != 2 || day.len() != 2 {
        return None;
    }
    let number = |s: &str| -> Option<i64> { s.bytes().all(|b| b.is_ascii_digit()).then(|| s.parse().ok())? };
    // The time, then Z or ±hh:mm.
    let (clock, offset_minutes) = if let Some(clock) = rest.strip_suffix('Z') {
        (clock, 0)
    } else {
        let sign_at = rest.rfind(['+', '-'])?;
        let (clock, zone) = rest.split_at(sign_at);
        let (hours, minutes) = zone.get(1..)?.split_once(':')?;
        if hours.len() != 2 || minutes.len() != 2 {
            return None;
        }
        let minutes = number(hours)? * 60 + number(minutes)?;
        (clock, if zone.starts_with('-') { -minutes } else { minutes })
    };
    let (whole, fraction) = clock.split_once('.').unwrap_or((clock, ""));
    let mut c = whole.split(':');
    let (hour, minute, second) = (c.next()?, c.next()?, c.next()?);
    if c.next().is_some() || [hour, minute, second].iter().any(|p| p.len() != 2) {
        return None;
    }
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let millis =
        fraction.bytes().chain(std::iter::repeat(b'0')).take(3).fold(0i64, |m, b| m * 10 + i64::from(b - b'0'));
    let date = time::Date::from_calendar_date(
        i32::try_from(number(year)?).ok()?,
        time::Month::try_from(u8::try_from(number(month)?).ok()?).ok()?,
        u8::try_from(number(day)?).ok()?,
    )
    .ok()?;
    let local = date
        .with_hms(
            u8::try_from(number(hour)?).ok()?,
            u8::try_from(number(minute)?).ok()?,
            u8::try_from(number(second)?).ok()?,
        )
        .ok()?
        .assume_utc()
        .unix_timestamp();
    Some((local - offset_minutes * 60) * 1000 + millis)
}

/// The canonicalization a SignatureTimeStamp names (inclusive C14N 1.0 when absent).
pub(super) fn timestamp_c14n(doc: &Document<'_>, timestamp: NodeId) -> Option<C14nMode> {
    let uri = first_child(doc, timestamp, "CanonicalizationMethod")
        .and_then(|m| doc.element(m).and_then(|e| e.get_attribute("Algorithm")))
        .unwrap_or(C14N);
    super::verify::mode_of(uri)
}

/// The DER token of a SignatureTimeStamp's EncapsulatedTimeStamp.
pub(super) fn timestamp_token(doc: &Document<'_>, timestamp: NodeId) -> Option<Vec<u8>> {
    xades_child(doc, timestamp, "EncapsulatedTimeStamp").and_then(|t| b64(&doc.text_content_deep(t)))
}

/// Check a timestamp token over `stamped` (the canonical SignatureValue element): its
/// imprint is the hash of `stamped`, the TSA's signature verifies. Returns genTime, epoch
/// ms, and the TSA's certificate.
pub(super) fn check_timestamp_token(token: &[u8], stamped: &[u8]) -> Result<(i64, Option<Vec<u8>>), String> {
    let sd = crate::cms::parse_signed_data(token).map_err(|e| format!("the token: {e}"))?;
    let info = crate::cms::tsp::token_info(&sd).map_err(|e| e.to_string())?;
    let oid = &info.message_imprint.hash_algorithm.oid;
    let hasher = crate::crypto::Hasher::for_oid(oid).ok_or_else(|| format!("unknown imprint hash {oid}"))?;
    if hasher.digest(stamped) != info.message_imprint.hashed_message.as_bytes() {
        return Err("it stamps another signature value".into());
    }
    crate::cms::verify::verify_token_signature(&sd)?;
    let ms = info.gen_time_unix().map(|s| s.saturating_mul(1000));
    let ms = ms.ok_or_else(|| format!("unreadable genTime {}", info.gen_time))?;
    Ok((ms, crate::cms::verify::token_signer_certificate(&sd)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_times() {
        assert_eq!(parse_date_time("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_date_time("2021-05-03T00:00:00.25Z"), Some(1_620_000_000_250));
        assert_eq!(parse_date_time("1970-01-01T05:00:00+05:00"), Some(0));
        assert_eq!(parse_date_time("1970-01-01T00:00:00-01:30"), Some(5_400_000));
        for bad in
            ["1970-01-01T00:00:00", "1970-1-01T00:00:00Z", "x", "", "1970-01-01T00:00:60Z", "1970-13-01T00:00:00Z"]
        {
            assert_eq!(parse_date_time(bad), None, "{bad}");
        }
        let now = SystemTime::now();
        let written = date_time(now).unwrap();
        let ms = now.duration_since(UNIX_EPOCH).unwrap().as_millis() as i64;
        assert_eq!(parse_date_time(&written), Some(ms - ms % 1000));
    }

    #[test]
    fn serials_and_names() {
        assert_eq!(decimal_to_bytes("0"), Some(vec![]));
        assert_eq!(decimal_to_bytes("256"), Some(vec![1, 0]));
        assert_eq!(decimal_to_bytes("18446744073709551617"), Some(vec![1, 0, 0, 0, 0, 0, 0, 0, 1]));
        assert_eq!(decimal_to_bytes("-1"), None);
        assert_eq!(decimal_to_bytes(&"9".repeat(MAX_SERIAL_DIGITS + 1)), None);
        assert_eq!(dn_values("CN=A\\, B,O=X"), dn_values("O = x , 2.5.4.3=a\\, b"));
        assert_ne!(dn_values("CN=A,O=X"), dn_values("CN=A,O=Y"));
    }
}
