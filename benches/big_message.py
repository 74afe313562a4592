#!/usr/bin/env python3
"""basics `sign` of one big document (detached CMS, RSA) in one WebSocket message, next
to `openssl dgst -sha256` of the same bytes.

  cargo build --release && python3 benches/big_message.py [MiB]   (default 64)

Prints: `big MIB SECONDS PEAK_RSS_MIB MESSAGE_MIB DGST_SECONDS`.
"""
import base64, json, os, re, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from large_documents import BIN, KEY, ws_connect, recv_frame, send_text, timed  # noqa: E402


def main(mib):
    tmp = tempfile.mkdtemp()
    doc = os.urandom(mib << 20)
    path = os.path.join(tmp, "doc.bin")
    with open(path, "wb") as f:
        f.write(doc)
    message = json.dumps({"module": "kz.gov.pki.knca.basics", "method": "sign", "args": {
        "format": "cms", "data": base64.b64encode(doc).decode(),
        "signingParams": {"decode": True, "encapsulate": False, "allowExpired": True},
        "signerParams": {"extKeyUsageOids": [], "chain": []}, "locale": "en"}})
    port = 14960
    daemon = subprocess.Popen([BIN, "--listen", f"127.0.0.1:{port}", "--insecure-ws", "--offline", "--data-dir", tmp,
                               "--auto-key", KEY, "--auto-password", "Qwerty12"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        s = ws_connect(port)
        recv_frame(s)
        start = time.time()
        send_text(s, message)
        reply = json.loads(recv_frame(s))
        elapsed = time.time() - start
        assert reply.get("status") is True, str(reply)[:300]
        hwm = int(re.search(r"VmHWM:\s+(\d+)", open(f"/proc/{daemon.pid}/status").read()).group(1)) / 1024
    finally:
        daemon.terminate()
        daemon.wait()
    dgst, _ = timed(["openssl", "dgst", "-sha256", path])
    print(f"big {mib} {elapsed:.3f} {hwm:.1f} {len(message) / 1048576:.1f} {dgst:.3f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 64)
