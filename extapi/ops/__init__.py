"""Operations: request ids, the per-request log line, Prometheus metrics and readiness."""
