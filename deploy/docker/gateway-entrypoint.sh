#!/bin/sh
# Entrypoint of the gateway image (deploy/docker/Dockerfile): writes the secret key file from
# ENCRYPT_KEY and an nginx.conf from the environment, then runs the command (nginx).
#   ENCRYPT_KEY      required: the 256-bit key that seals vendor keys (64 hex or 44 base64
#                    characters), the same as lingmo-controld's
#   REDIS_ADDR       default redis:6379 (host:port; the name is resolved when nginx loads its
#                    configuration: after recreating the Redis container, restart this one)
#   REDIS_PASSWORD   optional
#   NGINX_WORKERS    default auto
#   LINGMO_NGINX_CONF=keep   use the mounted /etc/nginx/nginx.conf as it is
set -eu
umask 077
mkdir -p /run/lingmo
if [ -n "${ENCRYPT_KEY:-}" ]; then
  printf '%s\n' "$ENCRYPT_KEY" >/run/lingmo/secret.key
elif [ "${LINGMO_NGINX_CONF:-}" != keep ]; then
  echo "lingmo gateway: ENCRYPT_KEY is required (the key lingmo-controld uses: openssl rand -hex 32)" >&2
  exit 2
fi
if [ "${LINGMO_NGINX_CONF:-}" != keep ]; then
  redis="${REDIS_ADDR:-redis:6379}"
  [ -n "${REDIS_PASSWORD:-}" ] && redis="$redis password=$REDIS_PASSWORD"
  umask 022
  cat >/etc/nginx/nginx.conf <<CONF
# Written by lingmo-gateway-entrypoint from the environment.
load_module /usr/lib/nginx/modules/ngx_http_lingmo_module.so;
user www-data;
worker_processes ${NGINX_WORKERS:-auto};
pid /run/nginx.pid;
error_log /dev/stderr notice;
events { worker_connections 4096; }
http {
    access_log /dev/stdout;
    lingmo_redis $redis;
    lingmo_secret_key_file /run/lingmo/secret.key;
    server {
        listen 8080;
        keepalive_timeout 300s;
        send_timeout 120s;
        location /v1/ {
            lingmo_gateway on;
            client_max_body_size 32m;
            client_body_buffer_size 1m;
            lingmo_first_byte_timeout 120s;
            lingmo_idle_timeout 120s;
        }
        location = /healthz { access_log off; default_type text/plain; return 200 "ok\n"; }
    }
}
CONF
  chmod 0600 /etc/nginx/nginx.conf   # holds the Redis password
fi
exec "$@"
