//! What the signing journal ([`crate::journal`]) keeps of a request, built where the
//! core knows both the documents and how the request ended.
//!
//! Journaled: every signing operation (CMS, XML, raw, legacy signing calls) that was
//! signed, canceled or failed. Not journaled: requests that sign nothing (key info,
//! file chooser, timestamps added to a page's CMS), refusals while signing is stopped
//! (the core turns them away before this) and a site's requests over its waiting
//! limit: a page could fill the journal with those without anybody being asked.

use std::path::PathBuf;
use std::sync::Arc;

use sha2::Digest;

use super::{CmsInput, NamedKeyCall, NamedSign, Operation, Outcome, Request, SigningError, files};
use crate::journal::{Document, DocumentKind, Entry, Journal, Signer, Verdict, rfc3339};
use crate::keys::source::KeyPlace;

/// A request on its way, with what the journal will say of its documents.
pub(super) struct Pending {
    journal: Arc<Journal>,
    entry: Entry,
    /// Files among the documents, hashed after signing (a file is not touched before
    /// the person approves).
    files: Files,
}

impl Pending {
    /// `None` for a request that signs nothing.
    pub(super) fn of(journal: &Arc<Journal>, request: &Request) -> Option<Self> {
        let (docs, files) = documents(&request.operation)?;
        let entry = Entry {
            time: String::new(),
            at_ms: 0,
            origin: request.context.origin.clone(),
            action: request.operation.action(),
            method: request.context.method.clone(),
            signer: None,
            documents: docs.len(),
            docs,
            result: Verdict::Failed,
            reason: None,
            prev: String::new(),
        };
        Some(Self { journal: Arc::clone(journal), entry, files })
    }

    /// Record how the request ended.
    pub(super) fn finish(self, outcome: &Result<Outcome, SigningError>) {
        let Self { journal, mut entry, files } = self;
        match outcome {
            Ok(Outcome::Signed { certificate, key, .. }) => {
                entry.result = Verdict::Signed;
                entry.signer = Some(signer(certificate, key));
                for (i, path) in files {
                    if let Some(doc) = entry.docs.get_mut(i) {
                        *doc = file_document(&path);
                    }
                }
            }
            Ok(_) | Err(SigningError::TooManyWaiting) => return,
            Err(e) => (entry.result, entry.reason) = verdict(e),
        }
        entry.at_ms = crate::platform::now_ms();
        entry.time = rfc3339(entry.at_ms);
        journal.record(entry);
    }
}

/// Files among a request's documents: their index and path.
type Files = Vec<(usize, PathBuf)>;

/// The documents of a signing operation, and which of them are files.
fn documents(operation: &Operation) -> Option<(Vec<Document>, Files)> {
    let mut files = Vec::new();
    let docs = match operation {
        Operation::Cms { inputs, .. } => {
            let bytes = inputs.iter().map(CmsInput::len).sum();
            crate::compute::run_for(bytes, || {
                inputs
                    .iter()
                    .enumerate()
                    .map(|(i, input)| match input {
                        // A streamed document comes with its SHA-256 already: not hashed twice.
                        CmsInput::Data { bytes, .. } => Document {
                            kind: DocumentKind::Data,
                            size: bytes.bytes().len() as u64,
                            sha256: bytes
                                .digest(crate::keys::KeyAlgorithm::Rsa)
                                .ok()
                                .map(|d| crate::keys::certificate::hex(&d)),
                        },
                        CmsInput::Digest(hash) => Document::of(DocumentKind::Hash, hash),
                        CmsInput::CoSign(cms) => Document::of(DocumentKind::CoSign, cms),
                        CmsInput::File { path, .. } => {
                            files.push((i, path.clone()));
                            Document { kind: DocumentKind::File, size: 0, sha256: None }
                        }
                    })
                    .collect()
            })
        }
        Operation::Xml { documents, .. } => hash_all(DocumentKind::Xml, documents.iter().map(String::as_bytes)),
        Operation::Raw { documents, .. } => hash_all(DocumentKind::Data, documents.iter().map(Vec::as_slice)),
        Operation::NamedKeyFile(named) => match &named.call {
            NamedKeyCall::Sign { what: NamedSign::Plain(data) | NamedSign::Cms { data, .. }, .. } => {
                vec![Document::of(DocumentKind::Data, data)]
            }
            NamedKeyCall::Sign { what: NamedSign::Xml { xml, .. }, .. } => {
                vec![Document::of(DocumentKind::Xml, xml.as_bytes())]
            }
            _ => return None,
        },
        _ => return None,
    };
    Some((docs, files))
}

/// Every document of one kind, hashed off the async threads when large.
fn hash_all<'a>(kind: DocumentKind, documents: impl Iterator<Item = &'a [u8]> + Clone) -> Vec<Document> {
    let bytes = documents.clone().map(<[u8]>::len).sum();
    crate::compute::run_for(bytes, || documents.map(|d| Document::of(kind, d)).collect())
}

/// A local file as signed: its size and SHA-256, streamed; no hash when it cannot be
/// read again.
fn file_document(path: &std::path::Path) -> Document {
    let mut hasher = sha2::Sha256::new();
    let hashed = files::open_regular(path)
        .ok()
        .and_then(|(file, size)| files::stream_exact(file, size, |chunk| hasher.update(chunk)).ok().map(|()| size));
    let size = hashed.unwrap_or(0);
    let sha256 = hashed.map(|_| crate::keys::certificate::hex(&hasher.finalize()));
    Document { kind: DocumentKind::File, size, sha256 }
}

/// The signer as the journal keeps it.
fn signer(certificate: &crate::keys::Certificate, key: &KeyPlace) -> Signer {
    Signer {
        name: certificate.subject_cn(),
        iin: certificate.iin(),
        bin: certificate.bin(),
        serial: certificate.serial_hex(),
        issuer: certificate.issuer_cn(),
        not_after: rfc3339(certificate.not_after_ms()),
        not_after_ms: certificate.not_after_ms(),
        key: key.clone(),
    }
}

/// How a request that signed nothing ended, with a short reason code.
fn verdict(error: &SigningError) -> (Verdict, Option<String>) {
    let code = match error {
        SigningError::Canceled => return (Verdict::Canceled, None),
        SigningError::Paused => return (Verdict::Canceled, Some("paused".into())),
        other => other.code(),
    };
    (Verdict::Failed, Some(code.into()))
}
