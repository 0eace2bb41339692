#!/usr/bin/env python3
"""A Docker volume plugin for berth's integration tests.

Serves one directory per volume under DATA_DIR over Docker's legacy plugin protocol (JSON
over HTTP on a UNIX socket) and appends every call, as one JSON line, to LOG so tests can
check what the daemon asked. Standard library only; SIGTERM removes the socket and exits.

Usage: volume_plugin.py SOCKET DATA_DIR LOG
"""

import http.server
import json
import os
import shutil
import signal
import socketserver
import sys
import threading

SOCK, DATA, LOG = sys.argv[1:4]
LOCK = threading.Lock()
MOUNTS = {}  # volume name -> set of mount IDs


def vol_path(name):
    return os.path.join(DATA, name)


def handle(method, req):
    """The answer to one call, or None for an unknown method (404)."""
    if method == "/Plugin.Activate":
        return {"Implements": ["VolumeDriver"]}
    if method == "/VolumeDriver.Capabilities":
        return {"Capabilities": {"Scope": "local"}}
    if method == "/VolumeDriver.List":
        names = sorted(os.listdir(DATA))
        return {"Volumes": [{"Name": n, "Mountpoint": vol_path(n)} for n in names], "Err": ""}
    name = req.get("Name") or ""
    if "/" in name or name in ("", ".", ".."):
        return {"Err": "invalid volume name %r" % name}
    if method == "/VolumeDriver.Create":
        os.makedirs(vol_path(name), exist_ok=True)
        return {"Err": ""}
    if not method.startswith("/VolumeDriver."):
        return None
    if not os.path.isdir(vol_path(name)):
        return {"Err": "no such volume: %s" % name}
    if method == "/VolumeDriver.Remove":
        if MOUNTS.get(name):
            return {"Err": "volume %s is mounted by %s" % (name, sorted(MOUNTS[name]))}
        shutil.rmtree(vol_path(name))
        return {"Err": ""}
    if method == "/VolumeDriver.Mount":
        MOUNTS.setdefault(name, set()).add(req.get("ID", ""))
        return {"Mountpoint": vol_path(name), "Err": ""}
    if method == "/VolumeDriver.Unmount":
        MOUNTS.get(name, set()).discard(req.get("ID", ""))
        return {"Err": ""}
    if method == "/VolumeDriver.Path":
        return {"Mountpoint": vol_path(name), "Err": ""}
    if method == "/VolumeDriver.Get":
        status = {"mounts": sorted(MOUNTS.get(name, ()))}
        return {"Volume": {"Name": name, "Mountpoint": vol_path(name), "Status": status}, "Err": ""}
    return None


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        try:
            req = json.loads(raw) if raw.strip() else {}
        except ValueError:
            req = {}
        with LOCK:
            answer = handle(self.path, req)
            with open(LOG, "a") as log:
                log.write(json.dumps({"call": self.path, "req": req}) + "\n")
        body = json.dumps(answer if answer is not None else {"Err": "unknown method"}).encode()
        self.send_response(200 if answer is not None else 404)
        self.send_header("Content-Type", "application/vnd.docker.plugins.v1+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def address_string(self):
        return "unix"

    def log_message(self, *args):
        pass


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def main():
    os.makedirs(DATA, exist_ok=True)
    if os.path.exists(SOCK):
        os.unlink(SOCK)
    server = Server(SOCK, Handler)

    def stop(*_):
        try:
            os.unlink(SOCK)
        finally:
            os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    server.serve_forever()


if __name__ == "__main__":
    main()
