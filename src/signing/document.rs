//! A document's bytes, and a writer that hashes them while they are received.
//!
//! A big document arrives base64-encoded in one WebSocket message. Its decoding (see
//! `protocol::stream`) and its SHA-256 would take one core as long as the two take
//! together; the [`DocumentWriter`] of a big document hands each decoded megabyte to a
//! thread of its own, which hashes it while the next one is decoded. The pieces share
//! one buffer (the document's reserved room, split as it fills): they are joined again
//! without copying once hashed.

use std::sync::mpsc;
use std::thread::JoinHandle;

use bytes::{Bytes, BytesMut};
use sha2::Digest;

/// Documents expected to be at least this big are hashed beside their decoding.
const HASH_ASIDE_FROM: usize = 4 << 20;
/// Bytes handed to the hashing thread at a time.
const HASH_PIECE: usize = 1 << 20;
/// Pieces that may wait for it (the writer waits when that many do: the pieces are
/// part of the document, so this bounds nothing but how far hashing lags behind).
const PIECES_WAITING: usize = 16;

/// A document's bytes, with the SHA-256 computed while they were received when they
/// came through a [`DocumentWriter`] (a detached signature with an RSA or EC key then
/// needs no second pass over them).
#[derive(Default)]
pub struct Document {
    bytes: Bytes,
    /// SHA-256 of exactly `bytes`: only a [`DocumentWriter`] sets it.
    sha256: Option<Vec<u8>>,
}

impl Document {
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn into_bytes(self) -> Vec<u8> {
        Vec::from(self.bytes)
    }

    /// The digest of the bytes with `algorithm`'s hash.
    pub fn digest(&self, algorithm: crate::keys::KeyAlgorithm) -> Result<Vec<u8>, crate::keys::KeyError> {
        match &self.sha256 {
            Some(sha256) if algorithm.digest_oid() == crate::oid::SHA256 => Ok(sha256.clone()),
            _ => algorithm.digest(&self.bytes),
        }
    }
}

impl std::fmt::Debug for Document {
    /// The bytes only: two documents with the same bytes look the same.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Document").field("bytes", &&self.bytes[..]).finish()
    }
}

impl From<Vec<u8>> for Document {
    fn from(bytes: Vec<u8>) -> Self {
        Self { bytes: bytes.into(), sha256: None }
    }
}

/// A [`Document`] received piece by piece, hashed as it grows.
pub struct DocumentWriter {
    /// Bytes not handed to the hashing thread yet; its spare room is the room reserved
    /// for the rest of the document.
    tail: BytesMut,
    /// Bytes handed to the hashing thread.
    handed: usize,
    hashing: Hashing,
}

enum Hashing {
    /// Small documents: hashed as they grow, on the writer's thread.
    Here(sha2::Sha256),
    /// Big ones: by a thread of their own, which also keeps the pieces it hashed.
    Aside(mpsc::SyncSender<BytesMut>, JoinHandle<(BytesMut, Vec<u8>)>),
}

impl DocumentWriter {
    /// A writer with room for `capacity` bytes (reserved: a document that fits is never
    /// copied to grow, which would need twice its size at once; one that outgrows it is
    /// still right, only slower).
    pub fn with_capacity(capacity: usize) -> Self {
        let aside = if capacity >= HASH_ASIDE_FROM { spawn_hasher() } else { None };
        let hashing = aside.unwrap_or_else(|| Hashing::Here(sha2::Sha256::new()));
        Self { tail: BytesMut::with_capacity(capacity), handed: 0, hashing }
    }

    /// Let `fill` append to the document; what it appended is hashed.
    pub fn append<R>(&mut self, fill: impl FnOnce(&mut BytesMut) -> R) -> R {
        let start = self.tail.len();
        let result = fill(&mut self.tail);
        match &mut self.hashing {
            Hashing::Here(sha256) => sha256.update(self.tail.get(start..).unwrap_or_default()),
            Hashing::Aside(..) if self.tail.len() >= HASH_PIECE => self.hand_over(),
            Hashing::Aside(..) => {}
        }
        result
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.handed + self.tail.len()
    }

    /// Whether nothing was written yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Give the hashing thread what `tail` holds (the rest of the room stays here).
    fn hand_over(&mut self) {
        if let Hashing::Aside(pieces, _) = &self.hashing {
            let piece = self.tail.split();
            self.handed += piece.len();
            // Refused only by a thread that is gone: `finish` reports how it ended.
            let _ = pieces.send(piece);
        }
    }

