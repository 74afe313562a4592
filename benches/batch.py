#!/usr/bin/env python3
"""Batch signing: basics `sign` of N one-KiB documents in one request (one key load,
one approval), next to `openssl speed rsa2048` on the same machine.

  cargo build --release && python3 benches/batch.py [N]   (default 1000)
  python3 benches/batch.py N KEY PASSWORD   (another key; prints only our sig/s:
                                            compare.sh sets it against the GOST engine)

A fresh `qoltanba` (release, headless, plain ws on loopback) with the NCA RSA test key
signs the batch (CMS, detached); the figure is signatures per second over the whole
request (base64, JSON, CMS assembly and RSA), against OpenSSL's RSA-2048 sign/s on one
core. Prints one line: ours, OpenSSL's, the ratio.
"""
import base64, json, os, re, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from large_documents import BIN, KEY, ws_connect, recv_frame, text_frame  # noqa: E402


def openssl_rsa2048_sign_per_s():
    out = subprocess.run(["openssl", "speed", "-seconds", "3", "rsa2048"], capture_output=True, text=True).stdout
    line = next(l for l in out.splitlines() if l.startswith("rsa 2048") or l.startswith("rsa  2048"))
    return float(line.split()[-2])


def ours(n, key=KEY, password="Qwerty12"):
    tmp = tempfile.mkdtemp()
    port = 14950
    daemon = subprocess.Popen([BIN, "--listen", f"127.0.0.1:{port}", "--insecure-ws", "--offline", "--data-dir", tmp,
                               "--auto-key", key, "--auto-password", password],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        s = ws_connect(port)
        recv_frame(s)
        docs = [base64.b64encode(os.urandom(1024)).decode() for _ in range(n)]
        request = {"module": "kz.gov.pki.knca.basics", "method": "sign", "args": {
            "format": "cms", "data": docs, "signingParams": {"decode": True, "encapsulate": False, "allowExpired": True},
            "signerParams": {"extKeyUsageOids": [], "chain": []}, "locale": "en"}}
        frame = text_frame(json.dumps(request))
        start = time.time()
        s.sendall(frame)
        reply = json.loads(recv_frame(s))
        elapsed = time.time() - start
        assert reply.get("status") is True and len(reply["body"]["result"]) == n, str(reply)[:300]
        return n / elapsed
    finally:
        daemon.terminate()
        daemon.wait()


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    if len(sys.argv) > 3:
        print(f"batch of {n} x 1 KiB, {os.path.basename(sys.argv[2])}: qoltanba {ours(n, sys.argv[2], sys.argv[3]):.0f} sig/s")
        sys.exit(0)
    mine, theirs = ours(n), openssl_rsa2048_sign_per_s()
    print(f"batch of {n} x 1 KiB, RSA-2048: qoltanba {mine:.0f} sig/s, openssl speed {theirs:.0f} sign/s (1 core), ratio {mine / theirs:.2f}")
