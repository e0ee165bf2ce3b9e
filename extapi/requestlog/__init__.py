"""The API request log: one row per authenticated GraphQL request, buffered in memory by each
worker, written in batches, kept for ``EXTAPI_REQUEST_LOG_HOURS``; and the usage figures the
admin pages draw from it."""
