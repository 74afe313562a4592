#!/usr/bin/env python3
"""basics `sign` of one big document (detached CMS, RSA) in one WebSocket message, next
to `openssl dgst -sha256` of the same bytes.

  cargo build --release && python3 benches/big_message.py [MiB]   (default 64)

Each of three runs starts a fresh daemon and times its first request, from the first
byte sent to the reply (the frame is encoded before the clock starts, as a browser has
its message ready before it sends it); `openssl dgst` is timed three times too. Prints
the median of ours, the largest peak RSS, the message size and the best `dgst`:
`big MIB SECONDS PEAK_RSS_MIB MESSAGE_MIB DGST_SECONDS`.
"""
import base64, json, os, re, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from large_documents import BIN, KEY, ws_connect, recv_frame, text_frame  # noqa: E402

RUNS = 3


def first_request(frame, tmp, port):
    """A fresh daemon's first request: seconds, and the daemon's peak RSS in MiB."""
    daemon = subprocess.Popen([BIN, "--listen", f"127.0.0.1:{port}", "--insecure-ws", "--offline", "--data-dir", tmp,
                               "--auto-key", KEY, "--auto-password", "Qwerty12"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        s = ws_connect(port)
        recv_frame(s)
        start = time.perf_counter()
        s.sendall(frame)
        reply = json.loads(recv_frame(s))
        elapsed = time.perf_counter() - start
        assert reply.get("status") is True, str(reply)[:300]
        hwm = int(re.search(r"VmHWM:\s+(\d+)", open(f"/proc/{daemon.pid}/status").read()).group(1)) / 1024
        return elapsed, hwm
    finally:
        daemon.terminate()
        daemon.wait()


def dgst_seconds(path):
    start = time.perf_counter()
    subprocess.run(["openssl", "dgst", "-sha256", path], check=True, capture_output=True)
    return time.perf_counter() - start


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
    frame = text_frame(message)
    runs = [first_request(frame, tmp, 14960 + i) for i in range(RUNS)]
    elapsed = sorted(t for t, _ in runs)[RUNS // 2]
    hwm = max(h for _, h in runs)
    dgst = min(dgst_seconds(path) for _ in range(RUNS))
    print(f"big {mib} {elapsed:.3f} {hwm:.1f} {len(message) / 1048576:.1f} {dgst:.3f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 64)
