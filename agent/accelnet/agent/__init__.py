"""The daemon: Prometheus exporter, HTTP server and its auth/TLS, textfile, systemd glue."""
