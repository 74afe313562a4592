"""Verify a XAdES signature with signxml's XAdESVerifier, an implementation
independent of qoltanba (lxml/libxml2 canonicalization, `cryptography` for RSA and
for the certificate path).

Usage: signxml_xades.py SIGNED.xml CA.pem EPOCH_SECONDS

Checks the XMLDSig core (both References, the SignatureValue), that the signature
covers xades:SignedProperties, the SigningCertificateV2 digest against the KeyInfo
certificate, and the certificate path to CA.pem at EPOCH_SECONDS (the NCA test
certificates have expired: the path is judged at a time inside their validity; that
is the only relaxation). signxml does not check SignatureTimeStamp. Prints the
SigningTime on success; exits non-zero with signxml's reason otherwise.
"""

import datetime
import sys

from signxml.xades import XAdESSignatureConfiguration, XAdESVerifier

xml_path, ca_path, at = sys.argv[1:4]
config = XAdESSignatureConfiguration(
    # The document and the SignedProperties (signxml's own signer adds a third, to KeyInfo).
    expect_references=2,
    verification_time=datetime.datetime.fromtimestamp(int(at), datetime.timezone.utc),
)
with open(xml_path, "rb") as f:
    data = f.read()
results = XAdESVerifier().verify(data, ca_pem_file=ca_path, expect_config=config)
properties = [r for r in results if hasattr(r, "signed_properties")]
assert len(properties) == 1, "one SignedProperties result"
ns = {"xades": "http://uri.etsi.org/01903/v1.3.2#"}
print("SigningTime", properties[0].signed_properties.find("xades:SigningTime", ns).text)
