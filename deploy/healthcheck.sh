#!/bin/sh
# The image's HEALTHCHECK: healthy when the server this container runs answers. The image
# runs one of three servers, so try each one's own check: the code server's gRPC ping,
# then the HTTP servers' /health (the receiver or the serving API).
#
#   sophia-healthcheck [GRPC_PORT [HTTP_PORT]]   (defaults 4000 and 8080, as in the image)
grpc_port=${1:-4000}
http_port=${2:-8080}
dagster api grpc-health-check --port "$grpc_port" >/dev/null 2>&1 && exit 0
exec python -c '
import sys, urllib.request
try:
    with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/health", timeout=5) as r:
        sys.exit(0 if r.status == 200 else 1)
except OSError:
    sys.exit(1)
' "$http_port"
