#!/usr/bin/env python3
"""An exported ONNX model in a real viewer: Netron (PyPI `netron`) serves it on localhost and
headless Chromium (Debian's `chromium`, driven over the DevTools protocol so that it waits for
Netron's graph layout) takes a screenshot of the graph. Checks that the graph drew its nodes
(the SVG holds a node per ONNX operator) and writes the PNG.

usage: netron_screenshot.py MODEL.onnx OUT.png
       netron_screenshot.py --trainer TRAINER WORKDIR   (the slow test: train a small model one
                            epoch, export it, view it; exit 77 where chromium is missing)
"""
import base64
import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import netron
import websocket


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Page:
    def __init__(self, ws_url):
        self.ws = websocket.create_connection(ws_url, timeout=60)
        self.next_id = 0

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def evaluate(self, expression):
        return self.call("Runtime.evaluate", expression=expression, returnByValue=True)["result"].get("value")


SMALL = {"name": "netron_small", "input": [1, 8, 8],
         "layers": [{"type": "conv2d", "out_channels": 4, "kernel": 3, "padding": 1}, {"type": "batchnorm2d"},
                    {"type": "relu"}, {"type": "maxpool2d", "kernel": 2}, {"type": "flatten"},
                    {"type": "linear", "out_features": 4}],
         "optimizer": {"type": "sgd", "lr": 0.05},
         "data": {"format": "synthetic", "train": {"count": 64, "shape": [1, 8, 8]}, "classes": 4},
         "training": {"epochs": 1, "batch_size": 16, "chunk_size": 4, "seed": 1}}


def exported_model(trainer, work):
    import pathlib
    import shutil
    work = pathlib.Path(work)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    (work / "model.json").write_text(json.dumps(SMALL))
    subprocess.run([trainer, "--model", str(work / "model.json"), "--run-dir", str(work / "run")], check=True,
                   capture_output=True)
    subprocess.run([trainer, "export", "--model", str(work / "model.json"), "--checkpoint",
                    str(work / "run" / "checkpoints" / "last.safetensors"), "--onnx", str(work / "model.onnx")],
                   check=True, capture_output=True)
    return str(work / "model.onnx"), str(work / "netron.png")


def main():
    if sys.argv[1] == "--trainer":
        import shutil
        if shutil.which("chromium") is None:
            print("SKIPPED: chromium is not installed")
            sys.exit(77)
        model, out = exported_model(sys.argv[2], sys.argv[3])
    else:
        model, out = sys.argv[1], sys.argv[2]
    port, debug_port = free_port(), free_port()
    netron.start(model, address=("localhost", port), browse=False)
    profile = tempfile.mkdtemp(prefix="detnn-netron-chromium-")
    chromium = subprocess.Popen(["chromium", "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                                 f"--remote-debugging-port={debug_port}", f"--user-data-dir={profile}",
                                 "--window-size=900,1800", "about:blank"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                pages = json.load(urllib.request.urlopen(f"http://127.0.0.1:{debug_port}/json/list"))
                break
            except OSError:
                time.sleep(0.2)
        page = Page([p for p in pages if p["type"] == "page"][0]["webSocketDebuggerUrl"])
        page.call("Page.enable")
        page.call("Network.enable")
        # Netron asks for telemetry consent first; answer it as a user who declines would have.
        page.call("Network.setCookie", name="consent", value=str(int(time.time() * 1000)), domain="localhost", path="/")
        page.call("Page.navigate", url=f"http://localhost:{port}/")
        nodes = 0
        for _ in range(300):
            time.sleep(0.2)
            nodes = page.evaluate("document.querySelectorAll('#canvas .node').length") or 0
            if nodes > 0:
                time.sleep(1.0)  # let the layout settle
                break
        shot = page.call("Page.captureScreenshot", format="png")
        with open(out, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        title = page.evaluate("document.title")
        print(f"{model}: Netron drew {nodes} nodes ({title}); screenshot {out}")
        sys.exit(0 if nodes > 0 else 1)
    finally:
        chromium.kill()
        netron.stop(port) if hasattr(netron, "stop") else None


if __name__ == "__main__":
    main()