    pub fn finish(mut self) -> Document {
        self.hand_over();
        let (bytes, sha256) = match self.hashing {
            Hashing::Here(sha256) => (self.tail, sha256.finalize().to_vec()),
            Hashing::Aside(pieces, thread) => {
                drop(pieces);
                // The thread cannot panic (it hashes and joins buffers); were it to,
                // the panic goes on here rather than a document missing pieces.
                thread.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            }
        };
        Document { bytes: bytes.freeze(), sha256: Some(sha256) }
    }
}

/// A thread that hashes the pieces it is given, in order, and joins them again (they
/// lie one after the other in the writer's buffer: joining copies nothing).
fn spawn_hasher() -> Option<Hashing> {
    let (pieces, received) = mpsc::sync_channel::<BytesMut>(PIECES_WAITING);
    let thread = std::thread::Builder::new()
        .name("document-hash".into())
        .spawn(move || {
            let mut sha256 = sha2::Sha256::new();
            let mut whole = BytesMut::new();
            for piece in received {
                sha256.update(&piece);
                whole.unsplit(piece);
            }
            (whole, sha256.finalize().to_vec())
        })
        .ok()?;
    Some(Hashing::Aside(pieces, thread))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::KeyAlgorithm;

    #[test]
    fn a_written_document_gives_every_key_its_own_digest() {
        let mut writer = DocumentWriter::with_capacity(4);
        writer.append(|bytes| bytes.extend_from_slice(b"hello, "));
        writer.append(|bytes| bytes.extend_from_slice(b"world"));
        let written = writer.finish();
        let plain = Document::from(b"hello, world".to_vec());
        assert_eq!(written.bytes(), plain.bytes());
        for algorithm in [
            KeyAlgorithm::Rsa,
            KeyAlgorithm::EcdsaP256,
            KeyAlgorithm::Gost2004,
            KeyAlgorithm::Gost2015_256,
            KeyAlgorithm::Gost2015_512,
        ] {
            let expected = algorithm.digest(b"hello, world").unwrap();
            assert_eq!(written.digest(algorithm).unwrap(), expected, "{algorithm:?}");
            assert_eq!(plain.digest(algorithm).unwrap(), expected, "{algorithm:?}");
        }
    }

    /// Pieces of odd sizes, with and without the room the writer was told of: the
    /// document and its SHA-256 are those of the bytes written, whether hashed on the
    /// writer's thread or beside it.
    #[test]
    fn a_big_document_hashed_aside_is_the_bytes_written_and_their_digest() {
        let content: Vec<u8> = (0..HASH_ASIDE_FROM * 2 + 12_345).map(|i| (i * 7 + i / 251) as u8).collect();
        for capacity in [0, 1000, HASH_ASIDE_FROM, content.len(), content.len() + 10] {
            let mut writer = DocumentWriter::with_capacity(capacity);
            let mut sizes = [1, 3, 700_001, 65_536, 2_000_000, 17].into_iter().cycle();
            let mut at = 0;
            while at < content.len() {
                let end = (at + sizes.next().unwrap()).min(content.len());
                writer.append(|bytes| bytes.extend_from_slice(&content[at..end]));
                at = end;
                assert_eq!(writer.len(), at);
            }
            let document = writer.finish();
            assert!(document.bytes() == content, "capacity {capacity}");
            assert_eq!(
                document.digest(KeyAlgorithm::Rsa).unwrap(),
                sha2::Sha256::digest(&content).to_vec(),
                "capacity {capacity}"
            );
            assert!(document.into_bytes() == content);
        }
    }

    /// With room reserved for all of it, the joined document is the one buffer the
    /// writer reserved: nothing was copied to join the pieces.
    #[test]
    fn pieces_are_joined_without_copying() {
        let size = HASH_ASIDE_FROM + 3 * HASH_PIECE + 5;
        let mut writer = DocumentWriter::with_capacity(size);
        let first = writer.append(|bytes| {
            bytes.resize(HASH_PIECE / 2, 1);
            bytes.as_ptr()
        });
        while writer.len() < size {
            let n = (size - writer.len()).min(300_000);
            writer.append(|bytes| bytes.resize(bytes.len() + n, 2));
        }
        let document = writer.finish();
        assert_eq!(document.bytes().as_ptr(), first);
        assert_eq!(document.bytes().len(), size);
    }
}
